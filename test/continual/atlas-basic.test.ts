// ATLAS: orthogonality penalty, mixing weights, upstream predictions unchanged by later tasks,
// trainable-parameter ordering of the variants, the record's summaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { AtlasModel, atlasOptions, orthoPenalty, runAtlas, DOWNSTREAM } from '../../src/continual/atlas.js';

test('orthogonality penalty: 0 on orthonormal rows, the written formula otherwise', async () => {
  await initTf();
  const c = Math.SQRT1_2;
  const q = [[c, c, 0], [-c, c, 0], [0, 0, 1]];
  assert.ok(Math.abs(tf.tidy(() => orthoPenalty(tf.tensor2d(q)).dataSync()[0]!)) < 1e-7);
  const m = [[1, 0, 0], [1, 1, 0]];
  // Q Q^T = [[1, 1], [1, 2]]; minus I: [[0, 1], [1, 1]]; mean of squares 3/4; / (n d) = 3/4 / 6.
  assert.ok(Math.abs(tf.tidy(() => orthoPenalty(tf.tensor2d(m)).dataSync()[0]!) - 0.75 / 6) < 1e-6);
});

test('mixing weight lies in [0, 1] and is 1 when query and adapter output point along the key', async () => {
  await initTf();
  const w = tf.tidy(() => Array.from(AtlasModel.mixWeight(tf.tensor1d([1, 0, 0]), tf.tensor2d([[2, 0, 0], [0, 1, 0]]), tf.tensor1d([3, 0, 0])).dataSync()));
  assert.ok(Math.abs(w[0]! - 1) < 1e-6);
  assert.ok(w[1]! > 0.5 && w[1]! < 1);
  const v = tf.tidy(() => Array.from(AtlasModel.mixWeight(tf.tensor1d([1, 0, 0]), tf.tensor2d([[-1, 0, 0]]), tf.tensor1d([-1, 0, 0])).dataSync()));
  assert.ok(v[0]! >= 0 && v[0]! <= 1);
});

test('runAtlas: every variant per downstream task, upstream logits bit-identical after, parameter counts ordered', async () => {
  await initTf();
  const o = atlasOptions({ upstreamPerClass: 20, testPerClass: 10, upstreamEpochs: 2, downstreamSteps: 8, shots: 4 });
  const r = runAtlas(o, [0], { orders: ['multimodal-first'], orthoAblation: true });
  assert.equal(r.runs.length, DOWNSTREAM.length * 4);
  assert.equal(r.upstream_identical, true);
  assert.deepEqual(r.upstream_acc_after, r.upstream_acc_before);
  assert.equal(r.upstream_acc_before.length, 3);
  for (const t of DOWNSTREAM) {
    const p = (v: string) => r.runs.find((e) => e.task === t.name && e.variant === v)!.trainable_params;
    assert.ok(p('experience') < p('scratch') && p('scratch') < p('atlas') && p('atlas') < p('full_ft'), `${t.name}: ${['experience', 'scratch', 'atlas', 'full_ft'].map(p)}`);
    const mw = r.runs.find((e) => e.task === t.name && e.variant === 'atlas')!.mix_weights!;
    assert.equal(mw.length, 3);
    assert.ok(mw.every((v) => v >= 0 && v <= 1));
  }
  assert.equal(r.ortho_ablation.length, 2 * DOWNSTREAM.length);
  assert.equal(r.paired_vs_scratch.length, 3 * DOWNSTREAM.length);
  assert.equal(r.gate.length, 2 * DOWNSTREAM.length);
  for (const g of r.gate) {
    assert.ok(g.related !== null && g.related in g.weights, `${g.task}: related adapter among the weights`);
    assert.ok(g.related_largest >= 0 && g.related_largest <= g.n);
  }
  assert.throws(() => atlasOptions({ foo: 1 } as never), /unknown ATLAS option\(s\) foo; known:/);
});
