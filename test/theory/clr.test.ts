import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { InputError } from '../../src/core/errors.js';
import { linalg } from '../../src/core/linalg/index.js';
import {
  ContinualLinearRegression, taskStream, earlyStoppingH, simulateCLR, oracleRiskIsotropic, diagMatrix,
} from '../../src/theory/index.js';
import { maxAbs } from '../../src/theory/util.js';

function maxPathDiff(a: readonly Float64Array[], b: readonly Float64Array[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((w, t) => maxAbs(w, b[t]!)));
}

for (const [label, n, shift] of [['n_t < p, pooled Gram singular for 4 tasks', 6, 'none'], ['n_t < p, diagonal shift', 20, 'diag'], ['n_t > p', 45, 'none']] as const) {
  test(`GL2 with empirical covariances equals the oracle at every t to 1e-10 (${label})`, () => {
    const s = taskStream({ p: 30, n, T: 8, sigma2: 2, shift, shiftCount: 3, shiftScale: 50 }, new Rng(11));
    const clr = new ContinualLinearRegression(s.tasks);
    const oracle = clr.oracle();
    const emp = clr.gl2('empirical');
    const d = maxPathDiff(oracle, emp);
    assert.ok(d < 1e-10, `max |gl2_empirical - oracle| = ${d}`);
    // And the oracle really is pooled least squares: it solves the pooled normal equations.
    const G = s.tasks.reduce((acc, t) => acc.map((v, i) => v + linalg().syrk(t.X).data[i]!), new Float64Array(900));
    const b = new Float64Array(30);
    for (const t of s.tasks) for (let i = 0; i < t.X.rows; i++) for (let j = 0; j < 30; j++) b[j] += t.X.data[i * 30 + j]! * t.y[i]!;
    const w = oracle.at(-1)!;
    for (let j = 0; j < 30; j++) {
      let gw = 0;
      for (let k = 0; k < 30; k++) gw += G[j * 30 + k]! * w[k]!;
      assert.ok(Math.abs(gw - b[j]!) < 1e-8 * (1 + Math.abs(b[j]!)));
    }
  });
}

test('early stopping equals GL2 with the matching H to 1e-10 (n < p and n > p)', () => {
  for (const n of [15, 40]) {
    const s = taskStream({ p: 25, n, T: 4, sigma2: 1 }, new Rng(5));
    const clr = new ContinualLinearRegression(s.tasks);
    const eta = 0.05, k = 30;
    for (let t = 0; t < 4; t++) assert.ok(eta * clr.sMax(t) < 1, 'the matching H is PSD');
    const es = clr.earlyStopping({ eta, k });
    const gl2 = clr.gl2((t, tasks) => {
      const X = tasks[t - 1]!.X;
      const S = linalg().syrk(X);
      return earlyStoppingH({ rows: 25, cols: 25, data: S.data.map((v) => v / X.rows) }, eta, k);
    });
    const d = maxPathDiff(es, gl2);
    assert.ok(d < 1e-10, `n=${n}: max |ES - GL2(H_es)| = ${d}`);
    // Not trivially equal: early stopping moved away from the previous estimate.
    assert.ok(maxAbs(es[1]!, es[0]!) > 1e-2);
  }
});

test('dual (n x n) and primal (p x p) updates agree: ridge and diagonal GL2', () => {
  const s = taskStream({ p: 30, n: 12, T: 5, sigma2: 1, shift: 'diag', shiftCount: 4, shiftScale: 20 }, new Rng(8));
  const clr = new ContinualLinearRegression(s.tasks);
  const eye = diagMatrix(new Float64Array(30).fill(1));
  const crrDual = clr.crr(0.3);
  const crrPrimal = clr.gl2(() => ({ rows: 30, cols: 30, data: eye.data.map((v) => 0.3 * v) }));
  assert.ok(maxPathDiff(crrDual, crrPrimal) < 1e-10);
  // Population GL2 (diagonal, dual) against the same H as a full matrix (primal).
  const pop = clr.gl2('population');
  const full = clr.gl2((t, tasks) => {
    const acc = new Float64Array(30);
    for (let k = 0; k < t - 1; k++) for (let j = 0; j < 30; j++) acc[j] += tasks[k]!.X.rows * (tasks[k]!.cov as Float64Array)[j]!;
    return t === 1 ? 0 : diagMatrix(acc.map((v) => v / tasks[t - 1]!.X.rows));
  });
  assert.ok(maxPathDiff(pop, full) < 1e-10);
  // MN interpolates each new task.
  const mn = clr.mn();
  const X = s.tasks[2]!.X;
  const fit = linalg().gemm(X, { rows: 30, cols: 1, data: mn[2]! }).data;
  assert.ok(maxAbs(fit, s.tasks[2]!.y) < 1e-9);
});

test('oracle error matches sigma^2 p/(N-p-1) (and the min-norm form at t=1) within Monte Carlo error', () => {
  const p = 20, n = 12, T = 6, sigma2 = 1;
  const r = simulateCLR({ p, n, T, sigma2, shift: 'none', repeats: 300, seed: 3, lambdas: [1] });
  for (let t = 0; t < T; t++) {
    const th = oracleRiskIsotropic(p, n * (t + 1), sigma2);
    assert.deepEqual(r.theory.oracle[t], th);
    if (th === null || t === 1) continue; // N = 24: inverse-Wishart tail too heavy for a 300-repeat mean
    const got = r.errors.oracle[t]!, se = r.se.oracle[t]!;
    assert.ok(Math.abs(got - th) < 4 * se, `t=${t + 1}: ${got} vs ${th} (se ${se})`);
  }
  assert.ok(r.gl2_empirical_vs_oracle_max_abs < 1e-10);
});

test('MN has a noise floor that scales with sigma^2 and does not fall with T; small-lambda ridge plateaus near it; GL2 falls monotonically', () => {
  const base = { p: 40, n: 30, T: 16, shift: 'none' as const, repeats: 24, seed: 9, lambdas: [0.01, 10] };
  const lo = simulateCLR({ ...base, sigma2: 1 });
  const hi = simulateCLR({ ...base, sigma2: 5 });
  const tail = (xs: number[]): number => (xs[13]! + xs[14]! + xs[15]!) / 3;
  const mid = (xs: number[]): number => (xs[6]! + xs[7]! + xs[8]!) / 3;
  for (const r of [lo, hi]) {
    assert.ok(tail(r.errors.min_norm) > 0.8 * mid(r.errors.min_norm), 'MN keeps its floor');
    assert.ok(tail(r.errors.min_norm) > 10 * tail(r.errors.oracle), 'MN floor far above the oracle');
    const small = r.errors.ridge['0.01']!;
    assert.ok(tail(small) > 0.8 * mid(small), 'ridge 0.01 plateaus');
    assert.ok(tail(small) > 0.5 * tail(r.errors.min_norm) && tail(small) < 1.05 * tail(r.errors.min_norm), 'ridge 0.01 near the MN floor');
    const big = r.errors.ridge['10']!;
    assert.ok(big[15]! < big[7]!, 'large-lambda ridge still converging');
    assert.ok(big[15]! > 3 * r.errors.gl2_empirical[15]!, 'large-lambda ridge converges slowly');
    for (const g of [r.errors.gl2_empirical, r.errors.gl2_population]) {
      for (let t = 2; t < 16; t++) assert.ok(g[t]! <= g[t - 1]! * 1.02, `GL2 not decreasing at t=${t + 1}: ${g[t - 1]} -> ${g[t]}`);
      assert.ok(g[15]! < 0.5 * g[3]!);
    }
  }
  const ratio = tail(hi.errors.min_norm) / tail(lo.errors.min_norm);
  assert.ok(ratio > 3.5 && ratio < 6.5, `MN floor ratio for sigma^2 5 vs 1: ${ratio}`);
});

test('options are checked: unknown names list the known ones; bad values name the field', () => {
  assert.throws(() => taskStream({ p: 3, n: 2, T: 1, sigma2: 1, shfit: 'none' } as never, new Rng(0)), (e: unknown) => e instanceof InputError && /shfit/.test(e.message) && /shift/.test(e.message));
  assert.throws(() => taskStream({ p: 3, n: [2, 2], T: 1, sigma2: 1 }, new Rng(0)), InputError);
  assert.throws(() => taskStream({ p: 3, n: 2, T: 1, sigma2: 1, shift: 'full' as never }, new Rng(0)), /shift/);
  assert.throws(() => simulateCLR({ p: 3, n: 2, T: 1, sigma2: -1, shift: 'none', repeats: 1, seed: 0 }), /sigma2/);
  const s = taskStream({ p: 3, n: 2, T: 1, sigma2: 1 }, new Rng(0));
  assert.throws(() => new ContinualLinearRegression(s.tasks).crr(-1), /lambda/);
});

test('task streams are paired across sigma^2 and shift: same w*, same noise direction', () => {
  const a = taskStream({ p: 10, n: 5, T: 2, sigma2: 1 }, new Rng(4));
  const b = taskStream({ p: 10, n: 5, T: 2, sigma2: 4, shift: 'diag', shiftCount: 2 }, new Rng(4));
  assert.deepEqual(a.wStar, b.wStar);
  const la = linalg();
  const resid = (s: typeof a, t: number): Float64Array => {
    const fit = la.gemm(s.tasks[t]!.X, { rows: 10, cols: 1, data: s.wStar }).data;
    return s.tasks[t]!.y.map((v, i) => v - fit[i]!);
  };
  const ra = resid(a, 1), rb = resid(b, 1);
  for (let i = 0; i < ra.length; i++) assert.ok(Math.abs(rb[i]! - 2 * ra[i]!) < 1e-12);
});
