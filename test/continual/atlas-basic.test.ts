// ATLAS: orthogonality penalty, mixing weights, upstream predictions unchanged by later tasks,
// trainable-parameter ordering of the variants, the record's summaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { AtlasModel, AtlasWorld, atlasOptions, orthoPenalty, runAtlas, DOWNSTREAM, type AtlasTaskModel } from '../../src/continual/atlas.js';
import { variable } from '../../src/core/nn.js';
import { Rng } from '../../src/core/rng.js';

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
  const r = await runAtlas(o, [0], { orders: ['multimodal-first'], orthoAblation: true });
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
  assert.throws(() => atlasOptions({ foo: 1 } as never), /ATLAS options: unknown option "foo"; known:/);
});

test('stage-1 gate: the query attends over the full adapter output h + A(h); the skip path enters the sum once', async () => {
  await initTf();
  const o = atlasOptions();
  const H = o.hiddenDim, d = 2 * o.modalityDim, n = 6;
  const world = new AtlasWorld(o, 1);
  const model = new AtlasModel(world, o);
  const k = model.newAdapter('up', new Rng(1, 'adapter'));
  const r = new Rng(2, 'gate-test');
  const queries = variable('q', [1, H], r.split('q').fillNormal(new Float32Array(H), 1 / Math.sqrt(H)));
  const head = { W: variable('W', [2, H], r.split('W').fillNormal(new Float32Array(2 * H), 0.1)), b: variable('b', [2], new Float32Array(2)) };
  const m: AtlasTaskModel = { task: DOWNSTREAM[0]!, uses: [k], queries, own: null, ownQuery: null, head, backbone: null, plainAdapter: false };
  try {
    tf.tidy(() => {
      const x = tf.tensor2d(r.split('x').fillNormal(new Float32Array(n * d), 1), [n, d]);
      const { logits, weights } = model.forward(m, x);
      const h = model.hidden(x, null);
      const a = AtlasModel.adapterOut(h, model.bank[k]!);
      const q = queries.reshape([H]) as tf.Tensor1D;
      const full = AtlasModel.mixWeight(q, h.add(a) as tf.Tensor2D, model.bank[k]!.key).dataSync();
      const residualOnly = AtlasModel.mixWeight(q, a, model.bank[k]!.key).dataSync();
      const got = weights[0]!.dataSync();
      for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i]! - full[i]!) < 1e-6, `row ${i}: ${got[i]} vs ${full[i]}`);
      assert.ok(got.some((v, i) => Math.abs(v - residualOnly[i]!) > 1e-3), 'the gate must not see the residual part alone');
      // logits = (h + w A(h)) W^T + b: h once, not scaled by the weight.
      const want = tf.matMul(h.add(a.mul(weights[0]!.reshape([-1, 1]))), head.W, false, true).add(head.b).dataSync();
      const lg = logits.dataSync();
      for (let i = 0; i < lg.length; i++) assert.ok(Math.abs(lg[i]! - want[i]!) < 1e-5);
    });
  } finally {
    queries.dispose(); head.W.dispose(); head.b.dispose(); model.dispose();
  }
});
