// core/estimators reproduces what the three logistic regressions, the co2l probe and crystal's
// least squares computed before it. test/fixtures/estimators-parity.json was written by
// test/core/estimators-parity.gen.ts (removed since; see commit fef7e91, which still holds
// breakout/learned.ts's and crystal/learn.ts's own classes) on the code before core/estimators.
//
// Tolerances, and why they are not zero:
// - co2l probe: bit for bit. The Adam path keeps the old arithmetic in the same order.
// - breakout (Newton): the intercept now sits after the weights, the step is solved by
//   core/linalg's Cholesky (OpenBLAS or TypeScript) instead of a private one, and standardisation
//   sums before dividing. Each changes rounding only: measured 4e-16 on weights and 3e-16 on
//   probabilities (OpenBLAS backend); asserted to 1e-12.
// - crystal (gradient descent): the gradient is scaled by 1/n per row rather than once per sum and
//   the bias is added first; 300 contracting steps keep that at rounding level: measured 4e-16,
//   asserted to 1e-12.
// - crystal least squares: Cholesky of the damped normal matrix instead of Gauss-Jordan; measured
//   6e-16 relative on R1/wR2/scale and 5e-17 on shifts; asserted to 1e-10 (the difference scales
//   with the normal matrix's condition number, which another structure can raise).
// Discrete outputs (accuracies, assignments, iteration counts, chosen epochs) must be equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LogisticRegression } from '../../src/core/estimators/index.js';
import { binaryData, callSites, multiData } from './estimators-parity-cases.js';

const fx = JSON.parse(readFileSync(new URL('../fixtures/estimators-parity.json', import.meta.url), 'utf8'));

function close(a: readonly number[], b: readonly number[], tol: number, what: string, relative = false): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!), s = relative ? Math.max(1, Math.abs(b[i]!)) : 1;
    assert.ok(d <= tol * s, `${what}[${i}]: ${a[i]} vs ${b[i]} (diff ${d})`);
  }
}

test('parity: binary Newton logistic regression (was breakout/learned.ts) gives the same weights and probabilities', () => {
  const b = binaryData(1, 300, 6), bt = binaryData(2, 40, 6);
  for (const [key, opts] of [['default', {}], ['l2_1_iter3', { l2: 1, maxIter: 3 }]] as const) {
    const m = new LogisticRegression(opts).fit(b.x, b.y, { classes: [0, 1] });
    const want = fx.breakout_logistic[key];
    const c = m.coefficients().data;
    // old layout: intercept first, then the weights
    close([c[6]!, ...c.subarray(0, 6)], want.params, 1e-12, `${key} params`);
    close(m.predictProba(bt.x).map((p) => p[1]!), want.proba, 1e-12, `${key} proba`);
    assert.equal(m.iterations, want.iterations);
    assert.deepEqual(m.predict(bt.x), want.proba.map((p: number) => (p >= 0.5 ? 1 : 0)));
  }
});

test('parity: softmax regression by gradient descent (was crystal/learn.ts) gives the same probabilities', () => {
  const m = multiData(3, 240, 4), mt = multiData(4, 30, 4);
  const gd = (o: object) => new LogisticRegression<string>({ solver: 'gd', penalizeIntercept: true, l2: 1e-2, epochs: 300, lr: 0.5, ...o }).fit(m.x, m.y);
  const a = gd({}), b = gd({ l2: 0, epochs: 40, lr: 0.2 });
  assert.deepEqual([...a.classes], fx.crystal_logistic.default.classes);
  close(a.predictProba(mt.x).flatMap((p) => [...p]), fx.crystal_logistic.default.proba.flat(), 1e-12, 'default proba');
  close(a.predictProba(mt.x, ['c', 'a']).flatMap((p) => [...p]), fx.crystal_logistic.default.allowed.flat(), 1e-12, 'allowed proba');
  close(b.predictProba(mt.x).flatMap((p) => [...p]), fx.crystal_logistic.l2_0_e40.proba.flat(), 1e-12, 'l2 0 proba');
});

test('parity: the commands that use them (breakout learned, crystal assigners and least squares, co2l probe)', async () => {
  const now = await callSites() as Record<string, any>;
  const was = fx.call_sites;
  // breakout eval learned: accuracies are counts over the same windows, so exact
  assert.deepEqual(now.breakout_learned.per_seed, was.breakout_learned.per_seed);
  assert.equal(now.breakout_learned.verdict_acc, was.breakout_learned.verdict_acc);
  for (const [k, v] of Object.entries(was.breakout_learned.model)) assert.deepEqual(now.breakout_learned.model[k], v, `model.${k}`);
  // crystal
  assert.deepEqual(now.crystal_element_assigner.elements, was.crystal_element_assigner.elements);
  assert.deepEqual(now.crystal_element_assigner.classes, was.crystal_element_assigner.classes);
  close(now.crystal_element_assigner.proba.flat(), was.crystal_element_assigner.proba.flat(), 1e-12, 'element proba');
  assert.deepEqual(now.crystal_rank_shift, was.crystal_rank_shift);
  assert.deepEqual(now.crystal_h_counter, was.crystal_h_counter);
  const l = now.crystal_lsq, lw = was.crystal_lsq;
  assert.equal(l.r1Before, lw.r1Before);
  close([l.r1After, l.wr2After, l.scale], [lw.r1After, lw.wr2After, lw.scale], 1e-10, 'lsq R1/wR2/scale', true);
  close(l.shifts, lw.shifts, 1e-10, 'lsq shifts');
  close(l.esds, lw.esds, 1e-10, 'lsq esds');
  close(l.sites.flat(), lw.sites.flat(), 1e-10, 'lsq sites');
  // co2l probe: bit for bit
  assert.deepEqual(now.co2l_probe, was.co2l_probe);
});
