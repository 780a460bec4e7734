import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-theory-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('perennial theory regression writes the documented JSON shape and an HTML report', async () => {
  const json = join(dir, 'reg.json'), html = join(dir, 'reg.html');
  const code = await main(['theory', 'regression', '--tasks', '4', '--n', '8', '--p', '12', '--sigma2', '1,5', '--shift', 'none,diag',
    '--repeats', '2', '--lambdas', '0.01,1', '--json', json, '--html', html]);
  assert.equal(code, 0);
  const r = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(r.settings.length, 4);
  for (const s of r.settings) {
    assert.ok([1, 5].includes(s.sigma2) && ['none', 'diag'].includes(s.shift));
    for (const k of ['oracle', 'min_norm', 'gl2_population', 'gl2_empirical']) assert.equal(s.errors[k].length, 4, k);
    assert.deepEqual(Object.keys(s.errors.ridge).sort(), ['0.01', '1']);
    assert.equal(s.errors.ridge['0.01'].length, 4);
    assert.equal(s.theory.oracle.length, 4);
    assert.equal(s.theory.gl2_optimal.length, 4);
    assert.ok(s.gl2_empirical_vs_oracle_max_abs < 1e-10);
  }
  assert.equal(r.run.command, 'theory regression');
  const page = readFileSync(html, 'utf8');
  assert.ok((page.match(/<svg/g) ?? []).length >= 4, 'one curve plot per setting');
});

test('perennial theory hmm writes the documented JSON shape and drops p within 1 of n', async () => {
  const json = join(dir, 'hmm.json'), html = join(dir, 'hmm.html');
  const code = await main(['theory', 'hmm', '--n', '20', '--p', '3,10,19,20,21,40,80', '--repeats', '5', '--d', '6', '--json', json, '--html', html]);
  assert.equal(code, 0);
  const r = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(r.n, 20);
  assert.deepEqual(r.p, [3, 10, 40, 80]);
  assert.deepEqual(r.dropped_p, [19, 20, 21]);
  for (const k of ['risk_median', 'risk_q25', 'risk_q75']) assert.equal(r[k].length, 4, k);
  r.p.forEach((_: number, i: number) => assert.ok(r.risk_q25[i] <= r.risk_median[i] && r.risk_median[i] <= r.risk_q75[i]));
  assert.equal(r.null_risk, 6);
  assert.ok(readFileSync(html, 'utf8').includes('<svg'));
});

test('bad options fail with a message naming them', async () => {
  assert.equal(await main(['theory', 'regression', '--shift', 'none,rotate', '--repeats', '1', '--tasks', '2', '--n', '4', '--p', '5']), 2);
  assert.equal(await main(['theory', 'hmm', '--repeats', '0']), 2);
});
