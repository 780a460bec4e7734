import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { fairnessLoss, runSemisup } from '../../src/info/semisup.js';

test('FreeMatch fairness loss: the value of a hand computation, with 1/0 replaced by 0', async () => {
  await initTf();
  // argmax 0, 0, 2 -> h = (2/3, 0, 1/3); mean p = (0.4667, 0.2667, 0.2667); mean/h = (0.7, 0, 0.8) -> q = (0.4667, 0, 0.5333).
  // p~ / h~ = (1, 1.2, 0.8) -> r = (1/3, 0.4, 0.2667).
  const probs = tf.tensor2d([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.3, 0.6]]);
  const got = fairnessLoss(probs, [0.5, 0.3, 0.2], [0.5, 0.25, 0.25]).dataSync()[0];
  const want = (1 / 3) * Math.log(0.7 / 1.5 + 1e-12) + 0.4 * Math.log(1e-12) + (0.8 / 3) * Math.log(0.8 / 1.5 + 1e-12);
  assert.ok(Math.abs(got - want) < 1e-5 * Math.abs(want), `${got} vs ${want}`);
  // Every class predicted once, uniform EMAs: q = mean p / (1/3) normalised = mean p, r uniform: L = mean_c log(mean p_c).
  const p2 = tf.tensor2d([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]]);
  const mp = [1.1 / 3, 0.8 / 3, 1.1 / 3];
  const got2 = fairnessLoss(p2, [1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]).dataSync()[0];
  const want2 = mp.reduce((s, v) => s + Math.log(v + 1e-12) / 3, 0);
  assert.ok(Math.abs(got2 - want2) < 1e-6, `${got2} vs ${want2}`);
  assert.throws(() => fairnessLoss(p2, [0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]), /3 classes/);
  tf.dispose([probs, p2]);
});

test('semisup: options are checked before any data is read', async () => {
  await assert.rejects(() => runSemisup({ dataset: 'cifar' as never, steps: 1 }), /--dataset must be one of/);
  await assert.rejects(() => runSemisup({ lambdaFair: -1, steps: 1 }), /weights must be >= 0/);
});
