// Large float32 products on the addon's own AVX-512 kernel (native/src/sgemm.cc, from 2^27
// multiply-adds): every transpose, alpha and beta, sizes that leave partial tiles in every
// direction, against a float64 product; and the same bits at 1 and 2 threads. The kernel is forced
// with sgemmKernel('own'), since by default it takes large products only where OpenBLAS runs no
// AVX-512 kernel of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeAddon, useLinalg } from '../../src/core/linalg/index.js';
import type { Matrix } from '../../src/core/linalg/index.js';

const addon = nativeAddon();
const skip = addon?.ownKernels?.() === 'avx512' ? false : 'the addon runs its own products only on AVX-512 CPUs';

function random(rows: number, cols: number, seed: number): Matrix<Float32Array> {
  let s = seed;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) { s = (s * 1103515245 + 12345) % 2147483648; data[i] = s / 2147483648 - 0.5; }
  return { rows, cols, data };
}

test('own float32 GEMM matches a float64 product for every transpose, alpha and beta, at partial tiles', { skip }, () => {
  const la = useLinalg('openblas');
  // 517 x 520 by 520 x 515: 138 million multiply-adds (above 2^27); 517 = 43 tiles of 12 + 1,
  // 515 = 16 panels of 32 + 3, 520 = 2 slices of 256 + 8.
  const m = 517, k = 520, n = 515;
  const threadsBefore = addon!.threads();
  addon!.sgemmKernel!('own');
  try {
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = transA ? random(k, m, 1) : random(m, k, 1), b = transB ? random(n, k, 2) : random(k, n, 2);
      const A = (i: number, p: number): number => (transA ? a.data[p * m + i]! : a.data[i * k + p]!);
      const B = (p: number, j: number): number => (transB ? b.data[j * k + p]! : b.data[p * n + j]!);
      const c0 = random(m, n, 3);
      const bits: Float32Array[] = [];
      for (const threads of [1, 2]) {
        addon!.setThreads!(threads);
        const c = la.gemm(a, b, { transA, transB, alpha: 0.5 }).data as Float32Array;
        const into = { rows: m, cols: n, data: c0.data.slice() };
        la.gemmInto(a, b, into, { transA, transB, alpha: 1, beta: -2 });
        bits.push(c, into.data);
        // Every 7th row and column, the last ones included.
        for (let i = 0; i < m; i += i + 7 < m ? 7 : Math.max(1, m - 1 - i)) for (let j = 0; j < n; j += j + 7 < n ? 7 : Math.max(1, n - 1 - j)) {
          let s = 0, abs = 0;
          for (let p = 0; p < k; p++) { const t = A(i, p) * B(p, j); s += t; abs += Math.abs(t); }
          const label = `transA ${transA}, transB ${transB}, ${threads} thread(s), (${i}, ${j})`;
          assert.ok(Math.abs(c[i * n + j]! - 0.5 * s) <= 1e-6 * abs, `${label}: ${c[i * n + j]} against ${0.5 * s}`);
          const want = s - 2 * c0.data[i * n + j]!;
          assert.ok(Math.abs(into.data[i * n + j]! - want) <= 1e-6 * (abs + 2), `${label}, beta -2: ${into.data[i * n + j]} against ${want}`);
        }
      }
      assert.deepEqual(bits[2], bits[0], 'gemm: 2 threads give 1 thread\'s bits');
      assert.deepEqual(bits[3], bits[1], 'gemmInto: 2 threads give 1 thread\'s bits');
    }
  } finally {
    addon!.setThreads!(threadsBefore);
    addon!.sgemmKernel!('auto');
  }
});

test('beta 0 does not read the output (NaN in it stays out of the product)', { skip }, (t) => {
  const la = useLinalg('openblas');
  addon!.sgemmKernel!('own');
  t.after(() => addon!.sgemmKernel!('auto'));
  const a = random(600, 500, 4), b = random(500, 600, 5);
  const out = { rows: 600, cols: 600, data: new Float32Array(600 * 600).fill(Number.NaN) };
  la.gemmInto(a, b, out, { beta: 0 });
  assert.ok(out.data.every(Number.isFinite));
  assert.deepEqual(out.data, la.gemm(a, b).data);
});

test('by default large products go to the own kernel only where OpenBLAS runs no AVX-512 kernel', { skip }, () => {
  // openblas_get_config() ends with the core OpenBLAS chose (e.g. "... DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64").
  const avx512Core = /\b(SkylakeX|Cooperlake|SapphireRapids)\b/.test(addon!.config());
  assert.equal(addon!.sgemmKernel!('auto'), avx512Core ? 'openblas' : 'own', addon!.config());
  assert.equal(addon!.sgemmKernel!('openblas'), 'openblas');
  assert.equal(addon!.sgemmKernel!('own'), 'own');
  assert.throws(() => addon!.sgemmKernel!('fast' as 'own'), /auto, own or openblas/);
  assert.equal(addon!.sgemmKernel!('auto'), avx512Core ? 'openblas' : 'own');
});
