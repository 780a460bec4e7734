// The fused frozen batch norm + ReLU + SSF kernel (core/bn batchNormReluEvalSsf, kernels/ssf.ts)
// gives the composed tfjs ops' values bit for bit: the output and the gradients of x, scale and
// shift, on shapes whose row count is not a multiple of the 128-row summation blocks and whose
// channel count is not a multiple of 4, with many pre-activations at or below zero. The gradients
// of the frozen parameters (composed ops inside the kernel's gradient) agree to rounding. The
// composed ops are what runs with the compiled loops switched off. A large shape runs at 1 and 2
// threads: the loops split their rows among workers, and the values must not change. Channel counts
// that are multiples of 16 run the AVX-512 loops (native/src/ssf_avx512.cc) on a CPU that has them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { batchNormReluEvalSsf } from '../../src/core/bn.js';
import { useCompiledLoops } from '../../src/core/kernels/loops.js';
import { ssfLoops } from '../../src/core/kernels/ssf.js';
import { Rng } from '../../src/core/rng.js';
import { SmallCnn, REFERENCE_CNN } from '../../src/continual/backbones/cnn.js';
import { lossAndGrads, disposeGrads } from '../../src/core/nn.js';
import { nativeAddon } from '../../src/core/linalg/index.js';

function rand(shape: number[], rng: Rng, scale = 1, offset = 0): tf.Tensor {
  const d = rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * scale + offset;
  return tf.tensor(d, shape, 'float32');
}

function firstDifference(a: tf.Tensor, b: tf.Tensor): string | null {
  assert.deepEqual(a.shape, b.shape);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return `[${i}]: ${x[i]} vs ${y[i]}`;
  return null;
}

/** Output and gradients (x, scale, shift, gamma, beta) of a weighted sum of the block's output. */
function run(inputs: tf.Tensor[], weights: tf.Tensor, fused: boolean): tf.Tensor[] {
  const before = useCompiledLoops(fused);
  try {
    const [x, gamma, beta, mean, variance, scale, shift] = inputs as [tf.Tensor4D, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const f = (xx: tf.Tensor, s: tf.Tensor, t: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar => batchNormReluEvalSsf(xx, g, b, mean, variance, s, t).mul(weights).sum();
    const out = batchNormReluEvalSsf(x, gamma, beta, mean, variance, scale, shift);
    const grads = tf.grads(f)([x, scale, shift, gamma, beta]);
    return [out, ...grads];
  } finally {
    useCompiledLoops(before);
  }
}

test('fused frozen batch norm + ReLU + SSF equals the composed ops bit for bit (output, dx, dscale, dshift)', async (t) => {
  await initTf();
  if (!ssfLoops()) { t.skip('the addon has no ssf loops'); return; }
  // [9, 31, 30, 16]: 8,370 rows, enough for the loops to split their rows between two workers.
  const addon = nativeAddon(), threadsBefore = addon?.threads() ?? 1;
  t.after(() => addon?.setThreads?.(threadsBefore));
  // Channel counts that are multiples of 16 take the AVX-512 loops where the CPU has them: 16, 32, 48
  // and 64 channels keep their sums in registers (1-4 groups of 16), 80 takes two passes.
  for (const [shape, seed, threads] of [[[3, 9, 7, 5], 1, 1], [[2, 14, 14, 32], 2, 1], [[1, 1, 3, 1], 3, 1], [[9, 31, 30, 16], 4, 1], [[9, 31, 30, 16], 4, 2],
    [[3, 5, 11, 48], 5, 1], [[2, 9, 9, 64], 6, 1], [[2, 7, 10, 80], 7, 1], [[9, 17, 16, 64], 8, 2]] as [number[], number, number][]) {
    addon?.setThreads?.(threads);
    const rng = new Rng(seed, 'ssf-kernel');
    const C = shape[3]!;
    const inputs = [rand(shape, rng, 2, 0.3), rand([C], rng, 0.5, 1), rand([C], rng, 0.5), rand([C], rng, 0.5), tf.abs(rand([C], rng, 1, 0.2)), rand([C], rng, 0.3, 1), rand([C], rng, 0.2)];
    const weights = rand(shape, rng);
    const fused = run(inputs, weights, true), composed = run(inputs, weights, false);
    ['output', 'dx', 'dscale', 'dshift'].forEach((name, k) => {
      const d = firstDifference(fused[k]!, composed[k]!);
      assert.equal(d, null, `shape [${shape}], ${threads} thread(s), ${name}: ${d}`);
    });
    // Not trivially zero: many pre-activations are clipped, the rest pass.
    const y = fused[0]!.dataSync(), sh = inputs[6]!.dataSync();
    let clipped = 0;
    for (let i = 0; i < y.length; i++) if (y[i] === sh[i % C]) clipped++;
    assert.ok(clipped > 0 && clipped < y.length, `clipped ${clipped} of ${y.length}`);
    // The frozen parameters' gradients (composed inside the kernel's gradient) agree to rounding.
    for (const [k, name] of [[4, 'dgamma'], [5, 'dbeta']] as const) {
      const a = fused[k]!.dataSync(), b = composed[k]!.dataSync();
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * (1 + Math.abs(b[i]!)), `${name}[${i}]: ${a[i]} vs ${b[i]}`);
    }
    tf.dispose([...inputs, weights, ...fused, ...composed]);
  }
});

test('SAFE\'s SSF step through the CNN: the fused kernel gives the composed ops\' loss and gradients bit for bit', async (t) => {
  await initTf();
  if (!ssfLoops()) { t.skip('the addon has no ssf loops'); return; }
  const cnn = new SmallCnn(REFERENCE_CNN, 0);
  const pet = cnn.createPet({ ssf: true }, new Rng(0));
  const rng = new Rng(4, 'ssf-cnn');
  // Non-trivial SSF parameters and running statistics, as after training.
  for (const v of pet.values()) v.assign(rand(v.shape, rng, 0.3, v.name.includes('scale') ? 1 : 0));
  for (const [name, v] of cnn.params) if (name.includes('running_')) v.assign(name.includes('var') ? tf.abs(rand(v.shape, rng, 0.5, 1)) : rand(v.shape, rng, 0.3));
  const x = rand([5, 784], rng) as tf.Tensor2D;
  const w = rand([5, 64], rng);
  const vars = [...pet.values()];
  const once = (fused: boolean): { loss: number; grads: Float32Array[] } => {
    const before = useCompiledLoops(fused);
    try {
      const { loss, grads } = lossAndGrads(() => cnn.forward(x, { pet }).mul(w).sum() as tf.Scalar, vars);
      const out = { loss, grads: vars.map((v) => Float32Array.from(grads.get(v)!.dataSync())) };
      disposeGrads(grads);
      return out;
    } finally {
      useCompiledLoops(before);
    }
  };
  const a = once(true), b = once(false);
  assert.ok(Object.is(a.loss, b.loss), `loss ${a.loss} vs ${b.loss}`);
  a.grads.forEach((g, k) => g.forEach((v, i) => assert.ok(Object.is(v, b.grads[k]![i]), `${vars[k]!.name}[${i}]: ${v} vs ${b.grads[k]![i]}`)));
  assert.ok(a.grads.every((g) => g.some((v) => v !== 0)), 'every SSF parameter gets a gradient');
  tf.dispose([x, w]);
  cnn.dispose();
  for (const v of pet.values()) v.dispose();
});

test('the ssf loops reject per-channel arrays of the wrong length and activations that do not fit C', async (t) => {
  await initTf();
  const L = ssfLoops();
  if (!L) { t.skip('the addon has no ssf loops'); return; }
  const c = (n: number): Float32Array => new Float32Array(n).fill(1);
  const x = c(12), z = c(12);
  assert.throws(() => L.ssfBnRelu(x, 4, c(4), c(4), c(3), c(4), c(4), c(4), z), /ssfBnRelu\(x/);
  assert.throws(() => L.ssfBnRelu(x, 5, c(5), c(5), c(5), c(5), c(5), c(5), z), /sizes do not fit C/);
  assert.throws(() => L.ssfBnReluGradStats(x, x, 4, c(4), c(2), c(4), c(4), new Float64Array(4), new Float64Array(4)), /must have length C/);
  assert.throws(() => L.ssfBnReluGradX(x, c(8), 4, c(4), c(4), c(4), c(4), c(4), z), /sizes do not fit C/);
  L.ssfBnRelu(x, 4, c(4), c(4), c(4), c(4), c(4), c(4), z);
  assert.deepEqual([...z], Array(12).fill(2), 'relu((1 - 1) 1 1 + 1) 1 + 1 = 2');
});
