// The wasm SIMD float32 GEMM of the pure-TypeScript backend (linalg/wasm-gemm.ts) against a naive
// float64 triple loop: every transpose combination, alpha, and shapes that leave partial 4-row and
// 8-column strips and cross the KC (256), MC (128) and NC (1024) block edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wasmGemmAvailable, wasmGemmF32Into } from '../../src/core/linalg/wasm-gemm.js';
import { typescriptLinalg } from '../../src/core/linalg/index.js';
import { Rng } from '../../src/core/rng.js';

function naive(A: Float32Array, B: Float32Array, m: number, n: number, k: number, ta: boolean, tb: boolean, alpha: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += (ta ? A[p * m + i]! : A[i * k + p]!) * (tb ? B[j * k + p]! : B[p * n + j]!);
    out[i * n + j] = alpha * s;
  }
  return out;
}

test('wasm SIMD GEMM matches a float64 triple loop across transposes, alpha and block edges', { skip: !wasmGemmAvailable() && 'no wasm SIMD here' }, () => {
  const rng = new Rng(11, 'wasm-gemm');
  const shapes: [number, number, number][] = [[1, 1, 1], [5, 9, 3], [37, 21, 300], [133, 17, 40], [6, 1030, 5], [64, 64, 513]];
  for (const [m, n, k] of shapes) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const A = rng.fillNormal(new Float32Array(m * k)), B = rng.fillNormal(new Float32Array(k * n));
      const alpha = ta ? -0.5 : 1;
      const out = new Float32Array(m * n).fill(Number.NaN);
      assert.equal(wasmGemmF32Into(A, ta ? 1 : k, ta ? m : 1, B, tb ? 1 : n, tb ? k : 1, m, n, k, alpha, out), true);
      const want = naive(A, B, m, n, k, ta, tb, alpha);
      let d = 0;
      for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(out[i]! - want[i]!));
      // float32 accumulation: error grows like sqrt(k) times float32 epsilon times |entries|.
      assert.ok(d < 2e-6 * Math.sqrt(k) * 8, `${m}x${n}x${k} trans ${ta},${tb}: ${d}`);
    }
  }
});

test('the TypeScript backend sends large float32 products to the SIMD kernel and gives the same values', { skip: !wasmGemmAvailable() && 'no wasm SIMD here' }, () => {
  const rng = new Rng(12, 'wasm-gemm-ts');
  const m = 70, k = 90, n = 50;
  const a = { rows: k, cols: m, data: rng.fillNormal(new Float32Array(m * k)) }, b = { rows: k, cols: n, data: rng.fillNormal(new Float32Array(k * n)) };
  const got = typescriptLinalg.gemm(a, b, { transA: true });
  assert.ok(got.data instanceof Float32Array);
  const direct = new Float32Array(m * n);
  wasmGemmF32Into(a.data, 1, m, b.data, n, 1, m, n, k, 1, direct);
  assert.deepEqual(got.data, direct);
});
