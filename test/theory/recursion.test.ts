import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { mean, std } from '../../src/core/stats.js';
import type { Matrix64 } from '../../src/core/linalg/index.js';
import {
  ContinualLinearRegression, errorRecursion, recursionStep, optimalLambda, optimalErrorClosedForm, earlyStoppingEigen,
  randomOrthogonal, bhxRisk, mnRiskIsotropic, pathErrors, type RegressionTask,
} from '../../src/theory/index.js';

// A fixed design with commuting sample covariances: X_t = Q_t diag(sqrt(n gamma_t)), Q_t with
// orthonormal columns, so Sigma_hat_t = diag(gamma_t). Only the noise is redrawn per repeat.
const p = 6, n = 10, T = 5, sigma2 = 2;
function fixedDesign(seed: number): { gammas: Float64Array[]; X: Matrix64[]; wStar: Float64Array } {
  const rng = new Rng(seed);
  const gammas: Float64Array[] = [];
  const X: Matrix64[] = [];
  for (let t = 0; t < T; t++) {
    const g = Float64Array.from({ length: p }, () => rng.uniform(0.2, 3));
    if (t === 1) g[0] = 0; // a direction the second task says nothing about
    gammas.push(g);
    const Q = randomOrthogonal(n, rng.split(`q${t}`));
    const data = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] = Q.data[j * n + i]! * Math.sqrt(n * g[j]!);
    X.push({ rows: n, cols: p, data });
  }
  return { gammas, X, wStar: Float64Array.from({ length: p }, () => rng.normal()) };
}

function monteCarlo(design: ReturnType<typeof fixedDesign>, lambdas: Float64Array[], repeats: number, seed: number): { m: number[]; se: number[] } {
  const rng = new Rng(seed, 'noise');
  const errs: number[][] = [];
  for (let r = 0; r < repeats; r++) {
    const tasks: RegressionTask[] = design.X.map((X) => {
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += X.data[i * p + j]! * design.wStar[j]!;
        y[i] = s + Math.sqrt(sigma2) * rng.normal();
      }
      return { X, y, cov: new Float64Array(p).fill(1) };
    });
    const clr = new ContinualLinearRegression(tasks);
    errs.push(pathErrors(clr.gl2((t) => lambdas[t - 1]!), design.wStar));
  }
  return {
    m: Array.from({ length: T }, (_, t) => mean(errs.map((e) => e[t]!))),
    se: Array.from({ length: T }, (_, t) => std(errs.map((e) => e[t]!)) / Math.sqrt(repeats)),
  };
}

test('the per-direction recursion matches Monte Carlo over noise for a fixed commuting design', () => {
  const design = fixedDesign(1);
  const rng = new Rng(2);
  const lambdas = Array.from({ length: T }, () => Float64Array.from({ length: p }, () => rng.uniform(0.1, 2)));
  const e0 = design.wStar.map((w) => w * w);
  const rec = errorRecursion({ gammas: design.gammas, lambdas, e0, sigma2, n });
  const mc = monteCarlo(design, lambdas, 4000, 3);
  for (let t = 0; t < T; t++) {
    const rel = Math.abs(mc.m[t]! - rec.total[t]!) / rec.total[t]!;
    assert.ok(Math.abs(mc.m[t]! - rec.total[t]!) < 4 * mc.se[t]! && rel < 0.04, `t=${t + 1}: MC ${mc.m[t]} ± ${mc.se[t]} vs recursion ${rec.total[t]}`);
  }
});

test('at the optimal lambdas the recursion equals the closed form L_t to 1e-12, and Monte Carlo agrees', () => {
  const design = fixedDesign(4);
  const e0 = design.wStar.map((w) => w * w);
  const lam = optimalLambda({ gammas: design.gammas, e0, sigma2, n });
  const rec = errorRecursion({ gammas: design.gammas, lambdas: lam, e0, sigma2, n });
  const closed = optimalErrorClosedForm({ gammas: design.gammas, e0, sigma2, n });
  for (let t = 0; t < T; t++) assert.ok(Math.abs(rec.total[t]! - closed[t]!) < 1e-12 * closed[t]!, `t=${t + 1}: ${rec.total[t]} vs ${closed[t]}`);
  // Closed form decreases and is below any other lambda choice (here: 2x and 0.5x the optimum).
  for (let t = 1; t < T; t++) assert.ok(closed[t]! < closed[t - 1]!);
  for (const f of [0.5, 2]) {
    const other = errorRecursion({ gammas: design.gammas, lambdas: lam.map((l) => l.map((v) => v * f)), e0, sigma2, n });
    assert.ok(other.total[T - 1]! > closed[T - 1]!);
  }
  const mc = monteCarlo(design, lam, 4000, 5);
  for (let t = 0; t < T; t++) assert.ok(Math.abs(mc.m[t]! - closed[t]!) < 4 * mc.se[t]!, `t=${t + 1}: MC ${mc.m[t]} vs ${closed[t]}`);
});

test('early-stopping eigenvalue map is continuous at s = 0 and matches its definition', () => {
  const eta = 0.1, k = 7;
  assert.equal(earlyStoppingEigen(0, eta, k), 1 / (k * eta));
  assert.ok(Math.abs(earlyStoppingEigen(1e-12, eta, k) - 1 / (k * eta)) < 1e-9);
  const s = 2.5, q = (1 - eta * s) ** k;
  assert.ok(Math.abs(earlyStoppingEigen(s, eta, k) - (s * q) / (1 - q)) < 1e-12);
});

test('min-norm risk forms: Belkin-Hsu-Xu against simulation within Monte Carlo error', () => {
  const D = 60, N = 20, s2 = 0.5;
  const rng = new Rng(6);
  const beta = Float64Array.from({ length: D }, () => rng.normal(0, 0.3));
  for (const pUsed of [6, 45]) {
    const used2 = beta.subarray(0, pUsed).reduce((a, b) => a + b * b, 0);
    const unused2 = beta.subarray(pUsed).reduce((a, b) => a + b * b, 0);
    const want = bhxRisk({ p: pUsed, n: N, betaUsed2: used2, betaUnused2: unused2, sigma2: s2 });
    const risks: number[] = [];
    for (let r = 0; r < 600; r++) {
      const rr = rng.split(`r${r}`);
      const X = rr.fillNormal(new Float64Array(N * D));
      const y = new Float64Array(N);
      for (let i = 0; i < N; i++) {
        let v = 0;
        for (let j = 0; j < D; j++) v += X[i * D + j]! * beta[j]!;
        y[i] = v + Math.sqrt(s2) * rr.normal();
      }
      const Xp = new Float64Array(N * pUsed);
      for (let i = 0; i < N; i++) for (let j = 0; j < pUsed; j++) Xp[i * pUsed + j] = X[i * D + j]!;
      // One MN step from 0 on the used features is the min-norm least-squares fit.
      const clr = new ContinualLinearRegression([{ X: { rows: N, cols: pUsed, data: Xp }, y, cov: new Float64Array(pUsed).fill(1) }]);
      const w = clr.mn()[0]!;
      let err = 0;
      for (let j = 0; j < pUsed; j++) err += (w[j]! - beta[j]!) ** 2;
      risks.push(err + unused2 + s2);
    }
    const m = mean(risks), se = std(risks) / Math.sqrt(risks.length);
    assert.ok(Math.abs(m - want) < 4 * se, `p=${pUsed}: simulated ${m} ± ${se} vs ${want}`);
  }
  assert.equal(bhxRisk({ p: 20, n: 20, betaUsed2: 1, betaUnused2: 0, sigma2: 1 }), Infinity);
  // With all signal used and no noise the over-parameterised form reduces to ||beta||^2 (1 - n/p).
  assert.ok(Math.abs(bhxRisk({ p: 100, n: 20, betaUsed2: 3, betaUnused2: 0, sigma2: 0 }) - 3 * 0.8) < 1e-12);
  assert.ok(Math.abs(mnRiskIsotropic(100, 20, 0, 3) - 2.4) < 1e-12);
});

test('recursion edge cases: no information keeps the error; bad shapes and unknown options are rejected', () => {
  assert.equal(recursionStep(0.7, 0, 1.5, 2, 10), 0.7);
  assert.equal(recursionStep(0.7, 2, Infinity, 2, 10), 0.7);
  assert.equal(recursionStep(0.7, 0, 0, 2, 10), 0.7);
  // lambda = 0 (min-norm along a seen direction): the error is pure noise sigma^2 / (n gamma).
  assert.ok(Math.abs(recursionStep(0.7, 2, 0, 2, 10) - 0.1) < 1e-15);
  assert.throws(() => errorRecursion({ gammas: [[1, 2]], lambdas: [[1]], e0: [1, 1], sigma2: 1, n: 5 }), /lambdas/);
  assert.throws(() => errorRecursion({ gammas: [[1]], lambdas: [[1]], e0: [1], sigma2: 1, n: 5, sigma: 1 } as never), /unknown option/);
});
