// The loss of the shared PET training loop (continual/pet-train.ts): cosine logits and the
// cross-entropy against integer labels give tf.losses.softmaxCrossEntropy(tf.oneHot(y), logits) of
// the composed cosine logits, in value and in the gradients of the features and the head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { cosineLogits, createCosineHead, l2normalize, labelCrossEntropy } from '../../src/continual/pet-train.js';
import { assignValues } from '../../src/core/nn.js';

test('labelCrossEntropy of cosineLogits equals tfjs\'s loss of the composed logits, value and gradients', async () => {
  await initTf();
  const rng = new Rng(9, 'pet-loss');
  const n = 12, d = 8, classes = 6, seen = 4;
  const head = createCosineHead(classes, d);
  assignValues(head.weight, rng.fillNormal(new Float32Array(classes * d)));
  const f = tf.tensor2d(rng.fillNormal(new Float32Array(n * d)), [n, d]);
  const y = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => (i * 7) % seen), 'int32');
  const ours = (a: tf.Tensor, w: tf.Tensor, s: tf.Tensor) => labelCrossEntropy(y, seen, cosineLogits({ weight: w as tf.Variable, scale: s as tf.Variable }, a, seen));
  const stock = (a: tf.Tensor, w: tf.Tensor, s: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, seen), tf.matMul(l2normalize(a), l2normalize(w.slice([0, 0], [seen, -1])), false, true).mul(s));
  const v1 = ours(f, head.weight, head.scale).dataSync()[0]!, v2 = stock(f, head.weight, head.scale).dataSync()[0]!;
  assert.ok(v1 > 0.1, `a real loss (${v1})`);
  assert.ok(Math.abs(v1 - v2) < 1e-5, `${v1} vs ${v2}`);
  const g1 = tf.grads(ours as (...t: tf.Tensor[]) => tf.Tensor)([f, head.weight, head.scale]);
  const g2 = tf.grads(stock as (...t: tf.Tensor[]) => tf.Tensor)([f, head.weight, head.scale]);
  for (let k = 0; k < 3; k++) {
    const a = g1[k]!.dataSync(), b = g2[k]!.dataSync();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5 * Math.max(1, Math.abs(b[i]!)), `gradient ${k}[${i}]: ${a[i]} vs ${b[i]}`);
  }
  tf.dispose([f, y, head.weight, head.scale, ...g1, ...g2]);
});
