// core/bn: the fused batch norm + ReLU kernels against the composed tfjs ops (values, batch
// statistics, gradients in x, gamma and beta), a float64 loop for the forward pass, ReLU edge
// cases, no leaked tensors, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { batchNormReluEval, batchNormReluTrain } from '../../src/core/bn.js';
import { InputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';

await initTf();
const EPS = 1e-5;

function rand(rng: Rng, n: number, scale = 1, shift = 0): Float32Array {
  return Float32Array.from({ length: n }, () => shift + scale * rng.normal());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The composed formulation: what the kernels replace. */
function composed(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, stats: { mean: tf.Tensor; variance: tf.Tensor } | null): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = stats ?? tf.moments(x, axes);
  return tf.relu(x.sub(mean).mul(tf.rsqrt(variance.add(EPS))).mul(gamma).add(beta));
}

const SHAPES: number[][] = [[4, 5, 5, 3], [2, 3, 7], [9, 1], [1, 2, 2, 6]];

for (const shape of SHAPES) {
  test(`training mode ${shape.join('x')}: values, batch statistics and gradients equal the composed ops`, () => {
    const rng = new Rng(shape.length * 100 + shape[0]!, 'bn');
    const C = shape[shape.length - 1]!, n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(rand(rng, n, 2, 0.5), shape);
    const gamma = tf.tensor1d(rand(rng, C, 0.5, 1)), beta = tf.tensor1d(rand(rng, C, 0.5));
    const up = tf.tensor(rand(rng, n), shape);
    const before = tf.memory().numTensors;
    const v = tf.tidy(() => {
      const ours = batchNormReluTrain(x, gamma, beta, EPS);
      const { mean, variance } = tf.moments(x, shape.slice(0, -1).map((_, i) => i));
      const gOurs = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormReluTrain(a, g, b, EPS).y.mul(up).sum())([x, gamma, beta]);
      const gRef = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => composed(a, g, b, null).mul(up).sum())([x, gamma, beta]);
      return {
        y: maxAbsDiff(ours.y.dataSync(), composed(x, gamma, beta, null).dataSync()),
        mean: maxAbsDiff(ours.mean.dataSync(), mean.dataSync()),
        variance: maxAbsDiff(ours.variance.dataSync(), variance.dataSync()),
        grads: [0, 1, 2].map((i) => maxAbsDiff(gOurs[i]!.dataSync(), gRef[i]!.dataSync())),
      };
    });
    assert.ok(v.y < 1e-5, `y differs by ${v.y}`);
    assert.ok(v.mean < 1e-5, `mean differs by ${v.mean}`);
    assert.ok(v.variance < 1e-5, `variance (biased) differs by ${v.variance}`);
    v.grads.forEach((d, i) => assert.ok(d < 2e-4, `${['dx', 'dgamma', 'dbeta'][i]} differs by ${d}`));
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    tf.dispose([x, gamma, beta, up]);
  });
}

test('evaluation mode: values and gradients equal the composed ops; running statistics get zero gradient', () => {
  const rng = new Rng(7, 'bn-eval');
  const shape = [3, 4, 4, 5], C = 5, n = 240;
  const x = tf.tensor(rand(rng, n), shape);
  const gamma = tf.tensor1d(rand(rng, C, 0.5, 1)), beta = tf.tensor1d(rand(rng, C, 0.5));
  const mean = tf.tensor1d(rand(rng, C, 0.3)), variance = tf.tensor1d(rand(rng, C, 0.2, 1).map(Math.abs));
  const up = tf.tensor(rand(rng, n), shape);
  const y = batchNormReluEval(x, gamma, beta, mean, variance, EPS);
  const ref = composed(x, gamma, beta, { mean, variance });
  assert.ok(maxAbsDiff(y.dataSync(), ref.dataSync()) < 1e-5);
  const f = (stat: boolean) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, m: tf.Tensor, v: tf.Tensor) =>
    (stat ? batchNormReluEval(a, g, b, m, v, EPS) : composed(a, g, b, { mean: tf.tensor1d(m.dataSync()), variance: tf.tensor1d(v.dataSync()) })).mul(up).sum();
  const gOurs = tf.grads(f(true))([x, gamma, beta, mean, variance]);
  const gRef = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => f(false)(a, g, b, mean, variance))([x, gamma, beta]);
  for (let i = 0; i < 3; i++) assert.ok(maxAbsDiff(gOurs[i]!.dataSync(), gRef[i]!.dataSync()) < 1e-4, `gradient ${i}`);
  for (let i = 3; i < 5; i++) assert.deepEqual([...gOurs[i]!.dataSync()], new Array(C).fill(0));
});

test('forward pass against a float64 loop; the ReLU passes exactly the positive pre-activations', () => {
  const rng = new Rng(3, 'bn-loop');
  const R = 50, C = 4;
  const xs = rand(rng, R * C, 3);
  const gamma = Float32Array.of(1, -2, 0.5, 0), beta = Float32Array.of(0, 0.5, -1, 0.25);
  const { y, mean, variance } = batchNormReluTrain(tf.tensor2d(xs, [R, C]), tf.tensor1d(gamma), tf.tensor1d(beta), EPS);
  const yv = y.dataSync(), mv = mean.dataSync(), vv = variance.dataSync();
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let r = 0; r < R; r++) m += xs[r * C + c]!;
    m /= R;
    let v = 0;
    for (let r = 0; r < R; r++) v += (xs[r * C + c]! - m) ** 2;
    v /= R;
    assert.ok(Math.abs(mv[c]! - m) < 1e-5 && Math.abs(vv[c]! - v) < 1e-4 * Math.max(1, v), `channel ${c} statistics`);
    for (let r = 0; r < R; r++) {
      const pre = ((xs[r * C + c]! - m) / Math.sqrt(v + EPS)) * gamma[c]! + beta[c]!;
      assert.ok(Math.abs(yv[r * C + c]! - Math.max(0, pre)) < 1e-5, `y[${r}, ${c}]`);
    }
  }
  // gamma 0, beta 0.25: every row 0.25; a constant channel has zero variance and gives beta.
  for (let r = 0; r < R; r++) assert.ok(Math.abs(yv[r * C + 3]! - 0.25) < 1e-7);
  const constant = batchNormReluTrain(tf.fill([6, 1], 2), tf.ones([1]), tf.tensor1d([0.5]), EPS);
  assert.deepEqual([...constant.y.dataSync()], new Array(6).fill(0.5));
  assert.deepEqual([...constant.variance.dataSync()], [0]);
});

test('bad input: mismatched channels and wrong dtypes name the problem', () => {
  const x = tf.zeros([2, 3]);
  assert.throws(() => batchNormReluTrain(x, tf.ones([2]), tf.zeros([3])), (e: unknown) => e instanceof InputError && /per-channel tensors must be float32 \[3\]/.test((e as Error).message));
  assert.throws(() => batchNormReluTrain(tf.zeros([2, 3], 'int32'), tf.ones([3]), tf.zeros([3])), InputError);
  assert.throws(() => batchNormReluEval(x, tf.ones([3]), tf.zeros([3]), tf.zeros([3]), tf.ones([4])), InputError);
});
