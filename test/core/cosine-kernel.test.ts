// The fused cosine-logits kernel (core/kernels/cosine.ts) against the composed ops it replaces
// (l2normalize, slice, matMul, mul with tfjs's own gradients, run with the engine kernels off):
// values and the gradients of f, w and the scale, rows of w from `seen` on getting zero gradient,
// and a zero feature row, where the composed ops give NaN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf, useEngineKernels } from '../../src/core/tensor.js';
import { cosineLogits } from '../../src/core/nn.js';
import { Rng } from '../../src/core/rng.js';
import { engineKernelsEnabled } from '../../src/core/kernels/engine.js';

function randT(shape: number[], rng: Rng, scale = 1): tf.Tensor {
  const d = rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
  for (let i = 0; i < d.length; i++) d[i] *= scale;
  return tf.tensor(d, shape, 'float32');
}

/** Largest |a - b| relative to max(1, |b|). */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  assert.equal(x.length, y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
  return m;
}

/** Loss sum_ic G_ic logits_ic and its gradients with respect to f, w and the scale. */
function withGrads(f: tf.Tensor, w: tf.Tensor, s: tf.Tensor, seen: number, G: tf.Tensor, fused: boolean): tf.Tensor[] {
  const before = engineKernelsEnabled();
  useEngineKernels(fused);
  try {
    const logits = cosineLogits(f, w, s, seen);
    const g = tf.grads((a, b, c) => tf.sum(tf.mul(cosineLogits(a!, b!, c!, seen), G)))([f, w, s]);
    return [logits, ...g];
  } finally {
    useEngineKernels(before);
  }
}

test('cosineLogits: the fused kernel gives the composed ops\' values and gradients', async () => {
  await initTf();
  const rng = new Rng(3, 'cosine-kernel');
  for (const [n, d, rows, seen] of [[7, 5, 4, 3], [48, 64, 10, 2], [1, 1, 1, 1], [33, 17, 6, 6]] as const) {
    const f = randT([n, d], rng, 2), w = randT([rows, d], rng, 0.5), s = tf.scalar(7.5), G = randT([n, seen], rng);
    const fused = withGrads(f, w, s, seen, G, true), plain = withGrads(f, w, s, seen, G, false);
    assert.deepEqual(fused[0]!.shape, [n, seen]);
    const names = ['logits', 'df', 'dw', 'dscale'];
    for (let k = 0; k < 4; k++) {
      assert.deepEqual(fused[k]!.shape, plain[k]!.shape, `${names[k]} shape`);
      const r = relDiff(fused[k]!, plain[k]!);
      assert.ok(r < 2e-5, `${names[k]} at n ${n} d ${d} rows ${rows} seen ${seen}: ${r}`);
    }
    // Rows the logits do not use get exactly zero.
    const dw = fused[2]!.dataSync();
    for (let i = seen * d; i < rows * d; i++) assert.equal(dw[i], 0);
    tf.dispose([f, w, s, G, ...fused, ...plain]);
  }
});

test('cosineLogits: a zero feature row gets logits 0 and a finite gradient (the composed ops give NaN)', async () => {
  await initTf();
  const rng = new Rng(4, 'cosine-zero');
  const fv = rng.fillNormal(new Float32Array(3 * 4));
  fv.fill(0, 4, 8);
  const f = tf.tensor2d(fv, [3, 4]), w = randT([2, 4], rng), s = tf.scalar(10), G = randT([3, 2], rng);
  const fused = withGrads(f, w, s, 2, G, true), plain = withGrads(f, w, s, 2, G, false);
  const z = fused[0]!.dataSync();
  assert.equal(z[2], 0);
  assert.equal(z[3], 0);
  const df = fused[1]!.dataSync(), dfPlain = plain[1]!.dataSync();
  assert.ok([...df].every(Number.isFinite), 'fused gradient finite');
  assert.ok([...dfPlain.subarray(4, 8)].some(Number.isNaN), 'the composed ops give NaN for the zero row');
  // The other rows agree with the composed ops.
  for (const i of [0, 1, 2, 3, 8, 9, 10, 11]) assert.ok(Math.abs(df[i]! - dfPlain[i]!) < 1e-4 * Math.max(1, Math.abs(dfPlain[i]!)), `df[${i}]`);
  tf.dispose([f, w, s, G, ...fused, ...plain]);
});
