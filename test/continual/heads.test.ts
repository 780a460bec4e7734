import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { AnalyticRidgeHead, PrototypeHead, RandomReluProjection, entropyAggregate, type FeatureRows } from '../../src/continual/heads.js';
import { RidgeBranch } from '../../src/continual/parts/ridge-branch.js';

function rows(rng: Rng, n: number, d: number): FeatureRows {
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return { x, n, d };
}
function labels(rng: Rng, n: number, lo: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, () => lo + rng.int(hi - lo));
}
function concat(parts: FeatureRows[]): FeatureRows {
  const n = parts.reduce((s, p) => s + p.n, 0), d = parts[0]!.d;
  const x = new Float32Array(n * d);
  let o = 0;
  for (const p of parts) { x.set(p.x, o); o += p.x.length; }
  return { x, n, d };
}
function relMax(a: Float64Array, b: Float64Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num = Math.max(num, Math.abs(a[i]! - b[i]!)); den = Math.max(den, Math.abs(b[i]!)); }
  return num / den;
}

test('RanPAC head after T sessions equals batch ridge on all data seen, in any session order (fixed lambda)', async () => {
  await initTf();
  const rng = new Rng(7);
  const d = 12, C = 6, lambda = 0.5;
  const proj = new RandomReluProjection(d, 40, 11);
  const sessions = [0, 1, 2].map((t) => ({ f: proj.apply(rows(rng.split(`s${t}`), 30 + 5 * t, d)), y: labels(rng.split(`y${t}`), 30 + 5 * t, 2 * t, 2 * t + 2) }));
  const inc = new AnalyticRidgeHead(proj.outDim, C);
  for (const s of sessions) inc.accumulate(s.f, s.y);
  inc.solve(lambda);
  const rev = new AnalyticRidgeHead(proj.outDim, C);
  for (const s of [...sessions].reverse()) rev.accumulate(s.f, s.y);
  rev.solve(lambda);
  // Batch ridge from scratch: W = (H^T H + lambda I)^{-1} H^T Y, computed here with plain loops + Gaussian elimination.
  const all = concat(sessions.map((s) => s.f));
  const y = Int32Array.from(sessions.flatMap((s) => [...s.y]));
  const D = all.d;
  const A = new Float64Array(D * D), B = new Float64Array(D * C);
  for (let i = 0; i < all.n; i++) {
    for (let p = 0; p < D; p++) {
      const hp = all.x[i * D + p]!;
      B[p * C + y[i]!]! += hp;
      for (let q = 0; q < D; q++) A[p * D + q]! += hp * all.x[i * D + q]!;
    }
  }
  for (let p = 0; p < D; p++) A[p * D + p]! += lambda;
  // Gauss-Jordan on [A | B].
  for (let c = 0; c < D; c++) {
    let piv = c;
    for (let r = c + 1; r < D; r++) if (Math.abs(A[r * D + c]!) > Math.abs(A[piv * D + c]!)) piv = r;
    for (let k = 0; k < D; k++) { const t = A[c * D + k]!; A[c * D + k] = A[piv * D + k]!; A[piv * D + k] = t; }
    for (let k = 0; k < C; k++) { const t = B[c * C + k]!; B[c * C + k] = B[piv * C + k]!; B[piv * C + k] = t; }
    const inv = 1 / A[c * D + c]!;
    for (let r = 0; r < D; r++) {
      if (r === c) continue;
      const f = A[r * D + c]! * inv;
      if (f === 0) continue;
      for (let k = 0; k < D; k++) A[r * D + k]! -= f * A[c * D + k]!;
      for (let k = 0; k < C; k++) B[r * C + k]! -= f * B[c * C + k]!;
    }
  }
  for (let r = 0; r < D; r++) for (let k = 0; k < C; k++) B[r * C + k]! /= A[r * D + r]!;
  assert.ok(relMax(inc.weights.data, B) < 1e-8, `incremental vs batch: ${relMax(inc.weights.data, B)}`);
  assert.ok(relMax(rev.weights.data, inc.weights.data) < 1e-8, `order: ${relMax(rev.weights.data, inc.weights.data)}`);
});

test('RidgeBranch: the session statistics (fit + held-out rows) equal accumulating the whole session', async () => {
  await initTf();
  const rng = new Rng(3);
  const f = rows(rng, 60, 8), y = labels(rng, 60, 0, 3);
  const branch = new RidgeBranch(8, 0, 1, 3);
  branch.update(f, y, rng.split('split'));
  const direct = new AnalyticRidgeHead(8, 3);
  direct.accumulate(f, y);
  assert.ok(relMax(branch.head.G.data, direct.G.data) < 1e-12);
  assert.ok(relMax(branch.head.Q.data, direct.Q.data) < 1e-12);
});

test('lambda search: primal and dual give the same validation errors', async () => {
  await initTf();
  const rng = new Rng(5);
  const fit = rows(rng, 20, 30), val = rows(rng, 10, 30);
  const yf = labels(rng, 20, 0, 3), yv = labels(rng, 10, 0, 3);
  const dual = AnalyticRidgeHead.selectLambda(fit, yf, val, yv, 3, [0.1, 1, 10]);
  // Pad the fit rows with zero rows: same ridge solution, but now rows >= dims so the primal runs.
  const padded: FeatureRows = { x: new Float32Array(40 * 30), n: 40, d: 30 };
  padded.x.set(fit.x);
  const yp = new Int32Array(40); yp.set(yf);
  // Zero rows add nothing to G but their targets add to nothing either (Q gets zero rows' contributions of 0).
  const primal = AnalyticRidgeHead.selectLambda(padded, yp, val, yv, 3, [0.1, 1, 10]);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(dual.mse[i]! - primal.mse[i]!) < 1e-9 * Math.max(1, primal.mse[i]!), `${dual.mse[i]} vs ${primal.mse[i]}`);
});

test('entropy aggregation: gamma 0 or equal entropies give equal weights; a confident branch gets more weight', () => {
  const zf = Float32Array.from([0.9, 0.1, 0.5, 0.5]);
  const zs = Float32Array.from([0.1, 0.9, 0.5, 0.5]);
  const a = entropyAggregate(zf, zs, 2, 2, { gamma: 0, logitScale: 10 });
  assert.deepEqual([...a.wFast], [0.5, 0.5]);
  const b = entropyAggregate(zf, zs, 2, 2, { gamma: 3, logitScale: 10 });
  assert.equal(b.wFast[0], 0.5); // mirrored logits: equal entropies
  const zc = Float32Array.from([1, 0, 0.5, 0.5]);
  const c = entropyAggregate(zc, Float32Array.from([0.5, 0.5, 1, 0]), 2, 2, { gamma: 3, logitScale: 10 });
  assert.ok(c.wFast[0]! > 0.5 && c.wFast[1]! < 0.5);
});

test('prototype head: nearest class mean by cosine; missing classes are an error', () => {
  const h = new PrototypeHead(2, 3);
  h.accumulate({ x: Float32Array.from([1, 0, 2, 0.1, 0, 1]), n: 3, d: 2 }, Int32Array.from([0, 0, 1]));
  const z = h.logits({ x: Float32Array.from([0.9, 0.1, 0.1, 3]), n: 2, d: 2 }, 2);
  assert.ok(z[0]! > z[1]! && z[3]! > z[2]!);
  assert.throws(() => h.logits({ x: Float32Array.from([1, 0]), n: 1, d: 2 }, 3), /class 2 has no samples/);
});
