import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linalgBackends, fromRows, maxAbsDiff, transpose, eye64, ridgeSolve, type Matrix64 } from '../../src/core/linalg/index.js';
import { Rng } from '../../src/core/rng.js';

function randn(rows: number, cols: number, rng: Rng): Matrix64 {
  return { rows, cols, data: rng.fillNormal(new Float64Array(rows * cols)) };
}
function naiveGemm(a: Matrix64, b: Matrix64): Matrix64 {
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < b.cols; j++) {
    let s = 0;
    for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k]! * b.data[k * b.cols + j]!;
    out[i * b.cols + j] = s;
  }
  return { rows: a.rows, cols: b.cols, data: out };
}

for (const la of linalgBackends()) {
  test(`${la.name}: gemm matches the naive triple loop for every transpose combination`, () => {
    const rng = new Rng(1);
    const a = randn(37, 19, rng), b = randn(19, 23, rng);
    const want = naiveGemm(a, b);
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const A = ta ? transpose(a) : a, B = tb ? transpose(b) : b;
      const got = la.gemm(A, B, { transA: ta, transB: tb });
      assert.ok(maxAbsDiff(got, want) < 1e-12, `trans ${ta},${tb}`);
    }
    const a32 = { rows: 37, cols: 19, data: Float32Array.from(a.data) }, b32 = { rows: 19, cols: 23, data: Float32Array.from(b.data) };
    const g32 = la.gemm(a32, b32);
    assert.ok(g32.data instanceof Float32Array);
    assert.ok(maxAbsDiff(g32, want) < 1e-4);
  });

  test(`${la.name}: syrk equals A^T A`, () => {
    const a = randn(50, 13, new Rng(2));
    assert.ok(maxAbsDiff(la.syrk(a), naiveGemm(transpose(a), a)) < 1e-12);
  });

  test(`${la.name}: eigh of a known 2x2 and reconstruction of a random symmetric matrix`, () => {
    const r = la.eigh(fromRows([[2, 1], [1, 2]]), { vectors: true });
    assert.ok(Math.abs(r.values[0]! - 1) < 1e-14 && Math.abs(r.values[1]! - 3) < 1e-14);
    const n = 40;
    const x = randn(n, n, new Rng(3));
    const s = naiveGemm(transpose(x), x);
    const { values, vectors } = la.eigh(s, { vectors: true });
    for (let i = 1; i < n; i++) assert.ok(values[i]! >= values[i - 1]!);
    const V = vectors!;
    const VL = { rows: n, cols: n, data: new Float64Array(n * n) };
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) VL.data[i * n + j] = V.data[i * n + j]! * values[j]!;
    assert.ok(maxAbsDiff(naiveGemm(VL, transpose(V)), s) < 1e-9);
    assert.ok(maxAbsDiff(naiveGemm(transpose(V), V), eye64(n)) < 1e-12);
    const valuesOnly = la.eigh(s).values;
    for (let i = 0; i < n; i++) assert.ok(Math.abs(valuesOnly[i]! - values[i]!) < 1e-9 * Math.max(1, Math.abs(values[i]!)));
  });

  test(`${la.name}: cholesky, solve, and ridge for many right-hand sides`, () => {
    const rng = new Rng(4);
    const x = randn(60, 20, rng);
    const g = la.syrk(x);
    const L = la.cholesky(g);
    assert.ok(maxAbsDiff(naiveGemm(L, transpose(L)), g) < 1e-9);
    const b = randn(20, 3, rng);
    const sol = la.choleskySolve(g, b);
    assert.ok(maxAbsDiff(naiveGemm(g, sol), b) < 1e-9);
    const w = ridgeSolve(g, b, 0.5, la);
    const gl = { ...g, data: Float64Array.from(g.data) };
    for (let i = 0; i < 20; i++) gl.data[i * 20 + i] += 0.5;
    assert.ok(maxAbsDiff(naiveGemm(gl, w), b) < 1e-9);
    assert.throws(() => la.cholesky(fromRows([[1, 2], [2, 1]])), /not positive definite/);
  });
}

test('backends agree with each other', () => {
  const bs = linalgBackends();
  const a = randn(64, 64, new Rng(5));
  const s = naiveGemm(transpose(a), a);
  const ref = bs[bs.length - 1]!.eigh(s).values;
  for (const la of bs) {
    const v = la.eigh(s).values;
    for (let i = 0; i < v.length; i++) assert.ok(Math.abs(v[i]! - ref[i]!) < 1e-8 * Math.max(1, Math.abs(ref[i]!)));
  }
});
