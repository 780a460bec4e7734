// Sweep files and local sweeps: errors name file, line and key; job ids are stable; a rerun skips
// what the store has; failed jobs keep their error and rerun only with --retry-failed; a job
// process killed mid-run is retried and recorded once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/index.js';
import { commandCheck } from '../../src/cli/sweep.js';
import { ParseError } from '../../src/core/errors.js';
import { perennialCommand } from '../../src/core/store/runner.js';
import { RunStore } from '../../src/core/store/runs.js';
import { jobId, parseSweepText, resolveArgv } from '../../src/core/store/sweep-config.js';
import { childPids, cliSpawn, cliSync, tempDir, waitFor } from './helpers.js';

const check = commandCheck(await buildProgram());
const env = { PERENNIAL_QUIET: '1' };

function errorOf(text: string): ParseError {
  try { parseSweepText(text, 'S.yaml', check); } catch (e) { if (e instanceof ParseError) return e; throw e; }
  throw new Error('no error');
}

test('sweep file errors name the file, the line and the key', () => {
  const base = 'command: theory regression\nargs: {tasks: 2}\n';
  let e = errorOf(base + 'grid:\n  seed: 3\n');
  assert.equal(e.line, 4);
  assert.equal(e.field, 'grid.seed');
  assert.match(e.message, /^S\.yaml:4 \(grid\.seed\)/);
  e = errorOf(base + 'grid: {seed: [1]}\nextra: 1\n');
  assert.equal(e.line, 4, 'an unknown key is reported at the key');
  assert.equal(e.field, 'extra');
  assert.match(e.message, /expected a sweep key \(command, args, grid, attempts, timeout, html\), found "extra"/);
  e = errorOf('command: theory regresion\ngrid: {seed: [1]}\n');
  assert.equal(e.line, 1);
  assert.equal(e.field, 'command');
  assert.match(e.message, /regression/);
  e = errorOf(base + 'grid:\n  seed: [1]\n  sigmaa: [1, 2]\n');
  assert.equal(e.line, 5);
  assert.equal(e.field, 'grid.sigmaa');
  assert.match(e.message, /--sigma2/);
  e = errorOf(base + 'grid: {seed: [1], json: [a]}\n');
  assert.equal(e.field, 'grid.json');
  e = errorOf(base + 'grid: {seed: [1]}\ngrid: {seed: [2]}\n');
  assert.equal(e.field, 'yaml');
  assert.equal(e.line, 4);
  e = errorOf(base + 'grid: {seed: [1, 1]}\n'.replace('[1, 1]', '[]'));
  assert.equal(e.field, 'grid.seed');
  const cli = cliSync(['sweep', '--config', '/nonexistent/S.yaml'], env);
  assert.equal(cli.code, 2);
  assert.equal(cli.stderr.trim().split('\n').length, 1);
  assert.match(cli.stderr, /cannot read sweep file/);
});

test('job ids: the hash of the resolved command line, the same for the same point', () => {
  const a = parseSweepText('command: theory regression\nargs: {tasks: 2, sigma2: [1, 5]}\ngrid: {seed: [0, 1], repeats: [2]}\n', 'a.yaml', check);
  const b = parseSweepText('command: theory regression\ngrid: {repeats: [2], seed: [1, 0]}\nargs: {sigma2: [1, 5], tasks: 2}\n', 'b.yaml', check);
  assert.equal(a.jobs.length, 2);
  assert.deepEqual(a.jobs.map((j) => j.id).sort(), b.jobs.map((j) => j.id).sort());
  assert.equal(a.id, b.id);
  assert.deepEqual(a.jobs[0]!.argv, ['theory', 'regression', '--repeats', '2', '--seed', '0', '--sigma2', '1,5', '--tasks', '2']);
  assert.equal(a.jobs[0]!.id, jobId(resolveArgv(a.spec, { seed: 0, repeats: 2 })));
  assert.match(a.jobs[0]!.id, /^[0-9a-f]{16}$/);
});

test('local sweep: records each job once, a rerun skips them, a failed job keeps its error until --retry-failed', { timeout: 400_000 }, async () => {
  const dir = tempDir('sweep-local');
  try {
    const cfg = join(dir, 'S.yaml');
    writeFileSync(cfg, 'command: theory regression\nargs: {tasks: 2, n: 5, p: 5, repeats: 1, sigma2: 1}\ngrid: {shift: [none, bogus]}\nattempts: 1\n');
    const store = join(dir, 'st', 'perennial.db');
    const r1 = cliSync(['sweep', '--config', cfg, '--local', '2', '--store', store], env, 300_000);
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stdout, /1\/2 jobs recorded/);
    assert.match(r1.stderr, /unknown setting "bogus"/);
    const sweep = parseSweepText(readFileSync(cfg, 'utf8'), cfg);
    const [good, bad] = sweep.jobs;
    const s = new RunStore(store);
    assert.deepEqual(s.list({ command: 'theory regression' }).map((r) => r.job), [good!.id]);
    const st = s.jobStates([bad!.id]).get(bad!.id)!;
    assert.equal(st.state, 'failed');
    assert.match(st.error!, /bogus/);
    s.close();
    const summary = JSON.parse(readFileSync(join(dir, 'st', 'sweeps', `${sweep.id}.json`), 'utf8'));
    assert.equal(summary.jobs_done, 1);
    assert.equal(summary.jobs_failed, 1);
    assert.equal(summary.run.command, 'sweep');
    // Rerun: nothing runs (the good job is in the store, the failed one stays failed).
    const r2 = cliSync(['sweep', '--config', cfg, '--local', '2', '--store', store], { PERENNIAL_QUIET: '0' }, 300_000);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /1 already in the store, 1 failed earlier \(--retry-failed reruns them\), 0 to run/);
    const r3 = cliSync(['sweep', '--config', cfg, '--local', '2', '--store', store, '--retry-failed'], { PERENNIAL_QUIET: '0' }, 300_000);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /1 already in the store, 1 to run/);
    assert.match(r3.stderr, /sweep: 1\/2 done, 0 running, 1 failed, 0 waiting/);
    const s2 = new RunStore(store);
    assert.equal(s2.list({ command: 'theory regression' }).length, 1);
    assert.equal(s2.jobStates([bad!.id]).get(bad!.id)!.attempts, 1);
    s2.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('local sweep: a job process SIGKILLed mid-run is retried and recorded once', { timeout: 400_000 }, async () => {
  const dir = tempDir('sweep-kill');
  try {
    const cfg = join(dir, 'S.yaml');
    writeFileSync(cfg, 'command: theory regression\nargs: {tasks: 2, n: 5, p: 5, repeats: 1, sigma2: 1, shift: none}\ngrid: {seed: [3, 4]}\n');
    const store = join(dir, 'st', 'perennial.db');
    const p = cliSpawn(['sweep', '--config', cfg, '--local', '2', '--store', store], env);
    const victim = await waitFor('a job process', () => childPids(p.child.pid!).find((pid) => {
      try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('job-entry'); } catch { return false; }
    }), 120_000, 50);
    process.kill(victim, 'SIGKILL');
    const code = await p.done;
    assert.equal(code, 0, p.err());
    const s = new RunStore(store);
    const ids = parseSweepText(readFileSync(cfg, 'utf8'), cfg).jobs.map((j) => j.id).sort();
    assert.deepEqual(s.list({ command: 'theory regression' }).map((r) => r.job).sort(), ids);
    const states = s.jobStates(ids);
    assert.ok([...states.values()].some((x) => x.attempts === 2), 'the killed job took a second try');
    s.close();
    assert.deepEqual(readdirSync(join(dir, 'st', 'jobs')).filter((f) => f.endsWith('.json')).sort(), ids.map((i) => `${i}.json`));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('job processes start from any working folder (the runner names tsx by its path, not a bare specifier)', { timeout: 120_000 }, () => {
  const dir = tempDir('job-cwd');
  try {
    const { cmd, args } = perennialCommand();
    const r = spawnSync(cmd, [...args, 'theory', 'regression', '--help'], { cwd: dir, encoding: 'utf8', timeout: 100_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--sigma2/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
