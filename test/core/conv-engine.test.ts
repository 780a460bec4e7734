// core/kernels/engine: the Sum/Mean replacements (contiguous axis blocks, float64 accumulation)
// and the copy-free Identity/Cast against the stock kernels, on the same inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { contiguousBlock, engineGradients, engineKernels, reduceMiddle, useEngineKernels, engineKernelsEnabled } from '../../src/core/kernels/engine.js';
import { Rng } from '../../src/core/rng.js';

await initTf();

function both<T>(fn: () => T): { ours: T; stock: T } {
  const before = engineKernelsEnabled();
  try {
    useEngineKernels(false);
    const stock = fn();
    useEngineKernels(true);
    const ours = fn();
    return { ours, stock };
  } finally {
    useEngineKernels(before);
  }
}

test('the replacements are the registered wasm kernels', () => {
  for (const k of engineKernels) assert.equal(tf.getKernel(k.kernelName, 'wasm'), k, k.kernelName);
  for (const g of engineGradients) assert.equal(tf.getGradient(g.kernelName), g, `${g.kernelName} gradient`);
});

test('contiguousBlock: [outer, reduce, inner] for contiguous axes, null otherwise', () => {
  assert.deepEqual(contiguousBlock([2, 3, 4, 5], [0, 1, 2]), { outer: 1, reduce: 24, inner: 5, lo: 0, hi: 3 });
  assert.deepEqual(contiguousBlock([2, 3, 4, 5], [2, 1]), { outer: 2, reduce: 12, inner: 5, lo: 1, hi: 3 });
  assert.deepEqual(contiguousBlock([2, 3, 4, 5], -1), { outer: 24, reduce: 5, inner: 1, lo: 3, hi: 4 });
  assert.equal(contiguousBlock([2, 3, 4, 5], [0, 2]), null);
  assert.equal(contiguousBlock([2, 3], [5]), null);
  assert.equal(contiguousBlock([2, 3], null), null);
  assert.equal(contiguousBlock([2, 3], undefined), null);
});

test('reduceMiddle equals a float64 loop (inner widths not divisible by 4, more rows than a block)', () => {
  const rng = new Rng(1, 'reduce');
  for (const [outer, reduce, inner] of [[1, 300, 7], [3, 129, 4], [2, 5, 1], [4, 1, 9]] as const) {
    const x = rng.fillNormal(new Float32Array(outer * reduce * inner));
    const out = new Float32Array(outer * inner);
    reduceMiddle(x, outer, reduce, inner, 0.5, out);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      let s = 0;
      for (let r = 0; r < reduce; r++) s += x[(o * reduce + r) * inner + i]!;
      assert.ok(Math.abs(out[o * inner + i]! - 0.5 * s) < 1e-5, `${outer}x${reduce}x${inner} at (${o}, ${i})`);
    }
  }
});

test('Sum and Mean equal the stock kernels over every axis pattern, with keepDims', () => {
  const rng = new Rng(2, 'sum');
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(3 * 5 * 6 * 7)), [3, 5, 6, 7]);
  const xi = tf.tensor2d(Int32Array.from({ length: 12 }, (_, i) => i - 3), [3, 4], 'int32');
  const patterns: (number | number[] | undefined)[] = [undefined, [0, 1, 2], [1, 2], 0, 1, 3, -1, [0, 3], [0, 1, 2, 3], [2, 0, 1]];
  for (const axis of patterns) for (const keepDims of [false, true]) for (const op of ['sum', 'mean'] as const) {
    const { ours, stock } = both(() => tf.tidy(() => {
      const t = op === 'sum' ? tf.sum(x, axis, keepDims) : tf.mean(x, axis, keepDims);
      return { shape: t.shape, data: Array.from(t.dataSync()) };
    }));
    assert.deepEqual(ours.shape, stock.shape, `${op} ${JSON.stringify(axis)} keepDims=${keepDims}`);
    for (let i = 0; i < ours.data.length; i++) assert.ok(Math.abs(ours.data[i]! - stock.data[i]!) < 1e-4, `${op} ${JSON.stringify(axis)}[${i}]`);
  }
  // int32 sums keep their dtype (stock path).
  const { ours } = both(() => tf.tidy(() => { const t = tf.sum(xi, 0); return { dtype: t.dtype, data: Array.from(t.dataSync()) }; }));
  assert.deepEqual(ours, { dtype: 'int32', data: [3, 6, 9, 12] });
  x.dispose(); xi.dispose();
});

test('Sum and Mean gradients equal the stock gradients', () => {
  const rng = new Rng(3, 'grad');
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 3 * 4 * 5)), [2, 3, 4, 5]);
  const patterns: (number | number[] | undefined)[] = [undefined, [0, 1, 2], [1, 2], 0, -1, [0, 3]];
  for (const axis of patterns) for (const keepDims of [false, true]) for (const op of ['sum', 'mean'] as const) {
    const { ours, stock } = both(() => tf.tidy(() => {
      const f = (a: tf.Tensor): tf.Tensor => {
        const r = op === 'sum' ? tf.sum(a, axis, keepDims) : tf.mean(a, axis, keepDims);
        return tf.sum(tf.mul(r, tf.sin(tf.range(0, r.size).reshape(r.shape))));
      };
      return Array.from(tf.grad(f)(x).dataSync());
    }));
    assert.equal(ours.length, x.size);
    for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i]! - stock[i]!) < 1e-6, `${op} ${JSON.stringify(axis)} keepDims=${keepDims} [${i}]`);
  }
  x.dispose();
});

test('Identity and same-dtype Cast share data; other casts convert; disposal is reference-counted', () => {
  const ids0 = tf.engine().backend.numDataIds();
  const a = tf.tensor1d([1.5, -2, 3]);
  const before = tf.memory().numDataBuffers;
  const c = tf.clone(a), f = tf.cast(a, 'float32');
  assert.equal(tf.memory().numDataBuffers, before, 'no new buffers');
  const z = tf.tensor1d([0, 1, 0]);
  const i = tf.cast(a, 'int32'), b = tf.cast(z, 'bool');
  z.dispose();
  assert.deepEqual(Array.from(i.dataSync()), [1, -2, 3]);
  assert.deepEqual(Array.from(b.dataSync()), [0, 1, 0]);
  a.dispose();
  assert.deepEqual(Array.from(c.dataSync()), [1.5, -2, 3], 'the clone outlives its source');
  f.dispose();
  assert.deepEqual(Array.from(c.dataSync()), [1.5, -2, 3]);
  c.dispose(); i.dispose(); b.dispose();
  assert.equal(tf.engine().backend.numDataIds(), ids0, 'every buffer freed once its last tensor is gone');
});

test('a variable updated by an optimizer does not change its clones', () => {
  const v = tf.variable(tf.tensor1d([1, 2, 3]));
  const snap = tf.clone(v);
  const opt = tf.train.sgd(0.5);
  opt.minimize(() => tf.sum(tf.square(v)) as tf.Scalar, false, [v]);
  assert.deepEqual(Array.from(snap.dataSync()), [1, 2, 3]);
  assert.deepEqual(Array.from(v.dataSync()), [0, 0, 0]);
  v.assign(tf.tensor1d([7, 7, 7]));
  assert.deepEqual(Array.from(snap.dataSync()), [1, 2, 3]);
  snap.dispose(); v.dispose(); opt.dispose();
});
