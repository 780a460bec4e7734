// `cil run --methods co2l,...` reaches the Co2L/CILA runner and writes its record shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';

test('cil run routes co2l/cila methods to the Co2L runner, with lambda and loss ratios per task', async () => {
  const json = join(mkdtempSync(join(tmpdir(), 'cil-co2l-')), 'r.json');
  assert.equal(await main(['cil', 'run', '--methods', 'co2l,cila', '--dataset', 'synthetic', '--quick', '--seeds', '1', '--json', json]), 0);
  const rec = JSON.parse(readFileSync(json, 'utf8')) as { runs: { method: string; acc_matrix: number[][]; lambda_per_task: number[]; loss_ratio_per_task: (number | null)[] }[] };
  assert.deepEqual(rec.runs.map((r) => r.method).sort(), ['cila', 'co2l']);
  for (const r of rec.runs) {
    assert.equal(r.lambda_per_task.length, r.acc_matrix.length);
    assert.equal(r.loss_ratio_per_task.length, r.acc_matrix.length);
  }
});

test('a mixed cil run refuses an unknown method in any part and writes no record', async () => {
  const json = join(tmpdir(), `never-${process.pid}.json`);
  assert.equal(await main(['cil', 'run', '--methods', 'co2l,simplecil,nope', '--dataset', 'synthetic', '--quick', '--json', json]), 2);
  assert.ok(!existsSync(json), 'no record');
});
