import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { linalg, maxAbsDiff, transpose, eye64, type Matrix64 } from '../../src/core/linalg/index.js';
import {
  LinearGaussianHMM, hmmFeatures, hmmFeatureMatrix, minNormHead, exactHeadRisk, headRiskFactored, riskCurve, randomOrthogonal,
} from '../../src/theory/index.js';

const la = linalg();

test('transition is rho times an orthogonal matrix; the chain is stationary with unit variance', () => {
  const Q = randomOrthogonal(7, new Rng(1));
  assert.ok(maxAbsDiff(la.gemm(Q, Q, { transB: true }), eye64(7)) < 1e-12);
  const hmm = new LinearGaussianHMM({ d: 5, rho: 0.8, L: 6, seed: 2 });
  const { zL, zNext } = hmm.sample(20000, new Rng(3));
  for (const z of [zL, zNext]) {
    const v = z.data.reduce((a, b) => a + b * b, 0) / z.data.length;
    assert.ok(Math.abs(v - 1) < 0.03, `variance ${v}`);
  }
  assert.equal(hmm.nullRisk(), 5);
  assert.ok(Math.abs(hmm.bayesRisk() - 5 * (1 - 0.64)) < 1e-12);
});

test('exact head risk: null risk d, Bayes risk d(1 - rho^2), and agreement with a sampled test set', () => {
  const d = 6, P = 15;
  const hmm = new LinearGaussianHMM({ d, rho: 0.9, L: 4, seed: 4 });
  // No feature noise and p >= d: z_L is recoverable, so B = W^+ A reaches the Bayes risk.
  const W = hmmFeatureMatrix(d, P, new Rng(5));
  const clean = hmmFeatures(W, 0);
  // B = W^+ A = W^T (W W^T)^{-1} A, so x B = z A.
  const Bbayes = la.gemm(W, la.choleskySolve(la.gemm(W, W, { transB: true }), hmm.A), { transA: true });
  assert.ok(Math.abs(exactHeadRisk(Bbayes, clean.Sx(P), clean.Sxy(P, hmm.A), d) - hmm.bayesRisk()) < 1e-9);
  const zeroB: Matrix64 = { rows: P, cols: d, data: new Float64Array(P * d) };
  assert.equal(exactHeadRisk(zeroB, clean.Sx(P), clean.Sxy(P, hmm.A), eye64(d)), d);
  // A fitted head with noisy features: exact risk vs the mean squared error on a large test sample.
  const feats = hmmFeatures(W, 0.7);
  const train = hmm.sample(40, new Rng(6));
  const B = minNormHead(feats.features(train.zL, new Rng(7)), train.zNext).B;
  const exact = exactHeadRisk(B, feats.Sx(P), feats.Sxy(P, hmm.A), d);
  assert.ok(Math.abs(exact - headRiskFactored(B, feats, hmm.A)) < 1e-9 * exact);
  const test_ = hmm.sample(40000, new Rng(8));
  const pred = la.gemm(feats.features(test_.zL, new Rng(9)), B);
  let se = 0;
  for (let i = 0; i < pred.data.length; i++) se += (pred.data[i]! - test_.zNext.data[i]!) ** 2;
  const sampled = se / 40000;
  assert.ok(Math.abs(sampled - exact) < 0.03 * exact, `sampled ${sampled} vs exact ${exact}`);
});

test('minNormHead: least squares below n, interpolation in the row space above n, eigh path agrees', () => {
  const rng = new Rng(10);
  const Y: Matrix64 = { rows: 12, cols: 3, data: rng.fillNormal(new Float64Array(36)) };
  for (const p of [5, 30]) {
    const X: Matrix64 = { rows: 12, cols: p, data: rng.fillNormal(new Float64Array(12 * p)) };
    const chol = minNormHead(X, Y);
    const eig = minNormHead(X, Y, { solver: 'eigh' });
    assert.equal(chol.solver, p < 12 ? 'cholesky-primal' : 'cholesky-dual');
    assert.equal(eig.solver, 'eigh');
    assert.ok(maxAbsDiff(chol.B, eig.B) < 1e-8);
    const resid = la.gemm(X, chol.B).data.map((v, i) => v - Y.data[i]!);
    const XtR = la.gemm(X, { rows: 12, cols: 3, data: Float64Array.from(resid) }, { transA: true });
    assert.ok(XtR.data.every((v) => Math.abs(v) < 1e-9), 'normal equations hold');
    if (p > 12) {
      assert.ok(resid.every((v) => Math.abs(v) < 1e-9), 'interpolates');
      // Row space: B = X^T a for some a, so projecting onto null(X) leaves nothing.
      const a = minNormHead(transpose(X), chol.B).B;
      assert.ok(maxAbsDiff(la.gemm(X, a, { transA: true }), chol.B) < 1e-8);
    }
  }
  assert.equal(minNormHead({ rows: 12, cols: 13, data: rng.fillNormal(new Float64Array(156)) }, Y).solver, 'eigh');
});

test('under-parameterised risk matches E_p (n-1)/(n-p-1) within Monte Carlo error', () => {
  const r = riskCurve({ n: 60, ps: [2, 10, 30], repeats: 200, sigmaU: 1, d: 10, seed: 11 });
  r.p.forEach((p, i) => {
    const cf = r.closed_form[i]!;
    assert.ok(cf !== null);
    assert.ok(Math.abs(r.risk_mean[i]! - cf) < 4 * r.risk_se[i]!, `p=${p}: mean ${r.risk_mean[i]} ± ${r.risk_se[i]} vs ${cf}`);
  });
});

test('double descent: the median risk peaks next to p = n and falls again for p >> n', () => {
  const n = 40;
  const ps = [5, 10, 20, 30, 38, 42, 50, 80, 160, 320];
  const r = riskCurve({ n, ps, repeats: 25, sigmaU: 1, d: 10, seed: 12 });
  const med = r.risk_median;
  const top = ps[med.indexOf(Math.max(...med))]!;
  assert.ok(top === 38 || top === 42, `peak at p=${top}`);
  assert.ok(med[9]! < med[6]! && med[6]! < med[5]!, 'second descent');
  assert.ok(med[9]! < r.null_risk, 'far over-parameterised head beats predicting zero');
  // Within 2 of n the eigh pseudo-inverse is used (and recorded); elsewhere Cholesky.
  ps.forEach((p, i) => assert.equal(r.solver[i], Math.abs(p - n) <= 2 ? 'eigh' : p < n ? 'cholesky-primal' : 'cholesky-dual'));
});

test('weak features give a monotone rise from p = 0, strong ones a first descent, as the gain condition predicts', () => {
  const ps = [1, 4, 10, 20, 40];
  const weak = riskCurve({ n: 100, ps, repeats: 40, sigmaU: 3, seed: 0 });
  const strong = riskCurve({ n: 100, ps, repeats: 40, sigmaU: 1, seed: 0 });
  assert.equal(weak.weak_features.predicts_monotone_rise, true, `weak gain ${weak.weak_features.gain}`);
  assert.equal(strong.weak_features.predicts_monotone_rise, false, `strong gain ${strong.weak_features.gain}`);
  for (let i = 1; i < ps.length; i++) assert.ok(weak.risk_median[i]! > weak.risk_median[i - 1]!, `weak rise at p=${ps[i]}`);
  assert.ok(weak.risk_median[0]! > weak.null_risk * 0.99);
  assert.ok(Math.min(...strong.risk_median) < strong.null_risk * 0.95, 'strong features: first descent below the null risk');
});
