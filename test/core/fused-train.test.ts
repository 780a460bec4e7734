// The one-pass optimisers (FusedAdam, Sgd) and the fused linear (+ ReLU) kernel with its gradient,
// against the stock tfjs ops they replace: tf.train.adam, SGD written as tensor ops, and
// matMul + add + relu with tfjs's own gradients. Tolerances as in tensor.test.ts (1e-4 absolute on
// values of order 1) unless stated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { FusedAdam, Sgd, fusedAdam, linear, softmaxCrossEntropy, useNativeOptimisers, variable } from '../../src/core/nn.js';
import { nativeAddon } from '../../src/core/linalg/index.js';
import { reluGrad } from '../../src/core/kernels/fusedMatMul.js';
import { Rng } from '../../src/core/rng.js';
import { makeFusedLoop } from '../../src/core/bench/train.js';

function randT(shape: number[], rng: Rng, scale = 1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const d = rng.fillNormal(new Float32Array(size));
  for (let i = 0; i < size; i++) d[i] *= scale;
  return tf.tensor(d, shape, 'float32');
}

function maxDiff(x: tf.Tensor | Float32Array, y: tf.Tensor | Float32Array): number {
  const a = x instanceof Float32Array ? x : x.dataSync(), b = y instanceof Float32Array ? y : y.dataSync();
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A 6-5-3 MLP's parameters (PyTorch layout), the same values each call. */
function mlpParams(tag: string): tf.Variable[] {
  const rng = new Rng(7, 'fused-train');
  const mk = (name: string, shape: number[], scale: number): tf.Variable => {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = rng.fillNormal(new Float32Array(n));
    for (let i = 0; i < n; i++) d[i] *= scale;
    return variable(`${tag}_${name}`, shape, d);
  };
  return [mk('w1', [5, 6], 0.5), mk('b1', [5], 0.1), mk('w2', [3, 5], 0.5), mk('b2', [3], 0.1)];
}

function mlpLoss(p: tf.Variable[], x: tf.Tensor, y: tf.Tensor, fused: boolean): tf.Scalar {
  const [w1, b1, w2, b2] = p as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const h = fused ? linear(x, w1, b1, 'relu') : tf.relu(tf.add(tf.matMul(x, w1, false, true), b1));
  const logits = fused ? linear(h, w2, b2) : tf.add(tf.matMul(h, w2, false, true), b2);
  return fused ? softmaxCrossEntropy(y, logits) : tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

test('softmaxCrossEntropy: the value of tf.losses.softmaxCrossEntropy; the exact gradients of logits and labels', async () => {
  await initTf();
  const rng = new Rng(5, 'xent');
  const logits = randT([7, 5], rng, 3);
  // One-hot rows and soft rows (not summing to 1) alike.
  const labels = tf.concat([tf.oneHot(tf.tensor1d([0, 4, 2, 2], 'int32'), 5).toFloat(), tf.abs(randT([3, 5], rng))]);
  const ours = softmaxCrossEntropy(labels, logits), want = tf.losses.softmaxCrossEntropy(labels, logits);
  assert.ok(Math.abs(ours.dataSync()[0]! - want.dataSync()[0]!) < 1e-5, `${ours.dataSync()[0]} vs ${want.dataSync()[0]}`);
  const f = (loss: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => tf.grads((a, b) => tf.mul(loss(a!, b!), 2.5));
  // tfjs's loss has a custom gradient that is exact for the logits only when each label row sums
  // to 1 (and gives labels - softmax for the labels); the loss written as plain ops is the reference.
  const plain = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.mean(tf.neg(tf.sum(tf.mul(a, tf.logSoftmax(b)), 1)));
  const go = f((a, b) => softmaxCrossEntropy(a, b))([labels, logits]);
  const gp = f(plain)([labels, logits]);
  for (let i = 0; i < 2; i++) assert.ok(maxDiff(go[i]!, gp[i]!) < 1e-5, `gradient ${i}: ${maxDiff(go[i]!, gp[i]!)}`);
  const oneHot = labels.slice([0, 0], [4, 5]), z4 = logits.slice([0, 0], [4, 5]);
  const [, gTf] = f((a, b) => tf.losses.softmaxCrossEntropy(a, b))([oneHot, z4]);
  const [, gOurs] = f((a, b) => softmaxCrossEntropy(a, b))([oneHot, z4]);
  assert.ok(maxDiff(gOurs!, gTf!) < 1e-5, 'one-hot rows: the logits gradient of tfjs');
  assert.throws(() => softmaxCrossEntropy(labels, randT([7, 4], rng)), /PerennialSoftmaxXent: needs float32 labels and logits of one 2-D shape/);
  tf.dispose([logits, labels, ours, want, oneHot, z4, gTf!, gOurs!, ...go, ...gp]);
});

test('linear (+ relu) matches matMul + add + relu in value and in the gradients of x, W and b', async () => {
  await initTf();
  const rng = new Rng(1, 'linear');
  for (const act of ['linear', 'relu'] as const) {
    for (const shape of [[9, 7], [2, 4, 7]]) {
      for (const withBias of [true, false]) {
        const x = randT(shape, rng), w = randT([5, 7], rng), b = randT([5], rng);
        const ref = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor): tf.Tensor => {
          let y = tf.matMul(xx.reshape([-1, 7]), ww as tf.Tensor2D, false, true);
          if (withBias) y = tf.add(y, bb);
          if (act === 'relu') y = tf.relu(y);
          return y.reshape([...shape.slice(0, -1), 5]);
        };
        const ours = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor): tf.Tensor => linear(xx, ww, withBias ? bb : undefined, act);
        const yo = ours(x, w, b), yr = ref(x, w, b);
        assert.deepEqual(yo.shape, yr.shape);
        assert.ok(maxDiff(yo, yr) < 1e-5, `${act} ${shape} bias ${withBias}: value`);
        // Weight the output so every entry's gradient differs.
        const wgt = randT(yr.shape, rng);
        const args = withBias ? [x, w, b] : [x, w];
        const go = tf.grads((a, c, d) => tf.sum(tf.mul(ours(a!, c!, d ?? b), wgt)))(args);
        const gr = tf.grads((a, c, d) => tf.sum(tf.mul(ref(a!, c!, d ?? b), wgt)))(args);
        for (let i = 0; i < args.length; i++) {
          assert.deepEqual(go[i]!.shape, gr[i]!.shape);
          assert.ok(maxDiff(go[i]!, gr[i]!) < 1e-4, `${act} ${shape} bias ${withBias}: gradient ${i} differs by ${maxDiff(go[i]!, gr[i]!)}`);
        }
        tf.dispose([x, w, b, yo, yr, wgt, ...go, ...gr]);
      }
    }
  }
});

test('reluGrad is dy * step(y), zero where y is 0', async () => {
  await initTf();
  const rng = new Rng(2, 'relugrad');
  const dy = randT([4, 33], rng), y = tf.relu(randT([4, 33], rng));
  const want = tf.mul(dy, tf.step(y));
  const got = reluGrad(dy, y);
  assert.equal(maxDiff(got, want), 0);
  assert.throws(() => reluGrad(dy, tf.zeros([3])), /PerennialReluGrad: needs float32 dy and y of one size/);
  tf.dispose([dy, y, want, got]);
});

// With the addon the loops run compiled; the paths without it (tensor ops; FusedAdam through
// tf.train.adam) are checked too.
const loopKinds = nativeAddon()?.adamTfjs ? [true, false] : [false];

for (const nativeLoops of loopKinds) test(`FusedAdam (${nativeLoops ? 'compiled loop' : 'handing updates to tf.train.adam'}) trains an MLP to the weights tf.train.adam reaches (8 steps), through minimize`, async () => {
  await initTf();
  useNativeOptimisers(nativeLoops);
  try {
  const rng = new Rng(3, 'adam');
  const x = randT([16, 6], rng);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: 16 }, (_v, i) => i % 3), 'int32'), 3).toFloat();
  const stockP = mlpParams('stock'), oursP = mlpParams('ours');
  const stock = tf.train.adam(0.05), ours = fusedAdam(0.05);
  assert.ok(ours instanceof FusedAdam && ours instanceof tf.Optimizer);
  for (let s = 0; s < 8; s++) {
    stock.minimize(() => mlpLoss(stockP, x, y, false), false, stockP);
    ours.minimize(() => mlpLoss(oursP, x, y, true), false, oursP);
  }
  let moved = 0;
  const init = mlpParams('init');
  for (let i = 0; i < 4; i++) {
    moved = Math.max(moved, maxDiff(oursP[i]!, init[i]!));
    assert.ok(maxDiff(oursP[i]!, stockP[i]!) < 1e-4, `parameter ${i}: ${maxDiff(oursP[i]!, stockP[i]!)}`);
  }
  assert.ok(moved > 0.05, `training moved the weights (${moved})`);
  assert.equal(ours.iterations, 8);
  // Moments round-trip through getWeights/setWeights.
  const wts = await ours.getWeights();
  assert.equal(wts.length, 1 + 2 * 4);
  const again = fusedAdam(0.05);
  await again.setWeights(wts);
  assert.equal(again.iterations, 8);
  tf.dispose([x, y, ...stockP, ...oursP, ...init, ...wts.map((w) => w.tensor)]);
  stock.dispose(); ours.dispose(); again.dispose();
  } finally {
    useNativeOptimisers(true);
  }
});

test('the optimisers leave a tensor that shares a parameter\'s data untouched', async () => {
  await initTf();
  const v = variable('shared', [4], Float32Array.from([1, 2, 3, 4]));
  const alias = tf.clone(v);  // perennial's Identity kernel shares v's data (kernels/engine.ts)
  const before = Float32Array.from(alias.dataSync());
  const opt = fusedAdam(0.1);
  opt.applyGradients({ [v.name]: tf.ones([4]) });
  const sgd = new Sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0 });
  sgd.step(new Map([[v, tf.ones([4])]]));
  assert.equal(maxDiff(alias, before), 0, 'the alias kept its values');
  assert.ok(maxDiff(v, before) > 0.15, 'the parameter moved');
  tf.dispose([v, alias]);
});

for (const nativeLoops of loopKinds) test(`Sgd (${nativeLoops ? 'compiled loop' : 'tensor ops'}; momentum, weight decay, per-step lr) matches the same update written as tensor ops`, async () => {
  await initTf();
  useNativeOptimisers(nativeLoops);
  try {
  const rng = new Rng(4, 'sgd');
  const opts = { lr: 0.1, momentum: 0.9, weightDecay: 5e-3 };
  const p0 = randT([3, 5], rng);
  const v = variable('sgd_v', [3, 5], Float32Array.from(p0.dataSync()));
  let refP = p0.clone(), refBuf = tf.zerosLike(p0);
  const sgd = new Sgd(opts);
  for (let s = 0; s < 5; s++) {
    const lr = 0.1 / (s + 1);
    const g = randT([3, 5], rng);
    sgd.step(new Map([[v, g]]), lr);
    const gg = tf.add(g, tf.mul(refP, opts.weightDecay));
    const nb = tf.add(tf.mul(refBuf, opts.momentum), gg);
    const np = tf.sub(refP, tf.mul(nb, lr));
    tf.dispose([refP, refBuf, gg, g]);
    refP = np; refBuf = nb;
  }
  assert.ok(maxDiff(v, refP) < 1e-6, `${maxDiff(v, refP)}`);
  tf.dispose([p0, v, refP, refBuf]);
  sgd.dispose();
  } finally {
    useNativeOptimisers(true);
  }
});

test('the bench\'s fused loop leaves no tensor behind', async () => {
  await initTf();
  const x = tf.zeros([128, 784]) as tf.Tensor2D, y = tf.oneHot(tf.zeros([128], 'int32') as tf.Tensor1D, 10).toFloat() as tf.Tensor2D;
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const l = makeFusedLoop([{ x, y }], new Rng(2));
    l.run(2);
    l.dispose();
    assert.equal(tf.memory().numTensors, before);
  }
  tf.dispose([x, y]);
});
