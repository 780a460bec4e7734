// `cil co2l` and `cil atlas` hang under the existing `cil` group and write the documented shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { continualCli } from '../../src/cli/continual.js';
import { continualCilaCli } from '../../src/cli/continual-cila.js';

function program(): Command {
  const p = new Command();
  p.exitOverride();
  continualCli.register(p);
  continualCilaCli.register(p);
  return p;
}

test('cil co2l on the synthetic stream writes runs with lambda_per_task and loss_ratio_per_task; resume reuses results', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cila-cli-'));
  try {
    const p = program();
    const cil = p.commands.filter((c) => c.name() === 'cil');
    assert.equal(cil.length, 1);
    assert.ok(cil[0]!.commands.some((c) => c.name() === 'co2l') && cil[0]!.commands.some((c) => c.name() === 'atlas'));
    const json = join(dir, 'r.json');
    const args = ['cil', 'co2l', '--dataset', 'synthetic', '--per-class', '30', '--epochs-first', '1', '--epochs-later', '1', '--seeds', '1', '--methods', 'co2l,cila-pure', '--json', json];
    await p.parseAsync(args, { from: 'user' });
    const r = JSON.parse(readFileSync(json, 'utf8')) as { runs: { method: string; lambda_per_task: number[]; loss_ratio_per_task: (number | null)[]; acc_matrix: number[][]; last_acc: number }[]; summary: Record<string, unknown>; run: unknown };
    assert.deepEqual(r.runs.map((e) => e.method), ['co2l', 'cila-pure']);
    for (const e of r.runs) {
      assert.equal(e.lambda_per_task.length, 5);
      assert.equal(e.acc_matrix.length, 5);
      assert.ok(e.last_acc >= 0 && e.last_acc <= 100);
    }
    assert.equal(r.runs[1]!.loss_ratio_per_task.filter((v) => v !== null).length, 3);
    assert.ok(r.run);
    await program().parseAsync([...args, '--resume'], { from: 'user' });
    const again = JSON.parse(readFileSync(json, 'utf8')) as typeof r;
    assert.deepEqual(again.runs, r.runs);
    await assert.rejects(program().parseAsync(['cil', 'co2l', '--methods', 'co2l,nope', '--json', join(dir, 'x.json')], { from: 'user' }), /unknown Co2L\/CILA method "nope"/);
    await assert.rejects(program().parseAsync(['cil', 'atlas', '--order', 'sideways', '--json', join(dir, 'y.json')], { from: 'user' }), /--order sideways: known/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
