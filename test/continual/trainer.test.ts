import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf } from '../../src/core/tensor.js';
import { loadMiniature } from '../../src/continual/data.js';
import { pretrainBackbone, saveBackbone, loadBackbone } from '../../src/continual/pretrain.js';
import { runCil, type CilRunOptions } from '../../src/continual/trainer.js';
import { makeLearner } from '../../src/continual/registry.js';
import { Rng } from '../../src/core/rng.js';

const small: Record<string, Record<string, unknown>> = {
  ranpac: { projections: { ranpac: 96, 'ranpac-m0': 0 }, train: { epochs: 1 } },
  safe: { M: 96, trainFirst: { epochs: 1 }, trainLater: { epochs: 1 } },
};

async function setup() {
  await initTf();
  const mini = loadMiniature('synthetic', { quick: true });
  const { backbone, manifest } = pretrainBackbone(mini, { seed: 0, train: { epochs: 2 } });
  return { mini, backbone, manifest };
}

test('cil run on the synthetic miniature: JSON shape, SAFE outputs, paired runs; resume after an interruption gives the same result', async () => {
  const { mini, backbone } = await setup();
  const opts: CilRunOptions = { split: 'B4Inc4', seeds: [1], methods: ['simplecil', 'ranpac', 'safe'], methodOptions: small };
  const full = await runCil(mini, backbone, opts);
  const methods = new Set(full.runs.map((r) => r.method));
  for (const m of ['simplecil', 'ranpac', 'ranpac-m0', 'safe', 'safe-slow', 'safe-fast']) assert.ok(methods.has(m), `missing ${m}`);
  for (const r of full.runs) {
    assert.equal(r.acc_matrix.length, 5);
    assert.deepEqual(r.acc_matrix.map((row) => row.length), [1, 2, 3, 4, 5]);
    assert.deepEqual(r.group_acc, r.acc_matrix[4]);
    assert.ok(r.last_acc > 100 / 20 && r.last_acc <= 100, `${r.method} ${r.last_acc}`);
    assert.ok(Math.abs(r.last_acc - r.last_acc_mean_group) < 1e-9, 'equal group test counts: the two accuracies coincide');
  }
  assert.ok(full.summary.safe && typeof full.summary.safe.last_acc_mean === 'number');
  const safe = full.runs.find((r) => r.method === 'safe')!;
  assert.equal(safe.w_fast_group!.length, 5);

  const dir = mkdtempSync(join(tmpdir(), 'cil-resume-'));
  try {
    await assert.rejects(runCil(mini, backbone, { ...opts, checkpointDir: dir, onSession: (_s, t) => { if (t === 2) throw new Error('interrupted'); } }), /interrupted/);
    assert.ok(existsSync(join(dir, 'seed-1', 'state.json')));
    const resumed = await runCil(mini, backbone, { ...opts, checkpointDir: dir, resume: true });
    for (const r of full.runs) {
      const q = resumed.runs.find((x) => x.method === r.method)!;
      assert.deepEqual(q.acc_matrix, r.acc_matrix, r.method);
    }
    await assert.rejects(runCil(mini, backbone, { ...opts, split: 'B8Inc4', checkpointDir: dir, resume: true }), /another configuration/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('backbone checkpoints round-trip with their hash; a corrupted weight file is refused', async () => {
  const { mini, backbone, manifest } = await setup();
  const dir = mkdtempSync(join(tmpdir(), 'cil-bb-'));
  try {
    const saved = saveBackbone(dir, backbone, manifest);
    assert.match(saved.sha256, /^[0-9a-f]{64}$/);
    const { backbone: b2 } = loadBackbone(dir);
    const x = mini.test.x.subarray(0, 64 * 5);
    const { tf } = await import('../../src/core/tensor.js');
    const f1 = backbone.forward(tf.tensor2d(x, [5, 64])).dataSync();
    const f2 = b2.forward(tf.tensor2d(x, [5, 64])).dataSync();
    assert.deepEqual(f2, f1);
    const { writeFileSync, readFileSync } = await import('node:fs');
    const w = readFileSync(join(dir, 'weights.bin'));
    w[10] = w[10]! ^ 0xff;
    writeFileSync(join(dir, 'weights.bin'), w);
    assert.throws(() => loadBackbone(dir), /sha256/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registry and options: unknown names list the known ones', async () => {
  const { backbone } = await setup();
  const ctx = { backbone, numClasses: 4, seed: 0, rng: new Rng(0) };
  assert.throws(() => makeLearner('ewc', ctx), /unknown method "ewc"; known: simplecil, ranpac, safe/);
  assert.throws(() => makeLearner('ranpac', ctx, { lamda: 1 }), /ranpac: unknown option "lamda"; known: pet, train/);
  assert.throws(() => makeLearner('safe', ctx, { transferNorm: 'feature' }), /transferNorm/);
  assert.throws(() => makeLearner('safe', ctx, { trainLater: { epoch: 2 } }), /unknown option "epoch"/);
});
