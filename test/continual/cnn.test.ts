import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { SmallCnn, conv3x3ByPatches, REFERENCE_CNN } from '../../src/continual/backbones/cnn.js';
import { transferLoss } from '../../src/continual/methods/safe.js';

test('conv by patches equals tf.conv2d with PyTorch padding 1, strides 1 and 2', async () => {
  await initTf();
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 5], 0, 1, 'float32', 2) as tf.Tensor4D;
  for (const s of [1, 2] as const) {
    const ref = tf.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), w, s, 'valid');
    const got = conv3x3ByPatches(x, w, s);
    assert.deepEqual(got.shape, ref.shape);
    assert.ok(tf.max(tf.abs(got.sub(ref))).dataSync()[0]! < 1e-4, `stride ${s}`);
  }
});

test('reference CNN: 64-D features, SSF identity at init, a training step changes kernels and BN statistics', async () => {
  await initTf();
  const cnn = new SmallCnn(REFERENCE_CNN, 0);
  assert.equal(cnn.featureDim, 64);
  const x = tf.randomUniform([4, 784], 0, 1, 'float32', 3) as tf.Tensor2D;
  const f = cnn.forward(x);
  assert.deepEqual(f.shape, [4, 64]);
  const pet = cnn.createPet({ ssf: true }, new Rng(0));
  assert.ok(tf.max(tf.abs(cnn.forward(x, { pet }).sub(f))).dataSync()[0]! < 1e-6);
  const w = cnn.params.get('blocks.0.conv.weight')!;
  const before = w.dataSync().slice();
  const { grads } = tf.variableGrads(() => cnn.forward(x, { training: true }).square().mean() as tf.Scalar, [w]);
  assert.ok(grads[w.name]!.abs().sum().dataSync()[0]! > 0);
  w.assign(w.sub(grads[w.name]!.mul(0.1)));
  cnn.commitBatchStats();
  assert.notDeepEqual(w.dataSync(), before);
  assert.ok(cnn.params.get('blocks.0.bn.running_mean')!.abs().sum().dataSync()[0]! > 0);
  assert.throws(() => cnn.createPet({ vpt: { tokens: 1 } }, new Rng(0)), /only SSF/);
});

test('SAFE transfer loss: zero diagonal error for identical batch-standardised features, larger for unrelated ones', async () => {
  await initTf();
  const a = tf.randomNormal([64, 8], 0, 1, 'float32', 5) as tf.Tensor2D;
  const b = tf.randomNormal([64, 8], 0, 1, 'float32', 6) as tf.Tensor2D;
  const same = transferLoss(a, a, { lambdaDiag: 1, lambdaRdn: 0, transferNorm: 'batch' }).dataSync()[0]!;
  const diff = transferLoss(a, b, { lambdaDiag: 1, lambdaRdn: 0, transferNorm: 'batch' }).dataSync()[0]!;
  assert.ok(same < 1e-3, `same ${same}`);
  assert.ok(diff > 1, `diff ${diff}`);
  // Per-sample normalisation: the diagonal sums to the mean cosine (<= 1), so the diagonal target is out of reach.
  const sample = transferLoss(a, a, { lambdaDiag: 1, lambdaRdn: 0, transferNorm: 'sample' }).dataSync()[0]!;
  assert.ok(sample > 1, `sample ${sample}`);
});

test('trainable conv: value and gradients equal the slices + matmul formulation', async () => {
  await initTf();
  const { conv3x3Trainable } = await import('../../src/continual/backbones/cnn.js');
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 8) as tf.Tensor4D;
  const r = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 9);
  for (const s of [1, 2]) {
    const rr = s === 2 ? r.slice([0, 0, 0, 0], [2, 4, 4, 4]) : r;
    const loss = (f: typeof conv3x3Trainable) => (a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor4D, b as tf.Tensor4D, s).mul(rr).sum();
    const [gx1, gw1] = tf.grads(loss(conv3x3Trainable))([x, w]);
    const [gx2, gw2] = tf.grads(loss(conv3x3ByPatches))([x, w]);
    assert.ok(tf.max(tf.abs(gx1!.sub(gx2!))).dataSync()[0]! < 1e-3, `dx stride ${s}`);
    assert.ok(tf.max(tf.abs(gw1!.sub(gw2!))).dataSync()[0]! < 1e-3, `dw stride ${s}`);
  }
});
