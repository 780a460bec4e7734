// The linear probe, the image rotation, the rotated (domain-incremental) stream and the lambda grid
// chosen on validation (co2l-val).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { imagePatterns } from '../../src/core/data/synthetic.js';
import { co2lOptions, expandMethods, linearProbe, runCo2l, runCo2lSeed, methodSchedule, LAMBDA_GRID } from '../../src/continual/methods/co2l.js';
import { rotateImage, rotatedSeedData } from '../../src/continual/parts/streams.js';

function blobs(seed: number, n: number, dim: number, classes: number, sep: number): { f: Float32Array; y: Int32Array } {
  const r = new Rng(seed, 'blobs');
  const cr = r.split('centres');
  const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, () => sep * cr.normal()));
  const f = new Float32Array(n * dim), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let j = 0; j < dim; j++) f[i * dim + j] = centres[c]![j]! + r.normal();
  }
  return { f, y };
}

const probeOpts = { probeEpochs: 40, probeLr: 1e-2, probeBatchSize: 32, probeStandardize: true };

test('linear probe: learns separable classes, picks its epoch on validation, and standardisation removes per-feature scale and shift', () => {
  const dim = 12, C = 4;
  // One draw (same centres) split into training, validation and test rows.
  const all = blobs(1, 400, dim, C, 1.5);
  const train = { f: all.f.subarray(0, 200 * dim), y: all.y.subarray(0, 200) };
  const val = { f: all.f.subarray(200 * dim, 280 * dim), y: all.y.subarray(200, 280) };
  const testF = all.f.subarray(280 * dim);
  const r = linearProbe(train, val, testF, dim, C, probeOpts, new Rng(4, 'probe'));
  assert.ok(r.valAcc > 90, `validation accuracy ${r.valAcc}`);
  assert.ok(r.bestEpoch >= 1 && r.bestEpoch <= 40);
  let correct = 0;
  for (let i = 0; i < 120; i++) {
    let b = 0;
    for (let c = 1; c < C; c++) if (r.testLogits[i * C + c]! > r.testLogits[i * C + b]!) b = c;
    if (b === all.y[280 + i]) correct++;
  }
  assert.ok(correct / 120 > 0.9, `test accuracy ${correct / 120}`);
  // Affine rescaling of each feature leaves the standardised probe's predictions (almost) unchanged.
  const scale = (f: Float32Array): Float32Array => f.map((v, i) => 50 * (1 + (i % dim)) * v + 7 * (i % dim));
  const r2 = linearProbe({ f: scale(train.f), y: train.y }, { f: scale(val.f), y: val.y }, scale(testF), dim, C, probeOpts, new Rng(4, 'probe'));
  assert.ok(Math.abs(r2.valAcc - r.valAcc) < 1e-9);
  const argmax = (z: Float32Array, i: number): number => { let b = 0; for (let c = 1; c < C; c++) if (z[i * C + c]! > z[i * C + b]!) b = c; return b; };
  let agree = 0;
  for (let i = 0; i < 120; i++) if (argmax(r.testLogits, i) === argmax(r2.testLogits, i)) agree++;
  assert.ok(agree >= 118, `${agree}/120 predictions agree`);
  assert.throws(() => linearProbe({ f: train.f, y: Int32Array.from(train.y, (v) => v + 4) }, val, testF, dim, C, probeOpts, new Rng(1)), /label 4 outside 0..3/);
});

test('rotateImage: 0 degrees is the identity, 90 degrees is the exact index rotation, four quarter turns return the image', () => {
  const h = 6, w = 6;
  const img = Float32Array.from({ length: h * w }, (_, i) => (i * 7919) % 13);
  assert.deepEqual(Array.from(rotateImage(img, h, w, 0)), Array.from(img));
  const q = rotateImage(img, h, w, 90);
  // Inverse map: out(y, x) = src(y' = -(x - c) + c... ): compare with the explicit quarter turn.
  const c = (w - 1) / 2;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const sx = (y - c) + c, sy = -(x - c) + c;
    assert.ok(Math.abs(q[y * w + x]! - img[Math.round(sy) * w + Math.round(sx)]!) < 1e-4);
  }
  let r = img;
  for (let k = 0; k < 4; k++) r = rotateImage(r, h, w, 90);
  for (let i = 0; i < img.length; i++) assert.ok(Math.abs(r[i]! - img[i]!) < 1e-4);
  // A rotation by 45 degrees keeps the centre pixel's neighbourhood mass but changes the image.
  assert.notDeepEqual(Array.from(rotateImage(img, h, w, 45)), Array.from(img));
});

test('rotated stream: labels domain x C + class, per-task angles from the seed, the probe scores classes per domain; co2l-val picks the grid lambda on validation', async () => {
  await initTf();
  const r = new Rng(3, 'rot-test');
  const train = imagePatterns({ classes: 3, perClass: 40, size: 8, noise: 0.1 }, r, 'train');
  const test = imagePatterns({ classes: 3, perClass: 12, size: 8, noise: 0.1 }, r, 'test');
  const ro = { tasks: 3, perClassTrain: 10, perClassVal: 4, perClassTest: 6, maxAngle: 180 };
  const d = rotatedSeedData(train, test, 7, ro);
  assert.equal(d.domainClasses, 3);
  assert.equal(d.scenario.sessions.length, 3);
  assert.deepEqual(d.scenario.classOrder, Array.from({ length: 9 }, (_, i) => i));
  assert.equal(d.train.n, 3 * 3 * 10);
  assert.equal(d.test.n, 3 * 3 * 6);
  assert.ok(d.angles.every((a) => a >= 0 && a < 180));
  assert.notDeepEqual(d.angles, rotatedSeedData(train, test, 8, ro).angles);
  for (let i = 0; i < d.train.n; i++) assert.equal(Math.floor(d.train.y[i]! / 3), Math.floor(i / 30));
  // Validation rows do not depend on the training seed's draw (fixed pool), only their rotation does.
  assert.equal(d.val.n, 3 * 3 * 4);
  const o = co2lOptions({ encoder: 'mlp', mlpHidden: [16], featureDim: 16, projHidden: 16, projDim: 8, batchSize: 32, epochsFirst: 2, epochsLater: 2, bufferSize: 9, probeEpochs: 10, probeLr: 1e-2, lr: 1e-2 });
  const res = await runCo2lSeed(d, methodSchedule('co2l'), o, 7);
  const tri = res.matrix.triangle();
  assert.equal(tri.length, 3);
  // Probe over 3 classes: chance is 33 %; the first domain is learned.
  assert.ok(tri[0]![0]! > 50, `first-domain accuracy ${tri[0]![0]}`);
  assert.ok(res.params > 0 && !JSON.stringify(res.tasks).includes('null,null,null,null'));
  assert.throws(() => co2lOptions({ encoder: 'rnn' as never }), /encoder must be cnn or mlp/);
  assert.deepEqual(expandMethods(['co2l-val', 'cila']), [...LAMBDA_GRID.map((l) => (l === 1 ? 'co2l' : `co2l-l${l}`)), 'cila']);
  const run = await runCo2l({ train, test, dataset: 'patterns', split: 'rotated-3', seeds: [7], methods: ['co2l-val'], options: { ...o, epochsFirst: 1, epochsLater: 1 }, perClassTrain: 10, perClassVal: 4, numClasses: 3, rotated: ro });
  const sweep = run.runs.find((e) => e.method === 'co2l-val')!;
  const grid = run.runs.filter((e) => e.method !== 'co2l-val');
  assert.equal(grid.length, LAMBDA_GRID.length);
  const lastVal = (e: typeof sweep): number => e.probe_val_acc_per_task[e.probe_val_acc_per_task.length - 1]!;
  assert.equal(lastVal(sweep), Math.max(...grid.map(lastVal)));
  assert.ok(LAMBDA_GRID.includes(sweep.chosen_lambda!));
  assert.equal(sweep.last_acc, grid.find((e) => e.lambda_per_task[1] === sweep.chosen_lambda)!.last_acc);
});
