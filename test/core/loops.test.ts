// core/kernels/loops: the addon's compiled loops give the same values as the TypeScript loops
// (im2col / col2im and batch norm + ReLU forward and gradients, bit for bit), and the kernels fall back
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

// Channel counts that are multiples of 16 run the AVX-512 loops (native/src/bn_avx512.cc) where the
// CPU has them: 16-64 channels keep their sums in registers, 80 takes two passes.
for (const shape of [[6, 5, 5, 8], [3, 4, 5, 16], [2, 7, 3, 32], [5, 3, 3, 48], [4, 6, 5, 64], [3, 5, 2, 80]]) test(`batch norm + ReLU ${shape.join('x')}: compiled and TypeScript loops agree bit for bit (forward, statistics, gradients, eval mode)`, { skip }, () => {
  const rng = new Rng(11 + shape[3]!, 'loops-bn');
  const C = shape[3]!, size = shape.reduce((a, b) => a * b, 1);
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
    // Equal values; the sign of a zero gradient may differ (the TypeScript loop multiplies by a 0/1 mask, the compiled one masks the bits).
    for (let j = 0; j < v.length; j++) if (v[j] !== ts[i]![j]) assert.fail(`output ${i}[${j}]: ${v[j]} compiled, ${ts[i]![j]} TypeScript`);
  });
});

test('the compiled loops reject arrays that do not fit the geometry or the channel count', { skip }, () => {
  const L = compiledLoops()!;
  assert.throws(() => L.im2col(new Float32Array(10), 1, 3, 3, 1, 3, 3, 1, 1, 3, 3, new Float32Array(81)), /im2col: array sizes do not fit the geometry/);
  assert.throws(() => L.col2im(new Float32Array(80), 1, 3, 3, 1, 3, 3, 1, 1, 3, 3, new Float32Array(9)), /col2im: array sizes do not fit the geometry/);
  assert.throws(() => L.bnAffineRelu(new Float32Array(10), 3, new Float64Array(3), new Float64Array(3), new Float32Array(10)), /sizes do not fit C/);
});

// The four batch-norm loops called directly against the scalar loops written out here in float64,
// in the same order: the float64 statistics must be equal bit for bit (the tests above see them only
// after rounding to float32). Covers the scalar channel count 8 and the AVX-512 ones.
for (const C of [8, 16, 32, 48, 64, 80]) test(`batch norm loops, ${C} channels: float64 statistics and outputs equal the scalar order bit for bit`, { skip }, () => {
  const L = compiledLoops()!;
  const rng = new Rng(C, 'loops-bn-direct');
  const rows = 37, n = rows * C;
  const x = rand(rng, n), dy = rand(rng, n), y = rand(rng, n);
  for (let i = 0; i < n; i += 7) { y[i] = i % 2 ? 0 : -0; dy[i + 1] = -0; }
  const f64 = (lo = -1): Float64Array => Float64Array.from({ length: C }, () => lo + 2 * rng.next());
  const a = f64(), b = f64(), mu = f64(), inv = f64(0.2), k = f64(), m1 = f64(), m2 = f64();
  const f32 = new Float32Array(1), i32 = new Int32Array(f32.buffer);
  const bits = (v: number): number => { f32[0] = v; return i32[0]!; };
  const masked = (d: number, yy: number): number => (bits(yy) > 0 ? d : 0);
  const relu = (v: number): number => { f32[0] = v; return bits(f32[0]!) < 0 || Object.is(f32[0], -0) ? 0 : f32[0]!; };
  // statistics (added to what the arrays hold)
  const sum = f64(), sq = f64(), sumR = Float64Array.from(sum), sqR = Float64Array.from(sq);
  L.bnChannelStats(x, C, sum, sq);
  for (let o = 0; o < n; o += C) for (let c = 0; c < C; c++) { const v = x[o + c]!; sumR[c] = sumR[c]! + v; sqR[c] = sqR[c]! + v * v; }
  assert.deepEqual([sum, sq], [sumR, sqR]);
  const sr = f64(), srx = f64(), srR = Float64Array.from(sr), srxR = Float64Array.from(srx);
  L.bnReluGradStats(dy, x, y, C, mu, inv, sr, srx);
  for (let o = 0; o < n; o += C) for (let c = 0; c < C; c++) { const r = masked(dy[o + c]!, y[o + c]!); srR[c] = srR[c]! + r; srxR[c] = srxR[c]! + r * (x[o + c]! - mu[c]!) * inv[c]!; }
  assert.deepEqual([sr, srx], [srR, srxR]);
  // outputs
  const out = new Float32Array(n), ref = new Float32Array(n);
  L.bnAffineRelu(x, C, a, b, out);
  for (let o = 0; o < n; o += C) for (let c = 0; c < C; c++) ref[o + c] = relu(Math.fround(x[o + c]! * a[c]! + b[c]!));
  assert.deepEqual(out, ref);
  for (const batchStats of [true, false]) {
    L.bnReluGradX(dy, x, y, C, k, mu, inv, m1, m2, batchStats, out);
    for (let o = 0; o < n; o += C) for (let c = 0; c < C; c++) {
      const r = masked(dy[o + c]!, y[o + c]!);
      ref[o + c] = batchStats ? k[c]! * (r - m1[c]! - (x[o + c]! - mu[c]!) * inv[c]! * m2[c]!) : k[c]! * r;
    }
    for (let j = 0; j < n; j++) if (out[j] !== ref[j]) assert.fail(`bnReluGradX (batchStats ${batchStats}) [${j}]: ${out[j]} compiled, ${ref[j]} scalar order`);
  }
});
