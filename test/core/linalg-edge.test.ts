// Larger sizes, float32 paths, non-square shapes and edge cases, on every backend, plus the
// addon's batched float32 GEMM used by the tfjs kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linalgBackends, nativeAddon, transpose, maxAbsDiff, fromRows, type Matrix, type Matrix64, type Matrix32 } from '../../src/core/linalg/index.js';
import { InputError, NumericalError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { naive, randn, to32 } from './linalg-helpers.js';

function relErr(got: Matrix, want: Matrix64): number {
  let scale = 0;
  for (const v of want.data) scale = Math.max(scale, Math.abs(v));
  return maxAbsDiff(got, want) / Math.max(scale, 1e-300);
}

const backends = linalgBackends();

for (const la of backends) {
  test(`${la.name}: non-square gemm with alpha, all transposes, float64 and float32, sizes past the block edges`, () => {
    const rng = new Rng(11);
    for (const [m, k, n] of [[1, 1, 1], [3, 200, 5], [131, 67, 259], [64, 513, 7]] as const) {
      const a = randn(m, k, rng), b = randn(k, n, rng);
      const want = naive(a, b, -0.5);
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const A = ta ? transpose(a) : a, B = tb ? transpose(b) : b;
        const g64 = la.gemm(A, B, { transA: ta, transB: tb, alpha: -0.5 });
        assert.equal(g64.rows, m);
        assert.equal(g64.cols, n);
        assert.ok(g64.data instanceof Float64Array);
        assert.ok(relErr(g64, want) < 1e-13, `f64 ${m}x${k}x${n} trans ${ta},${tb}: ${relErr(g64, want)}`);
        const g32 = la.gemm(to32(A), to32(B), { transA: ta, transB: tb, alpha: -0.5 });
        assert.ok(g32.data instanceof Float32Array);
        assert.ok(relErr(g32, naive(to32(a), to32(b), -0.5)) < 1e-5, `f32 ${m}x${k}x${n} trans ${ta},${tb}`);
      }
    }
  });

  test(`${la.name}: gemm edge cases: empty operands, zero inner dimension, shape and dtype errors`, () => {
    const e = la.gemm({ rows: 0, cols: 3, data: new Float64Array(0) }, { rows: 3, cols: 4, data: new Float64Array(12) });
    assert.equal(e.rows, 0);
    assert.equal(e.cols, 4);
    assert.equal(e.data.length, 0);
    const z = la.gemm({ rows: 2, cols: 0, data: new Float32Array(0) }, { rows: 0, cols: 3, data: new Float32Array(0) });
    assert.deepEqual(Array.from(z.data), [0, 0, 0, 0, 0, 0]);
    const one = la.gemm(fromRows([[3]]), fromRows([[-2]]));
    assert.equal(one.data[0], -6);
    assert.throws(() => la.gemm(fromRows([[1, 2]]), fromRows([[1, 2]])), InputError);
    assert.throws(() => la.gemm(fromRows([[1]]), { rows: 1, cols: 1, data: new Float32Array([1]) } as unknown as Matrix64), InputError);
  });

  test(`${la.name}: syrk in float32 and float64 on tall, wide and degenerate inputs`, () => {
    const rng = new Rng(12);
    for (const [n, d] of [[300, 17], [9, 40], [1, 1], [1, 5]] as const) {
      const a = randn(n, d, rng);
      const want = naive(transpose(a), a);
      const s64 = la.syrk(a);
      assert.ok(relErr(s64, want) < 1e-13, `f64 ${n}x${d}`);
      const s32 = la.syrk(to32(a));
      assert.ok(s32.data instanceof Float32Array);
      assert.ok(relErr(s32, want) < 1e-5, `f32 ${n}x${d}`);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) assert.equal(s32.data[i * d + j], s32.data[j * d + i]);
    }
    const empty = la.syrk({ rows: 0, cols: 3, data: new Float64Array(0) });
    assert.deepEqual(Array.from(empty.data), new Array(9).fill(0));
    assert.equal(la.syrk({ rows: 4, cols: 0, data: new Float64Array(0) }).data.length, 0);
  });

  test(`${la.name}: eigh on 0x0, 1x1, a diagonal, repeated eigenvalues, and reads only the lower triangle`, () => {
    assert.equal(la.eigh({ rows: 0, cols: 0, data: new Float64Array(0) }).values.length, 0);
    const one = la.eigh(fromRows([[-4]]), { vectors: true });
    assert.equal(one.values[0], -4);
    assert.equal(Math.abs(one.vectors!.data[0]!), 1);
    const diag = la.eigh(fromRows([[3, 0, 0], [0, -1, 0], [0, 0, 2]]));
    assert.deepEqual(Array.from(diag.values), [-1, 2, 3]);
    const rep = la.eigh(fromRows([[2, 0, 0], [0, 2, 0], [0, 0, 5]])).values;
    assert.ok(Math.abs(rep[0]! - 2) < 1e-14 && Math.abs(rep[1]! - 2) < 1e-14 && Math.abs(rep[2]! - 5) < 1e-14);
    // Garbage above the diagonal must be ignored.
    const lowerOnly = la.eigh(fromRows([[2, 99], [1, 2]])).values;
    assert.ok(Math.abs(lowerOnly[0]! - 1) < 1e-14 && Math.abs(lowerOnly[1]! - 3) < 1e-14);
    assert.throws(() => la.eigh(fromRows([[1, 2, 3]])), InputError);
    assert.throws(() => la.eigh(fromRows([[1, 0], [Number.NaN, 1]])), InputError);
  });

  test(`${la.name}: eigh of a 150x150 matrix: trace, reconstruction on a probe, orthonormal vectors`, () => {
    const n = 150;
    const x = randn(n, n, new Rng(13));
    const s = naive(transpose(x), x);
    const { values, vectors } = la.eigh(s, { vectors: true });
    let tr = 0, sum = 0;
    for (let i = 0; i < n; i++) { tr += s.data[i * n + i]!; sum += values[i]!; }
    assert.ok(Math.abs(tr - sum) < 1e-9 * tr);
    const V = vectors!;
    // S v_j = lambda_j v_j for a few columns.
    for (const j of [0, 75, n - 1]) {
      let r = 0;
      for (let i = 0; i < n; i++) {
        let sv = 0;
        for (let k = 0; k < n; k++) sv += s.data[i * n + k]! * V.data[k * n + j]!;
        r = Math.max(r, Math.abs(sv - values[j]! * V.data[i * n + j]!));
      }
      assert.ok(r < 1e-9 * values[n - 1]!, `column ${j} residual ${r}`);
    }
    const dot = (p: number, q: number): number => {
      let d = 0;
      for (let i = 0; i < n; i++) d += V.data[i * n + p]! * V.data[i * n + q]!;
      return d;
    };
    assert.ok(Math.abs(dot(0, 0) - 1) < 1e-12 && Math.abs(dot(75, 75) - 1) < 1e-12);
    assert.ok(Math.abs(dot(0, 75)) < 1e-10 && Math.abs(dot(3, n - 1)) < 1e-10);
  });

  test(`${la.name}: cholesky and solve on 1x1, one and zero right-hand sides, and a larger system`, () => {
    const L1 = la.cholesky(fromRows([[9]]));
    assert.equal(L1.data[0], 3);
    assert.deepEqual(Array.from(la.choleskySolve(fromRows([[4]]), fromRows([[2]])).data), [0.5]);
    assert.equal(la.choleskySolve(fromRows([[4]]), { rows: 1, cols: 0, data: new Float64Array(0) }).data.length, 0);
    const rng = new Rng(14);
    const n = 120;
    const g = la.syrk(randn(200, n, rng));
    const L = la.cholesky(g);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(L.data[i * n + j], 0);
    for (const k of [1, 7]) {
      const b = randn(n, k, rng);
      const x = la.choleskySolve(g, b);
      assert.ok(relErr(naive(g, x), b) < 1e-9, `k=${k}`);
    }
    assert.throws(() => la.cholesky(fromRows([[1, 0], [0, -1]])), NumericalError);
    assert.throws(() => la.choleskySolve(fromRows([[0, 0], [0, 1]]), fromRows([[1], [1]])), /not positive definite/);
    assert.throws(() => la.choleskySolve(fromRows([[1, 0], [0, 1]]), fromRows([[1]])), InputError);
  });
}

test('backends agree at 200x200: gemm (float32, float64), syrk and cholesky solve', () => {
  if (backends.length < 2) return;
  const rng = new Rng(15);
  const a = randn(200, 200, rng), b = randn(200, 200, rng);
  const [x, y] = backends as [typeof backends[0], typeof backends[0]];
  assert.ok(maxAbsDiff(x.gemm(a, b, { transB: true }), y.gemm(a, b, { transB: true })) < 1e-11);
  const d32 = maxAbsDiff(x.gemm(to32(a), to32(b), { transA: true }), y.gemm(to32(a), to32(b), { transA: true }));
  assert.ok(d32 < 1e-3, `float32 gemm differs by ${d32}`);
  const g = x.syrk(a);
  assert.ok(maxAbsDiff(g, y.syrk(a)) < 1e-9);
  const rhs = randn(200, 3, rng);
  for (let i = 0; i < 200; i++) g.data[i * 200 + i] += 1;
  assert.ok(relErr(x.choleskySolve(g, rhs), y.choleskySolve(g, rhs)) < 1e-8);
});

test('large results (over 2 MiB, the addon\'s huge-page allocation) are correct and writable', () => {
  const rng = new Rng(17);
  const a = randn(1024, 8, rng), b = randn(8, 600, rng);
  const want = naive(a, b);
  for (const la of backends) {
    const g32 = la.gemm(to32(a), to32(b));
    assert.equal(g32.data.length, 1024 * 600);
    assert.ok(relErr(g32, want) < 1e-5, la.name);
    g32.data[g32.data.length - 1] = 7;
    assert.equal(g32.data[g32.data.length - 1], 7);
    const s = la.syrk(randn(4, 800, rng));
    assert.equal(s.data.length, 640000);
    assert.equal(s.data[1], s.data[800]);
  }
});

test('addon sgemmBatch: strides, broadcasting (stride 0), transposes and subarray views', (t) => {
  const addon = nativeAddon();
  if (!addon) {
    t.skip('OpenBLAS addon not built');
    return;
  }
  assert.ok(addon.threads() >= 1);
  const rng = new Rng(16);
  const batch = 3, m = 5, k = 4, n = 6;
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    // A is broadcast (stride 0), B is per batch; both live inside larger buffers at an offset.
    const bufA = rng.fillNormal(new Float32Array(7 + m * k));
    const bufB = rng.fillNormal(new Float32Array(3 + batch * k * n));
    const A = bufA.subarray(7), B = bufB.subarray(3);
    const C = new Float32Array(batch * m * n);
    addon.sgemmBatch(ta, tb, batch, m, n, k, A, 0, B, k * n, C, 2);
    for (let bi = 0; bi < batch; bi++) {
      const a: Matrix32 = { rows: ta ? k : m, cols: ta ? m : k, data: A.slice(0, m * k) };
      const bm: Matrix32 = { rows: tb ? n : k, cols: tb ? k : n, data: B.slice(bi * k * n, (bi + 1) * k * n) };
      const want = naive(ta ? transpose(a) : a, tb ? transpose(bm) : bm, 2);
      const got: Matrix32 = { rows: m, cols: n, data: C.slice(bi * m * n, (bi + 1) * m * n) };
      assert.ok(maxAbsDiff(got, want) < 1e-4, `trans ${ta},${tb} batch ${bi}`);
    }
  }
  assert.throws(() => addon.sgemmBatch(false, false, 2, 2, 2, 2, new Float32Array(4), 4, new Float32Array(8), 4, new Float32Array(8)), /shorter/);
});

test('a synchronous loop of large addon results does not hold their memory until the loop yields', (t) => {
  const addon = backends.find((b) => b.name !== 'typescript');
  if (!addon) {
    t.skip('OpenBLAS addon not built');
    return;
  }
  // 120 results of 4 MiB each: if they were only freed when the event loop turns (as addon
  // finalizers are), resident memory would grow by about 480 MiB before this loop ends.
  const n = 1024;
  const a: Matrix32 = { rows: n, cols: 8, data: new Float32Array(n * 8).fill(0.5) };
  const b: Matrix32 = { rows: 8, cols: n, data: new Float32Array(8 * n).fill(0.25) };
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 120; i++) {
    const c: Matrix = addon.gemm(a, b);
    assert.equal(c.data[i], 1);
  }
  const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grownMiB < 240, `resident memory grew by ${grownMiB.toFixed(0)} MiB over the loop`);
});
