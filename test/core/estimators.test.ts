// core/estimators against closed forms: ridge solves its normal equations, and each logistic
// solver stops where the gradient of its stated objective vanishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { InputError, NotFittedError } from '../../src/core/errors.js';
import { LogisticRegression, Ridge } from '../../src/core/estimators/index.js';

function rows(seed: number, n: number, d: number): number[][] {
  const r = new Rng(seed, 'rows');
  return Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => (1 + j) * r.normal() + 0.5 * j));
}

test('ridge: coefficients satisfy Xc^T (y - X b - c) = alpha b with zero mean residual; many targets = one at a time', () => {
  const X = rows(1, 80, 5), r = new Rng(2, 'y');
  const y = X.map((x) => 3 - x[0]! + 2 * x[3]! + 0.1 * r.normal());
  const y2 = X.map((x) => x[1]! * 0.5 + r.normal());
  const alpha = 2.5;
  const m = new Ridge({ alpha }).fit(X, y);
  const b = m.coef.data, c = m.intercept[0]!;
  const pred = m.predict(X) as Float64Array;
  const res = y.map((v, i) => v - pred[i]!);
  assert.ok(Math.abs(res.reduce((s, v) => s + v, 0)) < 1e-9);
  for (let j = 0; j < 5; j++) {
    const g = X.reduce((s, x, i) => s + x[j]! * res[i]!, 0);
    assert.ok(Math.abs(g - alpha * b[j]!) < 1e-8, `normal equation ${j}: ${g} vs ${alpha * b[j]!}`);
  }
  assert.ok(Math.abs(c - 3) < 0.2 && Math.abs(b[3]! - 2) < 0.05);
  const both = new Ridge({ alpha }).fit(X, { rows: 80, cols: 2, data: Float64Array.from(y.flatMap((v, i) => [v, y2[i]!])) });
  const m2 = new Ridge({ alpha }).fit(X, y2);
  for (let j = 0; j < 5; j++) {
    assert.ok(Math.abs(both.coef.data[j * 2]! - b[j]!) < 1e-10);
    assert.ok(Math.abs(both.coef.data[j * 2 + 1]! - m2.coef.data[j]!) < 1e-10);
  }
  // without an intercept and alpha 0: least squares through the origin, X^T (y - X b) = 0
  const ols = new Ridge({ alpha: 0, fitIntercept: false }).fit(X, y);
  const p0 = ols.predict(X) as Float64Array;
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(X.reduce((s, x, i) => s + x[j]! * (y[i]! - p0[i]!), 0)) < 1e-8);
  assert.throws(() => new Ridge({ alpah: 1 } as never), /did you mean "alpha"/);
  assert.throws(() => new Ridge().predict(X), NotFittedError);
});

/** Gradient of mean_i s_i CE_i + l2/2 |W|^2 (intercept penalised when asked) on raw features, (d+1) x C, bias last. */
function gradient(X: number[][], y: number[], C: number, proba: Float64Array[], l2: number, w: number[][], penaliseBias: boolean, sw?: number[]): number[][] {
  const d = X[0]!.length, n = X.length;
  const g = Array.from({ length: d + 1 }, () => new Array<number>(C).fill(0));
  X.forEach((x, i) => {
    for (let c = 0; c < C; c++) {
      const e = (sw ? sw[i]! : 1) * (proba[i]![c]! - (y[i] === c ? 1 : 0)) / n;
      for (let j = 0; j < d; j++) g[j]![c] += e * x[j]!;
      g[d]![c] += e;
    }
  });
  for (let j = 0; j <= d; j++) for (let c = 0; c < C; c++) if (j < d || penaliseBias) g[j]![c] += l2 * w[j]![c]!;
  return g;
}

function maxAbs(g: number[][]): number { return Math.max(...g.flat().map(Math.abs)); }

function softmaxData(seed: number, n: number): { X: number[][]; y: number[] } {
  const X = rows(seed, n, 3), r = new Rng(seed, 'labels');
  const y = X.map((x) => { const s = [x[0]!, -x[1]! / 2, 0.3 * x[2]!].map((v) => v + r.normal()); return s.indexOf(Math.max(...s)); });
  return { X, y };
}

test('logistic newton: the gradient vanishes at the fit (binary sigmoid and 3-class softmax, raw features)', () => {
  const { X, y } = softmaxData(3, 200);
  const yb = y.map((v) => (v === 0 ? 1 : 0));
  const b = new LogisticRegression({ standardize: false, l2: 0.05 }).fit(X, yb);
  const cb = b.coefficients();
  assert.equal(cb.cols, 1);
  // the binary model's single logit is the 2-class softmax with the other class's weights held at
  // 0: only the gradient of class 1's column must vanish
  const wb = Array.from({ length: 4 }, (_, j) => [0, cb.data[j]!]);
  assert.ok(maxAbs(gradient(X, yb, 2, b.predictProba(X), 0.05, wb, false).map((g) => [g[1]!])) < 1e-10);
  const m = new LogisticRegression({ standardize: false, l2: 0.05 }).fit(X, y);
  const cm = m.coefficients();
  assert.equal(cm.cols, 3);
  const wm = Array.from({ length: 4 }, (_, j) => Array.from({ length: 3 }, (_, c) => cm.data[j * 3 + c]!));
  assert.ok(maxAbs(gradient(X, y, 3, m.predictProba(X), 0.05, wm, false)) < 1e-10);
  assert.ok(m.iterations < 20);
  for (const p of m.predictProba(X)) assert.ok(Math.abs(p[0]! + p[1]! + p[2]! - 1) < 1e-12);
  // softmax weights are defined up to a shift per feature; the penalty fixes it at sum_c w = 0
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(wm[j]!.reduce((s, v) => s + v, 0)) < 1e-8);
});

test('logistic gd and adam approach the same optimum as newton; balanced class weights zero the weighted gradient', () => {
  const { X, y } = softmaxData(4, 150);
  const l2 = 0.1;
  const nt = new LogisticRegression({ l2, penalizeIntercept: true, standardize: false, tol: 1e-12 }).fit(X, y);
  const gd = new LogisticRegression({ solver: 'gd', l2, penalizeIntercept: true, standardize: false, epochs: 4000, lr: 0.2 }).fit(X, y);
  const ad = new LogisticRegression({ solver: 'adam', l2, penalizeIntercept: true, standardize: false, epochs: 600, lr: 0.05, batchSize: 150 }).fit(X, y, { rng: new Rng(1) });
  const pn = nt.predictProba(X).flatMap((p) => [...p]);
  for (const [name, m, tol] of [['gd', gd, 1e-6], ['adam', ad, 1e-3]] as const) {
    const pm = m.predictProba(X).flatMap((p) => [...p]);
    const diff = Math.max(...pm.map((v, i) => Math.abs(v - pn[i]!)));
    assert.ok(diff < tol, `${name}: max probability difference ${diff}`);
  }
  // balanced: weights n / (classes present * count)
  const yk = y.map((v, i) => (i % 4 === 0 ? v : 0));
  const counts = [0, 1, 2].map((c) => yk.filter((v) => v === c).length);
  const sw = yk.map((c) => yk.length / (3 * counts[c]!));
  const bal = new LogisticRegression({ standardize: false, l2, classWeight: 'balanced' }).fit(X, yk);
  const cb = bal.coefficients();
  const w = Array.from({ length: 4 }, (_, j) => Array.from({ length: 3 }, (_, c) => cb.data[j * 3 + c]!));
  assert.ok(maxAbs(gradient(X, yk, 3, bal.predictProba(X), l2, w, false, sw)) < 1e-10);
});

test('logistic: labels, classes, validation epoch, allowed classes and errors', () => {
  const { X, y } = softmaxData(5, 120);
  const names = ['z', 'a', 'm'];
  const ys = y.map((v) => names[v]!);
  const m = new LogisticRegression<string>({ solver: 'gd', epochs: 50, lr: 0.5 }).fit(X, ys, { validation: { x: X.slice(0, 40), y: ys.slice(0, 40) } });
  assert.deepEqual([...m.classes], ['a', 'm', 'z']);
  assert.ok(m.bestEpoch! >= 1 && m.bestEpoch! <= 50 && m.validationAccuracy! > 0.45, `epoch ${m.bestEpoch}, accuracy ${m.validationAccuracy}`);
  // the kept weights are the chosen epoch's: predicting the validation rows gives its accuracy
  const pred = m.predict(X.slice(0, 40));
  assert.equal(pred.filter((p, i) => p === ys[i]).length / 40, m.validationAccuracy);
  const pa = m.predictProba(X.slice(0, 5), ['a', 'z']);
  for (const p of pa) { assert.equal(p[1], 0); assert.ok(Math.abs(p[0]! + p[2]! - 1) < 1e-12); }
  // a class absent from training still gets a column when named
  const k = new LogisticRegression().fit(X, y.map((v) => Math.min(v, 1)), { classes: [0, 1, 2] });
  assert.equal(k.predictProba(X.slice(0, 1))[0]!.length, 3);
  assert.throws(() => new LogisticRegression({ solver: 'lbfgs' as never }), /solver must be newton, gd or adam/);
  assert.throws(() => new LogisticRegression({ l3: 1 } as never), /unknown option "l3" \(did you mean "l2"\?\)/);
  assert.throws(() => new LogisticRegression({ solver: 'adam' }).fit(X, y), /needs rng/);
  assert.throws(() => new LogisticRegression().fit(X, y, { classes: [0, 1] }), /label 2 of row \d+ is not one of the classes 0, 1/);
  assert.throws(() => new LogisticRegression().fit(X, y.map(() => 1)), /at least two classes/);
  assert.throws(() => new LogisticRegression().fit(X, y.slice(1)), InputError);
  assert.throws(() => new LogisticRegression().predict(X), NotFittedError);
  assert.throws(() => new LogisticRegression().fit(X, y).predict([[1, 2]]), /2 features, expected 3/);
});
