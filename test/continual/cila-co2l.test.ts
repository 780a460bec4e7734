// Co2L training on a tiny synthetic image stream: CILA reproduces Co2L (lambda = 1) bit for bit
// wherever its clamp binds, a binding-free variant differs, and the record logs lambda and ratios.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { imagePatterns } from '../../src/core/data/synthetic.js';
import { co2lOptions, runCo2l, runCo2lSeed, methodSchedule } from '../../src/continual/methods/co2l.js';
import { co2lSeedData, co2lSeedIndices } from '../../src/continual/parts/streams.js';
import { subset } from '../../src/core/data/dataset.js';
import { remapDataset } from '../../src/continual/scenario.js';

const opts = co2lOptions({ channels: [4, 8], featureDim: 16, projHidden: 16, projDim: 8, batchSize: 32, epochsFirst: 4, epochsLater: 1, bufferSize: 12, probeEpochs: 8, probeLr: 1e-2, lr: 1e-2 });

const SPLIT = { perClassTrain: 24, perClassVal: 10, numClasses: 6, base: 2, increment: 2 };

function raw() {
  const r = new Rng(11, 'co2l-test');
  const train = imagePatterns({ classes: 6, perClass: 34, size: 12, noise: 0.1 }, r, 'train');
  const test = imagePatterns({ classes: 6, perClass: 15, size: 12, noise: 0.1 }, r, 'test');
  return { train, test };
}

function data(seed: number) {
  const { train, test } = raw();
  return co2lSeedData(train, test, seed, SPLIT);
}

test('co2lSeedIndices names exactly the rows and class order of co2lSeedData (what the PyTorch port reads)', () => {
  const { train, test } = raw();
  for (const seed of [0, 3]) {
    const d = co2lSeedData(train, test, seed, SPLIT);
    const ix = co2lSeedIndices(train, seed, SPLIT);
    assert.deepEqual(ix.classOrder, [...d.scenario.classOrder]);
    assert.equal(ix.train.length, 6 * 24);
    assert.equal(ix.val.length, 6 * 10);
    assert.equal(new Set([...ix.train, ...ix.val]).size, ix.train.length + ix.val.length, 'training and validation rows are disjoint');
    for (const [part, idx] of [[d.train, ix.train], [d.val, ix.val]] as const) {
      const mine = remapDataset(subset(train, idx), ix.classOrder);
      assert.deepEqual(Array.from(mine.y), Array.from(part.y));
      assert.deepEqual(Array.from(mine.x), Array.from(part.x));
    }
  }
  // Another seed draws other training rows (here 20 of the 24 left per class) from the same validation split.
  const fewer = { ...SPLIT, perClassTrain: 20 };
  const a = co2lSeedIndices(train, 0, fewer), b = co2lSeedIndices(train, 3, fewer);
  assert.deepEqual(a.val, b.val);
  assert.notDeepEqual(a.train, b.train);
});

test('CILA max(1, c ratio) with a binding clamp reproduces Co2L lambda = 1 exactly; the pure ratio does not', async () => {
  await initTf();
  const d = data(5);
  const a = await runCo2lSeed(d, methodSchedule('co2l'), opts, 5, { keepSnapshot: true });
  const b = await runCo2lSeed(d, methodSchedule('cila-max1-c0.5'), opts, 5, { keepSnapshot: true });
  const c = await runCo2lSeed(d, methodSchedule('cila-pure-c0.5'), opts, 5, { keepSnapshot: true });
  assert.deepEqual(b.tasks.map((t) => t.lambda), [0, 1, 1]);
  const ratio = b.tasks[2]!.lossRatio!;
  assert.ok(ratio > 0 && 0.5 * ratio < 1, `the clamp must bind in this setting (c x ratio = ${0.5 * ratio})`);
  assert.deepEqual(Array.from(b.snapshot!), Array.from(a.snapshot!));
  assert.deepEqual(b.matrix.triangle(), a.matrix.triangle());
  assert.deepEqual(a.tasks.map((t) => t.lossRatio), [null, null, null]);
  // The pure variant uses lambda = 0.5 x ratio at task 3, so its weights must differ from Co2L's.
  assert.ok(Math.abs(c.tasks[2]!.lambda - 0.5 * c.tasks[2]!.lossRatio!) < 1e-12);
  assert.notDeepEqual(Array.from(c.snapshot!), Array.from(a.snapshot!));
  // Losses are logged, the contrastive one also without the tau/tauBase factor.
  for (const t of a.tasks) assert.ok(Math.abs(t.losses.conUnscaled - t.losses.con * 0.07 / 0.5) < 1e-9);
  assert.equal(a.tasks[0]!.losses.dis, 0);
  assert.ok(a.tasks[1]!.losses.dis > 0);
});

test('runCo2l: record shape of `cil run` plus lambda_per_task and loss_ratio_per_task; the probe learns', async () => {
  await initTf();
  const r = new Rng(11, 'co2l-test');
  const train = imagePatterns({ classes: 6, perClass: 34, size: 12, noise: 0.1 }, r, 'train');
  const test = imagePatterns({ classes: 6, perClass: 15, size: 12, noise: 0.1 }, r, 'test');
  const res = await runCo2l({ train, test, dataset: 'patterns', split: 'B2Inc2', seeds: [1], methods: ['cila-pure', 'cila-max1-c0.5', 'co2l'], options: opts, perClassTrain: 24, perClassVal: 10, numClasses: 6 });
  assert.deepEqual(Object.keys(res.summary).sort(), ['cila-max1-c0.5', 'cila-pure', 'co2l']);
  // The binding clamp is detected from Co2L's logged losses: the entry is Co2L's run (first test: bit-identical), not retrained.
  const bound = res.runs.find((e) => e.method === 'cila-max1-c0.5')!, base = res.runs.find((e) => e.method === 'co2l')!;
  assert.equal(bound.derived_from, 'co2l');
  assert.deepEqual(bound.acc_matrix, base.acc_matrix);
  assert.deepEqual(bound.lambda_per_task, [0, 1, 1]);
  assert.ok(bound.loss_ratio_per_task[2]! > 0 && 0.5 * bound.loss_ratio_per_task[2]! < 1);
  assert.equal(res.runs.find((e) => e.method === 'cila-pure')!.derived_from, undefined);
  for (const e of res.runs) {
    assert.equal(e.acc_matrix.length, 3);
    assert.equal(e.lambda_per_task.length, 3);
    assert.equal(e.loss_ratio_per_task.length, 3);
    assert.equal(e.group_acc.length, 3);
    assert.ok(e.probe_epoch_per_task.every((p) => p >= 1 && p <= 8));
    // After the first task (2 classes) the probe is well above chance (50 %).
    assert.ok(e.acc_matrix[0]![0]! > 65, `first-task accuracy ${e.acc_matrix[0]![0]}`);
  }
  assert.equal(res.runs.find((e) => e.method === 'cila-pure')!.loss_ratio_per_task[2] !== null, true);
  assert.throws(() => co2lOptions({ tau: 0 }), /tau must be positive/);
  assert.throws(() => co2lOptions({ lambda: 1 } as never), /Co2L options: unknown option "lambda"; known:/);
});
