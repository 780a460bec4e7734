// The CLI's own texts: unknown names are errors listing the valid ones, help names every method,
// and a config or record error names the line it is on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { LEARNERS } from '../../src/continual/registry.js';
import { textOnly } from '../helpers/stdout.js';

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = textOnly((s) => { out += String(s); });
  process.stderr.write = ((s: string | Uint8Array) => { err += String(s); return true; }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = undefined;
  }
}

test('demo --only with an unknown area fails before doing anything and lists the valid areas', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-ux-'));
  const r = await runCli(['demo', '--out', join(dir, 'demo'), '--only', 'theory,nosuch']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown area nosuch; valid: .*theory.*crystal/);
  assert.equal(existsSync(join(dir, 'demo')), false, 'no output folder for a refused run');
});

test('cil --help names every method', async () => {
  const r = await runCli(['cil', '--help']);
  const text = (r.out + r.err).replace(/\s+/g, ' ');
  for (const m of [...LEARNERS.keys(), 'co2l', 'cila', 'atlas']) assert.ok(text.includes(m), `cil --help names ${m}`);
});

test('cil merge: a record with a syntax error is reported at its line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-ux-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{\n  "dataset": "x",\n  "split": "B0Inc2",\n  "seeds": [0],\n  "runs": [,]\n}\n');
  const r = await runCli(['cil', 'merge', bad, '--json', join(dir, 'm.json')]);
  assert.equal(r.code, 2);
  assert.ok(r.err.includes(`${bad}:5 (json)`), r.err);
});
