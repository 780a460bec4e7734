// An optimiser step on a conv filter must reach the next conv forward: core/conv runs small
// kernels (few values per patch, as a first layer has) through tfjs-wasm's stock conv, which keeps
// the filter packed (XNNPACK) keyed by the filter's data id, so a step that wrote the filter in
// place would leave the forward on the old values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { FusedAdam, Sgd, lossAndGrads, variable } from '../../src/core/nn.js';
import { conv2d } from '../../src/core/conv.js';
import { Rng } from '../../src/core/rng.js';

function filled(shape: number[], rng: Rng): Float32Array {
  return rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
}

for (const kind of ['sgd', 'adam'] as const) {
  test(`${kind}: after a step, conv2d with the filter equals conv2d with a fresh tensor of the same values`, async () => {
    await initTf();
    const rng = new Rng(3, `opt-conv-${kind}`);
    const x = tf.tensor4d(filled([2, 6, 6, 1], rng), [2, 6, 6, 1]);
    const w = variable(`w-${kind}`, [3, 3, 1, 4], filled([3, 3, 1, 4], rng));
    const loss = (): tf.Scalar => conv2d(x, w as tf.Tensor4D).square().mean() as tf.Scalar;
    // The first forward packs the filter.
    const before = loss().dataSync()[0]!;
    const opt = kind === 'sgd' ? new Sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0 }) : null;
    const adam = kind === 'adam' ? new FusedAdam({ lr: 0.05 }) : null;
    for (let s = 0; s < 3; s++) {
      if (opt) {
        const { grads } = lossAndGrads(loss, [w]);
        opt.step(grads);
        for (const g of grads.values()) g.dispose();
      } else adam!.minimize(loss, false, [w]);
    }
    const fresh = tf.tensor4d(w.dataSync() as Float32Array, [3, 3, 1, 4]);
    const viaParam = conv2d(x, w as tf.Tensor4D).dataSync();
    const viaFresh = conv2d(x, fresh).dataSync();
    let d = 0;
    for (let i = 0; i < viaParam.length; i++) d = Math.max(d, Math.abs(viaParam[i]! - viaFresh[i]!));
    assert.equal(d, 0, 'the forward sees the updated filter');
    assert.ok(loss().dataSync()[0]! < before, 'the steps lowered the loss');
    x.dispose(); w.dispose(); fresh.dispose();
  });
}
