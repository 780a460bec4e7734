// core/kernels/loops: the addon's compiled loops give the same values as the TypeScript loops
// (im2col / col2im bit for bit; batch norm + ReLU forward and gradients), and the kernels fall back
// to TypeScript when they are switched off. Skipped where the addon is not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { convGeometry, im2col, col2im, im2colTs, col2imTs } from '../../src/core/kernels/conv2d.js';
import { compiledLoops, useCompiledLoops } from '../../src/core/kernels/loops.js';
import { batchNormReluTrain, batchNormReluEval } from '../../src/core/bn.js';
import { Rng } from '../../src/core/rng.js';

await initTf();
const skip = compiledLoops() ? false : 'the addon with compiled loops is not built';

function rand(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function withLoops<T>(on: boolean, fn: () => T): T {
  const before = useCompiledLoops(on);
  try {
    return fn();
  } finally {
    useCompiledLoops(before);
  }
}

test('switching the compiled loops off makes compiledLoops() null', { skip }, () => {
  assert.equal(withLoops(false, () => compiledLoops()), null);
  assert.notEqual(compiledLoops(), null);
});

for (const [n, h, w, cin, k, stride, pad] of [[2, 7, 6, 3, 3, 2, 1], [1, 5, 5, 4, 3, 1, 1], [3, 8, 9, 2, 5, 2, 2], [2, 4, 4, 3, 1, 1, 0]] as const) {
  test(`im2col / col2im ${n}x${h}x${w}x${cin} k${k} s${stride} p${pad}: compiled = TypeScript, bit for bit`, { skip }, () => {
    const rng = new Rng(n * 100 + h, 'loops');
    const g = convGeometry([n, h, w, cin], [k, k, cin, 1], stride, pad);
    const x = rand(rng, n * h * w * cin);
    const cols = g.n * g.ho * g.wo * k * k * cin;
    const a = new Float32Array(cols).fill(7), b = new Float32Array(cols).fill(-7);
    im2col(x, g, a);
    im2colTs(x, g, b);
    assert.deepEqual(a, b);
    const col = rand(rng, cols);
    const dxA = new Float32Array(x.length).fill(3), dxB = new Float32Array(x.length).fill(-3);
    col2im(col, g, dxA);
    col2imTs(col, g, dxB);
    assert.deepEqual(dxA, dxB, 'col2im overwrites and sums in the same order');
  });
}

test('batch norm + ReLU: compiled and TypeScript loops agree (forward, statistics, gradients, eval mode)', { skip }, () => {
  const rng = new Rng(11, 'loops-bn');
  const shape = [6, 5, 5, 8], C = 8, size = 1200;
  const x = tf.tensor(rand(rng, size), shape), up = tf.tensor(rand(rng, size), shape);
  const gamma = tf.tensor1d(rand(rng, C)), beta = tf.tensor1d(rand(rng, C));
  const mean = tf.tensor1d(rand(rng, C)), variance = tf.tensor1d(rand(rng, C).map((v) => 0.5 + Math.abs(v)));
  const run = (): Float32Array[] => tf.tidy(() => {
    const t = batchNormReluTrain(x, gamma, beta);
    const gt = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormReluTrain(a, g, b).y.mul(up).sum())([x, gamma, beta]);
    const e = batchNormReluEval(x, gamma, beta, mean, variance);
    const ge = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormReluEval(a, g, b, mean, variance).mul(up).sum())([x, gamma, beta]);
    return [t.y, t.mean, t.variance, ...gt, e, ...ge].map((v) => v.dataSync() as Float32Array);
  });
  const compiled = withLoops(true, run), ts = withLoops(false, run);
  compiled.forEach((v, i) => {
    let d = 0;
    for (let j = 0; j < v.length; j++) d = Math.max(d, Math.abs(v[j]! - ts[i]![j]!));
    assert.ok(d <= 1e-6 * Math.max(1, ...ts[i]!.map(Math.abs)), `output ${i} differs by ${d}`);
  });
});

test('the compiled loops reject arrays that do not fit the geometry or the channel count', { skip }, () => {
  const L = compiledLoops()!;
  assert.throws(() => L.im2col(new Float32Array(10), 1, 3, 3, 1, 3, 3, 1, 1, 3, 3, new Float32Array(81)), /im2col: array sizes do not fit the geometry/);
  assert.throws(() => L.col2im(new Float32Array(80), 1, 3, 3, 1, 3, 3, 1, 1, 3, 3, new Float32Array(9)), /col2im: array sizes do not fit the geometry/);
  assert.throws(() => L.bnAffineRelu(new Float32Array(10), 3, new Float64Array(3), new Float64Array(3), new Float32Array(10)), /sizes do not fit C/);
});
