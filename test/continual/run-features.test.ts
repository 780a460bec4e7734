// `cil run --features/--labels`: the feature-level learners on a cached feature set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gaussianMixture } from '../../src/core/data/synthetic.js';
import { writeNpy } from '../../src/core/data/npy.js';
import { Rng } from '../../src/core/rng.js';
import { main } from '../../src/cli/index.js';

test('cil run on a feature cache writes the run record and learns the classes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cil-feat-'));
  const ds = gaussianMixture({ classes: 10, perClass: 40, dim: 24 }, new Rng(3));
  writeNpy(join(dir, 'f.npy'), ds.x, [ds.n, ds.d]);
  writeNpy(join(dir, 'l.npy'), ds.y, [ds.n]);
  const json = join(dir, 'out.json');
  const code = await main(['cil', 'run', '--features', join(dir, 'f.npy'), '--labels', join(dir, 'l.npy'), '--methods', 'simplecil,ranpac', '--seeds', '2', '--m', '128', '--json', json]);
  assert.equal(code, 0);
  const rec = JSON.parse(readFileSync(json, 'utf8')) as { split: string; seeds: number[]; runs: { method: string; last_acc: number }[]; backbone: { features: string } };
  assert.equal(rec.split, 'B2Inc2');
  assert.deepEqual(rec.seeds, [0, 1]);
  assert.equal(rec.backbone.features, join(dir, 'f.npy'));
  assert.deepEqual([...new Set(rec.runs.map((r) => r.method))].sort(), ['ranpac', 'ranpac-m0', 'simplecil']);
  // Ten well-separated classes: every learner must be far above chance (10 %).
  for (const r of rec.runs) assert.ok(r.last_acc > 50, `${r.method} ${r.last_acc}`);
});

test('cil run rejects a feature cache without labels and a backbone beside features', async () => {
  // Input errors end the command with exit code 2 and a one-line message, before any work.
  const never = join(tmpdir(), `never-${process.pid}.json`);
  assert.equal(await main(['cil', 'run', '--features', 'x.npy', '--json', never]), 2);
  assert.equal(await main(['cil', 'run', '--features', 'x.npy', '--labels', 'y.npy', '--backbone', 'b', '--json', never]), 2);
  assert.throws(() => readFileSync(never));
});
