// The buffer variants (gemmInto, syrkInto, choleskyInPlace, choleskySolveInPlace) on every backend,
// against naive products and the allocating routines, plus the defaults an out-of-date addon gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  linalgBackends, typescriptLinalg, transpose, maxAbsDiff, withBufferDefaults, zeros64,
  type BufferedLinalg, type Matrix, type Matrix64,
} from '../../src/core/linalg/index.js';
import { InputError, NumericalError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { naive, randn, to32 } from './linalg-helpers.js';

function plus(a: Matrix64, beta: number, c: Matrix): Matrix64 {
  return { rows: a.rows, cols: a.cols, data: a.data.map((v, i) => v + beta * c.data[i]!) };
}
/** A symmetric positive definite matrix with garbage (huge values) strictly above the diagonal. */
function spdLowerOnly(n: number, rng: Rng): { full: Matrix64; lowerOnly: Matrix64 } {
  const x = randn(n + 3, n, rng);
  const full = naive(transpose(x), x);
  for (let i = 0; i < n; i++) full.data[i * n + i] += 1;
  const lowerOnly = { rows: n, cols: n, data: full.data.slice() };
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) lowerOnly.data[i * n + j] = 1e6 * rng.normal();
  return { full, lowerOnly };
}
function isExactlySymmetric(m: Matrix): boolean {
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < i; j++) if (m.data[i * m.cols + j] !== m.data[j * m.cols + i]) return false;
  return true;
}

// The native backend, the TypeScript backend, and the TypeScript routines behind the generic
// defaults (what an addon built before these entries gets).
const cases: BufferedLinalg[] = [...linalgBackends(), withBufferDefaults(typescriptLinalg)];
const label = (la: BufferedLinalg, i: number): string => (i === cases.length - 1 ? `${la.name} (generic defaults)` : la.name);

cases.forEach((la, idx) => {
  const name = label(la, idx);

  test(`${name}: gemmInto equals alpha op(A) op(B) + beta C for every transpose, float64 and float32`, () => {
    const rng = new Rng(21);
    for (const [m, k, n] of [[1, 1, 1], [7, 33, 5], [67, 40, 129]] as const) {
      const a = randn(m, k, rng), b = randn(k, n, rng), c0 = randn(m, n, rng);
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const A = ta ? transpose(a) : a, B = tb ? transpose(b) : b;
        const out: Matrix64 = { rows: m, cols: n, data: new Float64Array(m * n).fill(Number.NaN) };
        assert.equal(la.gemmInto(A, B, out, { transA: ta, transB: tb, alpha: -0.5 }), out);
        assert.ok(maxAbsDiff(out, naive(a, b, -0.5)) < 1e-12, `beta 0 ignores NaN in out, trans ${ta},${tb}`);
        const out2 = { rows: m, cols: n, data: c0.data.slice() };
        la.gemmInto(A, B, out2, { transA: ta, transB: tb, alpha: 2, beta: 0.25 });
        assert.ok(maxAbsDiff(out2, plus(naive(a, b, 2), 0.25, c0)) < 1e-12, `beta 0.25, trans ${ta},${tb}`);
        const out32 = to32(c0);
        la.gemmInto(to32(A as Matrix64), to32(B as Matrix64), out32, { transA: ta, transB: tb, beta: -1 });
        assert.ok(out32.data instanceof Float32Array);
        assert.ok(maxAbsDiff(out32, plus(naive(to32(a), to32(b)), -1, to32(c0))) < 1e-4, `float32, trans ${ta},${tb}`);
      }
    }
  });

  test(`${name}: gemmInto with an empty inner dimension gives beta C`, () => {
    const a = zeros64(3, 0), b = zeros64(0, 2);
    const out: Matrix64 = { rows: 3, cols: 2, data: Float64Array.from([1, 2, 3, 4, 5, 6]) };
    la.gemmInto(a, b, out, { beta: 2 });
    assert.deepEqual([...out.data], [2, 4, 6, 8, 10, 12]);
    la.gemmInto(a, b, out);
    assert.deepEqual([...out.data], [0, 0, 0, 0, 0, 0]);
  });

  test(`${name}: syrkInto gives alpha A^T A + beta C and alpha A A^T + beta C, exactly symmetric`, () => {
    const rng = new Rng(22);
    for (const [r, c] of [[1, 1], [9, 4], [150, 70], [40, 101]] as const) {
      const a = randn(r, c, rng);
      const ata = naive(transpose(a), a), aat = naive(a, transpose(a));
      const outA: Matrix64 = { rows: c, cols: c, data: new Float64Array(c * c).fill(Number.NaN) };
      la.syrkInto(a, outA);
      assert.ok(maxAbsDiff(outA, ata) < 1e-11 && isExactlySymmetric(outA), `A^T A ${r}x${c}`);
      const outB: Matrix64 = { rows: r, cols: r, data: new Float64Array(r * r).fill(Number.NaN) };
      assert.equal(la.syrkInto(a, outB, { outer: true }), outB);
      assert.ok(maxAbsDiff(outB, aat) < 1e-11 && isExactlySymmetric(outB), `A A^T ${r}x${c}`);
      // beta: a symmetric C; only its upper triangle is read, so garbage below is ignored.
      const h = naive(transpose(randn(c + 2, c, rng)), randn(c + 2, c, new Rng(r)));
      for (let i = 0; i < c; i++) for (let j = 0; j < i; j++) h.data[i * c + j] = h.data[j * c + i]!;
      const want = plus(naive(transpose(a), a, 0.5), 3, h);
      const outC = { rows: c, cols: c, data: h.data.slice() };
      for (let i = 1; i < c; i++) outC.data[i * c] = 1e9;
      la.syrkInto(a, outC, { alpha: 0.5, beta: 3 });
      assert.ok(maxAbsDiff(outC, want) < 1e-9 && isExactlySymmetric(outC), `alpha/beta ${r}x${c}`);
      const out32 = { rows: c, cols: c, data: new Float32Array(c * c) };
      la.syrkInto(to32(a), out32);
      assert.ok(out32.data instanceof Float32Array && maxAbsDiff(out32, naive(transpose(to32(a)), to32(a))) < 1e-3);
    }
  });

  test(`${name}: choleskyInPlace overwrites A with L (lower triangle read, zeros above)`, () => {
    const rng = new Rng(23);
    for (const n of [1, 2, 31, 33, 100]) {
      const { full, lowerOnly } = spdLowerOnly(n, rng);
      const L = la.cholesky(full);
      assert.equal(la.choleskyInPlace(lowerOnly), lowerOnly);
      assert.ok(maxAbsDiff(lowerOnly, L) < 1e-10 * n, `n=${n}`);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(lowerOnly.data[i * n + j], 0);
      assert.ok(maxAbsDiff(naive(lowerOnly, transpose(lowerOnly)), full) < 1e-9 * n, `L L^T = A, n=${n}`);
    }
    assert.throws(() => la.choleskyInPlace({ rows: 2, cols: 2, data: Float64Array.from([1, 2, 2, 1]) }), NumericalError);
  });

  test(`${name}: choleskySolveInPlace solves A X = B for 1 and 3 right-hand sides`, () => {
    const rng = new Rng(24);
    for (const n of [1, 5, 64, 130]) {
      for (const k of [1, 3]) {
        const { full, lowerOnly } = spdLowerOnly(n, rng);
        const b = randn(n, k, rng);
        const want = la.choleskySolve(full, b);
        const bw = { rows: n, cols: k, data: b.data.slice() };
        assert.equal(la.choleskySolveInPlace(lowerOnly, bw), bw);
        assert.ok(maxAbsDiff(bw, want) < 1e-9, `n=${n} k=${k}`);
        assert.ok(maxAbsDiff(naive(full, bw), b) < 1e-8 * n, `A X = B, n=${n} k=${k}`);
        assert.ok(maxAbsDiff(lowerOnly, la.cholesky(full)) < 1e-10 * n, `A holds L, n=${n}`);
      }
    }
    const empty = zeros64(0, 0);
    assert.equal(la.choleskySolveInPlace(empty, zeros64(0, 2)).rows, 0);
    assert.throws(() => la.choleskySolveInPlace({ rows: 2, cols: 2, data: Float64Array.from([1, 2, 2, 1]) }, zeros64(2, 1)), NumericalError);
  });

  test(`${name}: buffer variants reject wrong shapes, dtypes, shared memory and unknown options`, () => {
    const a = randn(4, 3, new Rng(25));
    assert.throws(() => la.gemmInto(a, a, zeros64(4, 4)), InputError); // inner dims differ
    assert.throws(() => la.gemmInto(a, a, zeros64(4, 3), { transB: true }), /out is 4x3, expected 4x4/);
    assert.throws(() => la.gemmInto(a, a, { rows: 3, cols: 3, data: new Float32Array(9) } as unknown as Matrix64, { transA: true }), /dtype/);
    assert.throws(() => la.gemmInto(a, a, zeros64(3, 3), { transA: true, bogus: 1 } as never), /gemmInto: unknown option "bogus"; known: transA, transB, alpha, beta/);
    const buf = new Float64Array(12 + 9);
    const aView: Matrix64 = { rows: 4, cols: 3, data: buf.subarray(0, 12) };
    assert.throws(() => la.gemmInto(aView, aView, { rows: 3, cols: 3, data: buf.subarray(10, 19) }, { transA: true }), /share memory/);
    la.gemmInto(aView, aView, { rows: 3, cols: 3, data: buf.subarray(12, 21) }, { transA: true }); // adjacent views are fine
    assert.throws(() => la.syrkInto(a, zeros64(4, 4)), /out is 4x4, expected 3x3/);
    assert.throws(() => la.syrkInto(a, zeros64(4, 4), { trans: true } as never), /syrkInto: unknown option "trans"; known: outer, alpha, beta/);
    assert.throws(() => la.choleskyInPlace(a), /square/);
    assert.throws(() => la.choleskyInPlace(to32(a) as unknown as Matrix64), /float64/);
    const s = zeros64(3, 3);
    assert.throws(() => la.choleskySolveInPlace(s, zeros64(2, 1)), /2 rows, expected 3/);
    const sq = new Float64Array(12);
    assert.throws(() => la.choleskySolveInPlace({ rows: 3, cols: 3, data: sq.subarray(0, 9) }, { rows: 3, cols: 1, data: sq.subarray(8, 11) }), /share memory/);
  });
});

test('buffer variants agree across backends on random inputs', () => {
  const rng = new Rng(26);
  const bs = linalgBackends();
  const x = randn(150, 200, rng), y = randn(200, 150, rng);
  const { full } = spdLowerOnly(120, rng);
  const b = randn(120, 2, rng);
  const results = bs.map((la) => {
    const g = zeros64(200, 200), k = zeros64(150, 150), c = zeros64(200, 200);
    la.syrkInto(x, g, { alpha: 2 });
    la.syrkInto(x, k, { outer: true });
    la.gemmInto(x, y, c, { transA: true, transB: true });
    const a = { rows: 120, cols: 120, data: full.data.slice() }, bw = { rows: 120, cols: 2, data: b.data.slice() };
    la.choleskySolveInPlace(a, bw);
    return { g, k, c, a, bw };
  });
  for (let i = 1; i < results.length; i++) {
    const [p, q] = [results[0]!, results[i]!];
    assert.ok(maxAbsDiff(p.g, q.g) < 1e-10 && maxAbsDiff(p.k, q.k) < 1e-10 && maxAbsDiff(p.c, q.c) < 1e-10);
    assert.ok(maxAbsDiff(p.a, q.a) < 1e-10 && maxAbsDiff(p.bw, q.bw) < 1e-10);
  }
});

test('cholesky, choleskyInPlace and choleskySolve agree across backends on both sides of the addon\'s n = 512 layout switch', () => {
  const bs = linalgBackends();
  for (const n of [500, 530]) {
    const { full, lowerOnly } = spdLowerOnly(n, new Rng(27 + n));
    const b = randn(n, 1, new Rng(n));
    const got = bs.map((la) => {
      const a = { rows: n, cols: n, data: lowerOnly.data.slice() };
      la.choleskyInPlace(a);
      return { L: la.cholesky(lowerOnly), Lip: a, x: la.choleskySolve(lowerOnly, b) };
    });
    for (const g of got) {
      assert.ok(maxAbsDiff(g.L, g.Lip) < 1e-9, `n=${n}: cholesky = choleskyInPlace`);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (g.L.data[i * n + j] !== 0) assert.fail(`n=${n}: nonzero above the diagonal`);
      assert.ok(maxAbsDiff(naive(full, g.x), b) < 1e-8, `n=${n}: A x = b`);
    }
    for (let i = 1; i < got.length; i++) assert.ok(maxAbsDiff(got[0]!.L, got[i]!.L) < 1e-9 && maxAbsDiff(got[0]!.x, got[i]!.x) < 1e-10, `n=${n}: backends agree`);
  }
});
