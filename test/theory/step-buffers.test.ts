// The task update builds its system in a shared scratch buffer and caches a task's Grams only from
// their second use: every path (first use, cached, every H kind, primal and dual) must give the
// same update, on both linear-algebra backends, and results must never alias the scratch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { linalgBackends, type Matrix64 } from '../../src/core/linalg/index.js';
import { ContinualLinearRegression, taskStream, type HSpec } from '../../src/theory/index.js';
import { maxAbs } from '../../src/theory/util.js';

/**
 * The update solved directly: (X^T X + n H) delta = X^T (y - X w), with H as a dense matrix; for
 * H = 0 and n < p the minimum-norm delta X^T (X X^T)^{-1} r. Gaussian elimination, independent of
 * the Cholesky path.
 */
function reference(X: Matrix64, y: Float64Array, w: Float64Array, H: Float64Array): Float64Array {
  const n = X.rows, p = X.cols;
  const r = y.map((v, i) => { let s = v; for (let j = 0; j < p; j++) s -= X.data[i * p + j]! * w[j]!; return s; });
  if (n < p && H.every((v) => v === 0)) {
    const K = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < p; j++) K[i * n + k] += X.data[i * p + j]! * X.data[k * p + j]!;
    const a = gauss(K, r, n);
    return w.map((v, j) => { let s = v; for (let i = 0; i < n; i++) s += X.data[i * p + j]! * a[i]!; return s; });
  }
  const A = new Float64Array(p * p), b = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) {
    b[j] += X.data[i * p + j]! * r[i]!;
    for (let k = 0; k < p; k++) A[j * p + k] += X.data[i * p + j]! * X.data[i * p + k]!;
  }
  for (let i = 0; i < p * p; i++) A[i] += n * H[i]!;
  const x = gauss(A, b, p);
  return w.map((v, j) => v + x[j]!);
}

/** Solves A x = b by Gaussian elimination with partial pivoting. */
function gauss(A: Float64Array, b: Float64Array, p: number): Float64Array {
  const M = A.slice(), x = b.slice();
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let i = c + 1; i < p; i++) if (Math.abs(M[i * p + c]!) > Math.abs(M[piv * p + c]!)) piv = i;
    for (let k = 0; k < p; k++) { const t = M[c * p + k]!; M[c * p + k] = M[piv * p + k]!; M[piv * p + k] = t; }
    const t = x[c]!; x[c] = x[piv]!; x[piv] = t;
    for (let i = c + 1; i < p; i++) {
      const f = M[i * p + c]! / M[c * p + c]!;
      for (let k = c; k < p; k++) M[i * p + k] -= f * M[c * p + k]!;
      x[i] -= f * x[c]!;
    }
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < p; k++) s -= M[i * p + k]! * x[k]!;
    x[i] = s / M[i * p + i]!;
  }
  return x;
}

function dense(h: HSpec, p: number): Float64Array {
  const H = new Float64Array(p * p);
  if (h.kind === 'scalar') for (let i = 0; i < p; i++) H[i * p + i] = h.lambda;
  else if (h.kind === 'diag') for (let i = 0; i < p; i++) H[i * p + i] = h.d[i]!;
  else if (h.kind === 'full') H.set(h.H.data);
  return H;
}

function specs(p: number, rng: Rng): HSpec[] {
  const Z: Matrix64 = { rows: 2 * p, cols: p, data: rng.fillNormal(new Float64Array(2 * p * p)) };
  const H = new Float64Array(p * p);
  for (let i = 0; i < 2 * p; i++) for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) H[j * p + k] += Z.data[i * p + j]! * Z.data[i * p + k]! / (2 * p);
  const d = Float64Array.from({ length: p }, () => 0.2 + rng.uniform(0, 1));
  return [{ kind: 'zero' }, { kind: 'scalar', lambda: 0.7 }, { kind: 'diag', d }, { kind: 'full', H: { rows: p, cols: p, data: H } }];
}

for (const la of linalgBackends()) {
  test(`${la.name}: every step path equals the direct solve, first use and cached alike (n < p and n > p)`, () => {
    for (const [n, p] of [[9, 14], [23, 14]] as const) {
      const rng = new Rng(40 + n);
      const s = taskStream({ p, n, T: 2, sigma2: 0.5 }, rng.split('stream'));
      const w = rng.split('w').fillNormal(new Float64Array(p), 0.3);
      const clr = new ContinualLinearRegression(s.tasks, la);
      for (const h of specs(p, rng.split('h'))) {
        const want = reference(s.tasks[1]!.X, s.tasks[1]!.y, w, dense(h, p));
        // Three calls: the first computes the Gram into the scratch, the second caches it, the third reuses it.
        const got = [clr.step(1, w, h), clr.step(1, w, h), clr.step(1, w, h)];
        for (const g of got) assert.ok(maxAbs(g, want) < 1e-9, `${h.kind}, n=${n}, p=${p}: ${maxAbs(g, want)}`);
        assert.ok(maxAbs(got[0]!, got[2]!) < 1e-13, `${h.kind}: cached and uncached paths agree`);
      }
    }
  });

  test(`${la.name}: step results do not alias the shared scratch (interleaved estimators)`, () => {
    const rng = new Rng(50);
    const a = taskStream({ p: 12, n: 8, T: 2, sigma2: 1 }, rng.split('a'));
    const b = taskStream({ p: 12, n: 30, T: 2, sigma2: 1 }, rng.split('b'));
    const ca = new ContinualLinearRegression(a.tasks, la), cb = new ContinualLinearRegression(b.tasks, la);
    const w = new Float64Array(12);
    const ra = ca.step(0, w, { kind: 'scalar', lambda: 1 });
    const keep = ra.slice();
    const rb = cb.step(0, w, { kind: 'scalar', lambda: 1 });
    cb.step(1, rb, { kind: 'zero' });
    assert.deepEqual([...ra], [...keep]);
    assert.notEqual(ra.buffer, rb.buffer);
    assert.deepEqual([...w], new Array(12).fill(0), 'wPrev is not modified');
  });
}

test('step paths agree across backends', () => {
  const bs = linalgBackends();
  const rng = new Rng(60);
  const s = taskStream({ p: 40, n: 25, T: 3, sigma2: 1, shift: 'diag', shiftCount: 5, shiftScale: 30 }, rng.split('s'));
  const hs = specs(40, rng.split('h'));
  const paths = bs.map((la) => {
    const clr = new ContinualLinearRegression(s.tasks, la);
    return [clr.mn(), clr.crr(0.1), clr.gl2('population'), clr.gl2('empirical'), clr.oracle(), ...hs.map((h) => [clr.step(2, new Float64Array(40), h)])];
  });
  for (let i = 1; i < paths.length; i++) {
    paths[0]!.forEach((path, m) => path.forEach((w, t) => assert.ok(maxAbs(w, paths[i]![m]![t]!) < 1e-8, `method ${m}, task ${t}`)));
  }
});
