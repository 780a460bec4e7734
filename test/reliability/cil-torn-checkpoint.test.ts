// A kill between saving the learners of a session and committing state.json (found by the random
// SIGKILL test of `cil run`): the resumed run must redo that session from the previous session's
// learners, not fit it twice. Rebuilt here deterministically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf } from '../../src/core/tensor.js';
import { loadMiniature } from '../../src/continual/data.js';
import { pretrainBackbone } from '../../src/continual/pretrain.js';
import { runCil, type CilRunOptions } from '../../src/continual/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-torn-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('cil: learners saved one session ahead of state.json are not used on resume', { timeout: 600_000 }, async () => {
  await initTf();
  const mini = loadMiniature('synthetic', { quick: true });
  const { backbone } = pretrainBackbone(mini, { seed: 0, train: { epochs: 1 } });
  const opts: CilRunOptions = {
    split: 'B4Inc4', seeds: [2], methods: ['simplecil', 'ranpac'],
    methodOptions: { ranpac: { projections: { ranpac: 64, 'ranpac-m0': 0 }, train: { epochs: 1 } } },
  };
  const full = await runCil(mini, backbone, opts);
  const ck = join(dir, 'ckpt'), seedDir = join(ck, 'seed-2');
  const stop = (at: number) => (_s: number, t: number): void => { if (t === at) throw new Error('interrupted'); };
  // Sessions 0-2 committed; keep that state and the learners it points to.
  await assert.rejects(runCil(mini, backbone, { ...opts, checkpointDir: ck, onSession: stop(2) }), /interrupted/);
  const state3 = readFileSync(join(seedDir, 'state.json'));
  const saved = join(dir, 'learners-after-3');
  cpSync(seedDir, saved, { recursive: true });
  // Session 3 runs and commits; then put back state.json of session 2 and its learners: on disk
  // now are the learners of session 3 beside a state that says session 3 is still to do, as a
  // kill between the learner writes and the state commit leaves them.
  await assert.rejects(runCil(mini, backbone, { ...opts, checkpointDir: ck, resume: true, onSession: stop(3) }), /interrupted/);
  cpSync(saved, seedDir, { recursive: true });
  writeFileSync(join(seedDir, 'state.json'), state3);
  assert.equal((JSON.parse(state3.toString()) as { completed: number }).completed, 3);
  assert.ok(existsSync(join(seedDir, 's4')), 'the learners of session 3 are on disk ahead of the state');
  const resumed = await runCil(mini, backbone, { ...opts, checkpointDir: ck, resume: true });
  for (const r of full.runs) {
    const q = resumed.runs.find((x) => x.method === r.method)!;
    assert.deepEqual(q.acc_matrix, r.acc_matrix, r.method);
  }
  assert.deepEqual(resumed.diagnostics, full.diagnostics);
});
