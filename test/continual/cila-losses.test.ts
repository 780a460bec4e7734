// Co2L/CILA building blocks against plain-JS references: asymmetric SupCon, IRD, augmentation,
// class-balanced buffer, the CILA schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { asymSupCon, augmentBatch, balancedBufferIndices, ird } from '../../src/continual/contrastive.js';
import { lambdaForTask, parseSchedule, type TaskLosses } from '../../src/continual/methods/cila.js';
import { methodSchedule } from '../../src/continual/methods/co2l.js';

function randUnit(V: number, D: number, rng: Rng): number[][] {
  return Array.from({ length: V }, () => {
    const v = Array.from({ length: D }, () => rng.normal());
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
}
const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** The formula of the method note, written out loop by loop. */
function supConRef(z: number[][], y: number[], anchor: number[], tau: number, tauBase: number): number {
  const V = z.length;
  let total = 0;
  for (let i = 0; i < V; i++) {
    if (!anchor[i]) continue;
    const den = Math.log(z.reduce((s, zj, a) => (a === i ? s : s + Math.exp(dot(z[i]!, zj) / tau)), 0));
    let sum = 0, np = 0;
    for (let p = 0; p < V; p++) if (p !== i && y[p] === y[i]) { sum += dot(z[i]!, z[p]!) / tau - den; np++; }
    if (np) total += -sum / np;
  }
  return (total / V) * (tau / tauBase);
}

function irdRef(zc: number[][], zp: number[][], ks: number, k: number): number {
  const V = zc.length;
  let total = 0;
  for (let i = 0; i < V; i++) {
    const row = (z: number[][], t: number): number[] => {
      const e = z.map((zj, j) => (j === i ? 0 : Math.exp(dot(z[i]!, zj) / t)));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    const pc = row(zc, ks), pp = row(zp, k);
    for (let j = 0; j < V; j++) if (j !== i) total += -pp[j]! * Math.log(pc[j]!);
  }
  return total / V;
}

test('asymmetric SupCon equals the loop formula; 0 without current-task anchors', async () => {
  await initTf();
  const rng = new Rng(3, 'supcon');
  const V = 8, D = 5;
  const z = randUnit(V, D, rng);
  const y = [0, 1, 2, 0, 0, 1, 2, 0];
  const anchor = y.map((c) => (c === 2 ? 0 : 1));
  const got = tf.tidy(() => asymSupCon(tf.tensor2d(z), Int32Array.from(y), Uint8Array.from(anchor), { tau: 0.5, tauBase: 0.07 }).dataSync()[0]!);
  const want = supConRef(z, y, anchor, 0.5, 0.07);
  assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, Math.abs(want)), `${got} vs ${want}`);
  const none = tf.tidy(() => asymSupCon(tf.tensor2d(z), Int32Array.from(y), new Uint8Array(V), { tau: 0.5, tauBase: 0.07 }).dataSync()[0]!);
  assert.equal(Math.abs(none), 0);
  assert.throws(() => asymSupCon(tf.tensor2d(z), Int32Array.from(y.slice(1)), Uint8Array.from(anchor), { tau: 0.5, tauBase: 0.07 }), /rows/);
});

test('IRD equals the loop formula; with student = teacher and equal temperatures it is the mean row entropy', async () => {
  await initTf();
  const rng = new Rng(4, 'ird');
  const V = 7, D = 4;
  const zc = randUnit(V, D, rng), zp = randUnit(V, D, rng);
  const got = tf.tidy(() => ird(tf.tensor2d(zc), tf.tensor2d(zp), { kappaStar: 0.2, kappa: 0.1 }).dataSync()[0]!);
  const want = irdRef(zc, zp, 0.2, 0.1);
  assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, want), `${got} vs ${want}`);
  const same = tf.tidy(() => ird(tf.tensor2d(zc), tf.tensor2d(zc), { kappaStar: 0.3, kappa: 0.3 }).dataSync()[0]!);
  let ent = 0;
  for (let i = 0; i < V; i++) {
    const e = zc.map((zj, j) => (j === i ? 0 : Math.exp(dot(zc[i]!, zj) / 0.3)));
    const s = e.reduce((a, b) => a + b, 0);
    for (let j = 0; j < V; j++) if (j !== i) ent -= (e[j]! / s) * Math.log(e[j]! / s);
  }
  assert.ok(Math.abs(same - ent / V) < 1e-4, `${same} vs ${ent / V}`);
  // Any other student has a larger cross-entropy (Gibbs).
  const other = tf.tidy(() => ird(tf.tensor2d(zp), tf.tensor2d(zc), { kappaStar: 0.3, kappa: 0.3 }).dataSync()[0]!);
  assert.ok(other > same);
});

test('augmentation: identity without crop, flip and noise; flip mirrors; crop shifts with zero fill', () => {
  const h = 4, w = 5;
  const x = Float32Array.from({ length: 2 * h * w }, (_, i) => i + 1);
  const rng = new Rng(1, 'aug');
  assert.deepEqual(augmentBatch(x, [1, 0], [h, w, 1], rng, { pad: 0, flipProb: 0, noiseStd: 0 }), Float32Array.from([...x.subarray(20), ...x.subarray(0, 20)]));
  const f = augmentBatch(x, [0], [h, w, 1], rng, { pad: 0, flipProb: 1, noiseStd: 0 });
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) assert.equal(f[r * w + c], x[r * w + (w - 1 - c)]);
  const c = augmentBatch(x, [0], [h, w, 1], new Rng(9, 'crop'), { pad: 2, flipProb: 0, noiseStd: 0 });
  // Every non-zero output pixel is a source pixel at one common offset.
  let off: [number, number] | null = null;
  for (let r = 0; r < h; r++) for (let cc = 0; cc < w; cc++) {
    const v = c[r * w + cc]!;
    if (v === 0) continue;
    const sr = Math.floor((v - 1) / w) - r, sc = ((v - 1) % w) - cc;
    off ??= [sr, sc];
    assert.deepEqual([sr, sc], off);
  }
  const n = augmentBatch(x, [0], [h, w, 1], new Rng(2, 'noise'), { pad: 0, flipProb: 0, noiseStd: 0.05 });
  const d = Array.from(n, (v, i) => v - x[i]!);
  assert.ok(d.some((v) => v !== 0) && d.every((v) => Math.abs(v) < 0.5));
});

test('class-balanced buffer: capacity split evenly, remainder to the first classes, short classes kept whole', () => {
  const labels = Int32Array.from([...Array(30).fill(0), ...Array(30).fill(1), ...Array(2).fill(2)]);
  const idx = balancedBufferIndices(labels, 10, new Rng(0, 'buf'));
  const count = (c: number): number => idx.filter((i) => labels[i] === c).length;
  assert.deepEqual([count(0), count(1), count(2)], [4, 3, 2]);
  assert.equal(new Set(idx).size, idx.length);
  assert.deepEqual(balancedBufferIndices(labels, 10, new Rng(0, 'buf')), idx);
  assert.deepEqual(balancedBufferIndices(labels, 0, new Rng(0, 'buf')), []);
});

test('CILA lambda: 0 at task 1, 1 at task 2, then c x cumulative ratio through the chosen clamp', () => {
  const h: TaskLosses[] = [
    { con: 40, conUnscaled: 5.6, dis: 0 },
    { con: 40, conUnscaled: 5.6, dis: 6 },
    { con: 20, conUnscaled: 2.8, dis: 3 },
  ];
  const s = (v: string) => parseSchedule(v);
  assert.deepEqual(lambdaForTask(s('cila:max1:1'), 0, []), { lambda: 0, ratio: null });
  assert.deepEqual(lambdaForTask(s('cila:max1:1'), 1, h.slice(0, 1)), { lambda: 1, ratio: null });
  const r2 = lambdaForTask(s('cila:pure:2'), 2, h.slice(0, 2));
  assert.ok(Math.abs(r2.ratio! - 6 / 40) < 1e-12 && Math.abs(r2.lambda - 2 * 6 / 40) < 1e-12);
  const r3 = lambdaForTask(s('cila:pure:1'), 3, h);
  assert.ok(Math.abs(r3.ratio! - 9 / 60) < 1e-12);
  assert.equal(lambdaForTask(s('cila:max1:1'), 3, h).lambda, 1);
  assert.ok(Math.abs(lambdaForTask(s('cila:min1:1'), 3, h).lambda - 9 / 60) < 1e-12);
  assert.equal(lambdaForTask(s('cila:min1:100'), 3, h).lambda, 1);
  assert.ok(Math.abs(lambdaForTask(s('cila:max1:100'), 3, h).lambda - 100 * 9 / 60) < 1e-9);
  assert.ok(Math.abs(lambdaForTask(s('cila:pure:1:unscaled'), 3, h).ratio! - 9 / 8.4) < 1e-12);
  assert.equal(lambdaForTask(s('0.25'), 3, h).lambda, 0.25);
  assert.throws(() => lambdaForTask(s('cila:pure:1'), 3, h.slice(0, 2)), /needs the losses/);
  assert.throws(() => parseSchedule('cila:foo:1'), /known: pure, min1, max1/);
  assert.throws(() => parseSchedule('abc'), /expected a number/);
});

test('method names map to schedules; unknown names list the known ones', () => {
  assert.deepEqual(methodSchedule('co2l'), { kind: 'fixed', lambda: 1 });
  assert.deepEqual(methodSchedule('co2l-l0'), { kind: 'fixed', lambda: 0 });
  assert.deepEqual(methodSchedule('co2l-l0.25'), { kind: 'fixed', lambda: 0.25 });
  assert.deepEqual(methodSchedule('cila'), { kind: 'cila', variant: 'max1', c: 1, loss: 'scaled' });
  assert.deepEqual(methodSchedule('cila-pure-c0.5-unscaled'), { kind: 'cila', variant: 'pure', c: 0.5, loss: 'unscaled' });
  assert.throws(() => methodSchedule('co2lx'), /known: co2l, co2l-l<lambda>/);
});
