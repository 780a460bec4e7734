import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { setParams, disposeParams } from '../../src/core/nn.js';
import { loadMiniature } from '../../src/continual/data.js';
import { pretrainBackbone } from '../../src/continual/pretrain.js';
import { runCil, seedData } from '../../src/continual/trainer.js';
import { makeLearner } from '../../src/continual/registry.js';
import { extractFeatures } from '../../src/continual/pet-train.js';
import { labelRange } from '../../src/continual/scenario.js';
import { Aper } from '../../src/continual/methods/aper.js';

test('APER: session-1 PET then frozen; cosine prototypes = class means of [frozen; adapted] features', async () => {
  await initTf();
  const mini = loadMiniature('synthetic', { quick: true });
  const { backbone } = pretrainBackbone(mini, { seed: 0, train: { epochs: 1 } });
  const { scenario, train } = seedData(mini, 'B10Inc5', 3);
  const ctx = { backbone, numClasses: mini.numClasses, seed: 3, rng: new Rng(3, 'cil').split('aper') };
  const l = makeLearner('aper', ctx, { train: { epochs: 2 } });
  assert.ok(l instanceof Aper);
  const pets: Map<string, number[]>[] = [];
  const petOf = (): Map<string, number[]> => new Map([...l.checkpoint().arrays].filter(([k]) => k.startsWith('pet.')).map(([k, v]) => [k, [...v.data]]));
  const initial = petOf();
  const seenTrain = [];
  for (const info of scenario.sessions.slice(0, 2)) {
    const tr = labelRange(train, info.newIds[0], info.seen);
    seenTrain.push(tr);
    await l.fitSession({ info, train: tr, val: tr, valSeen: tr });
    pets.push(petOf());
  }
  // Adapted in session 1 (the PET moved from its initialisation), untouched in session 2.
  assert.ok([...initial].some(([k, v]) => v.some((x, i) => x !== pets[0].get(k)![i])), 'the first session tunes the PET');
  assert.deepEqual(pets[1], pets[0], 'no update of the adapted branch after session 1');

  // Independently: the frozen backbone's and the adapted backbone's features, concatenated.
  const pet = backbone.createPet({ ssf: true }, new Rng(99));
  setParams(pet, new Map([...l.checkpoint().arrays].filter(([k]) => k.startsWith('pet.')).map(([k, v]) => [k.slice(4), { shape: v.shape, data: Float32Array.from(v.data) }])));
  const d = backbone.featureDim;
  const concat = (ds: typeof train): Float64Array[] => {
    const a = extractFeatures(backbone, ds, null), b = extractFeatures(backbone, ds, pet);
    return Array.from({ length: ds.n }, (_, i) => Float64Array.from([...a.x.subarray(i * d, (i + 1) * d), ...b.x.subarray(i * d, (i + 1) * d)]));
  };
  const f = (l as Aper).features(seenTrain[1]);
  assert.equal(f.d, 2 * d, 'concatenated width');
  const seen = scenario.sessions[1].seen;
  const means: Float64Array[] = [];
  for (let c = 0; c < seen; c++) {
    const ds = labelRange(train, c, c + 1);
    const rows = concat(ds);
    const m = new Float64Array(2 * d);
    for (const r of rows) for (let k = 0; k < m.length; k++) m[k] += r[k] / rows.length;
    means.push(m);
  }
  // The adapted half is not the frozen half (otherwise the concatenation would be SimpleCIL).
  assert.ok(means[0].slice(d).some((v, k) => Math.abs(v - means[0][k]) > 1e-4));
  const probe = labelRange(train, 0, seen);
  const z = l.predict(probe, seen).get('aper')!;
  const rows = concat(probe);
  const cos = (a: Float64Array, b: Float64Array): number => {
    let ab = 0, aa = 0, bb = 0;
    for (let k = 0; k < a.length; k++) { ab += a[k] * b[k]; aa += a[k] ** 2; bb += b[k] ** 2; }
    return ab / Math.sqrt(aa * bb);
  };
  let maxErr = 0;
  for (let i = 0; i < probe.n; i += 7) for (let c = 0; c < seen; c++) maxErr = Math.max(maxErr, Math.abs(z[i * seen + c] - cos(rows[i], means[c])));
  assert.ok(maxErr < 1e-4, `logits are cosines to the class means of the concatenated features (max error ${maxErr})`);
  disposeParams(pet);
  l.dispose();

  // Through the trainer, beside SimpleCIL on the same seed.
  const r = await runCil(mini, backbone, { split: 'B10Inc5', seeds: [3], methods: ['simplecil', 'aper'], methodOptions: { aper: { train: { epochs: 1 } } } });
  const aper = r.runs.find((e) => e.method === 'aper')!;
  assert.equal(aper.acc_matrix.length, 3);
  assert.ok(aper.last_acc > 100 / mini.numClasses, `above chance: ${aper.last_acc}`);
  assert.throws(() => makeLearner('aper', ctx, { pet: {} }), /no PET module/);
  assert.throws(() => makeLearner('aper', ctx, { epochs: 3 }), /epochs/);
});

test('APER as a kept model: fit on rows, update with new classes, save and load predict the same', async () => {
  await initTf();
  const { fit, load } = await import('../../src/continual/model.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const r = new Rng(5);
  const d = 12;
  const centres = Array.from({ length: 5 }, () => Array.from({ length: d }, () => 3 * r.normal()));
  const rows = (classes: number[], per: number): { rows: Float32Array; d: number; labels: string[] } => {
    const x: number[] = [], labels: string[] = [];
    for (const c of classes) for (let i = 0; i < per; i++) { x.push(...centres[c].map((v) => v + r.normal())); labels.push(`c${c}`); }
    return { rows: Float32Array.from(x), d, labels };
  };
  const m = await fit({ data: rows([0, 1, 2], 20), config: { method: 'aper', options: { train: { epochs: 1 } } } });
  await m.update(rows([3, 4], 20));
  const test = rows([0, 1, 2, 3, 4], 10);
  const p = m.predict(test.rows, 1);
  const acc = p.filter((row, i) => row.top[0].label === test.labels[i]).length / p.length;
  assert.ok(acc > 0.6, `accuracy after the update ${acc}`);
  const dir = mkdtempSync(join(tmpdir(), 'aper-model-'));
  try {
    await m.save(join(dir, 'm'));
    const again = await load(join(dir, 'm'));
    assert.deepEqual(again.predict(test.rows, 2), m.predict(test.rows, 2));
    await again.dispose();
  } finally {
    await m.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
