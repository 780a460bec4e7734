import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../../src/core/tensor.js';
import { loadMiniature } from '../../src/continual/data.js';
import { pretrainBackbone } from '../../src/continual/pretrain.js';
import { runCil, type CilRunOptions } from '../../src/continual/trainer.js';

// Multi-seed runs must not keep tensors from one seed to the next: tf.variable(t) keeps t alive,
// so every PET store, cosine head or restored checkpoint made from a fresh tensor used to leave
// tensors behind (about 24 per seed here; wasm memory that never comes back in long runs).
const small: Record<string, Record<string, unknown>> = {
  ranpac: { projections: { ranpac: 64, 'ranpac-m0': 0 }, train: { epochs: 1 } },
  safe: { M: 64, trainFirst: { epochs: 1 }, trainLater: { epochs: 1 }, driftCompensation: true, dcSamplesPerClass: 32 },
};

test('cil run: tensor count does not grow from seed to seed (with checkpoints and a resume)', async () => {
  await initTf();
  const mini = loadMiniature('synthetic', { quick: true });
  const { backbone } = pretrainBackbone(mini, { seed: 0, train: { epochs: 1 } });
  const dir = mkdtempSync(join(tmpdir(), 'cil-leak-'));
  try {
    const opts: CilRunOptions = { split: 'B4Inc4', seeds: [1], methods: ['simplecil', 'ranpac', 'safe'], methodOptions: small, checkpointDir: dir };
    const after: number[] = [], vars: number[] = [];
    const varCount = (): number => Object.keys((tf.engine().state as unknown as { registeredVariables: Record<string, unknown> }).registeredVariables).length;
    for (const seed of [1, 2, 3]) {
      await runCil(mini, backbone, { ...opts, seeds: [seed] });
      after.push(tf.memory().numTensors);
      vars.push(varCount());
    }
    assert.equal(after[2], after[0], `tensors after seeds 1, 2, 3: ${after.join(', ')}`);
    assert.equal(vars[2], vars[0], `variables after seeds 1, 2, 3: ${vars.join(', ')}`);
    // Interrupt seed 4 after its second session, then resume: restoring checkpoints must not leak either.
    await assert.rejects(runCil(mini, backbone, { ...opts, seeds: [4], onSession: (_s, t) => { if (t === 1) throw new Error('interrupted'); } }), /interrupted/);
    await runCil(mini, backbone, { ...opts, seeds: [4], resume: true });
    assert.equal(tf.memory().numTensors, after[0], 'tensors after an interrupted and resumed seed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
