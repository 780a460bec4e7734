// The trainer records top-5 beside top-1 where more than 5 classes are seen, and takes PILOT's
// split names (B0Inc<i>: sessions of i from the start) for the session order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { loadMiniature } from '../../src/continual/data.js';
import { pretrainBackbone } from '../../src/continual/pretrain.js';
import { runCil, seedData } from '../../src/continual/trainer.js';
import { makeLearner } from '../../src/continual/registry.js';
import { labelRange } from '../../src/continual/scenario.js';
import { topKAccuracy } from '../../src/continual/datasets/topk.js';
import { findBareNonFinite } from '../../src/core/record.js';

test('top-5 in the records (null with a reason while 5 or fewer classes are seen); PILOT split names drive the sessions', async () => {
  await initTf();
  const mini = loadMiniature('synthetic', { quick: true });
  const { backbone } = pretrainBackbone(mini, { seed: 0, train: { epochs: 1 } });
  const r = await runCil(mini, backbone, { split: 'B0Inc4', seeds: [2], methods: ['simplecil'] });
  const e = r.runs[0];
  assert.equal(e.acc_matrix.length, 5, 'B0Inc4 on 20 classes: 5 sessions of 4');
  assert.deepEqual(r.runs[0].class_order.length, 20);
  assert.equal(e.top5_per_session!.length, 5);
  assert.equal(e.top5_per_session![0], null, 'session 1 sees 4 classes: top-5 is trivially 100');
  assert.match(e.top5_per_session_reason!, /5 or fewer classes/);
  assert.ok(e.last_acc_top5! >= e.last_acc && e.last_acc_top5! <= 100);
  assert.equal(r.summary.simplecil.last_acc_top5_mean, e.last_acc_top5);
  assert.deepEqual(findBareNonFinite(r), [], 'no NaN or Infinity without a reason');

  // The same number from the learner's scores directly.
  const { scenario, train, test: testSet } = seedData(mini, 'B0Inc4', 2);
  const l = makeLearner('simplecil', { backbone, numClasses: mini.numClasses, seed: 2, rng: new Rng(2, 'cil').split('simplecil') });
  for (const info of scenario.sessions) await l.fitSession({ info, train: labelRange(train, info.newIds[0], info.seen), val: train, valSeen: train });
  const z = l.predict(testSet, 20).get('simplecil')!;
  assert.equal(e.last_acc_top5, topKAccuracy(z, testSet.n, 20, testSet.y, 5));
  assert.equal(e.last_acc, topKAccuracy(z, testSet.n, 20, testSet.y, 1), 'k = 1 is the top-1 of the record');
  // B<b>Inc<i> keeps its sessions; a split that leaves a partial session is refused.
  const b = await runCil(mini, backbone, { split: 'B8Inc4', seeds: [2], methods: ['simplecil'] });
  assert.deepEqual(b.runs[0].top5_per_session!.map((v) => v !== null), [true, true, true, true]);
  await assert.rejects(runCil(mini, backbone, { split: 'B0Inc3', seeds: [2], methods: ['simplecil'] }), /does not divide 20 classes/);
});
