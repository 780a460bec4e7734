// Every theory size is capped before allocation: too large a run is refused in milliseconds with
// one line naming the sizes, instead of growing until a RangeError (issue 17, item 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/index.js';
import { InputError } from '../../src/core/errors.js';
import { simulateCLR, simulationBytes } from '../../src/theory/simulate.js';
import { riskCurve } from '../../src/theory/hmm.js';
import { checkRegressionOptions, REGRESSION_DEFAULTS, runHmm, HMM_DEFAULTS } from '../../src/theory/experiments.js';
import { textOnly } from '../helpers/stdout.js';

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; err: string; ms: number }> {
  const w = process.stderr.write.bind(process.stderr), o = process.stdout.write.bind(process.stdout);
  let err = '';
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) { saved[k] = process.env[k]; process.env[k] = v; }
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  process.stdout.write = textOnly();
  const t = performance.now();
  try {
    const code = await main(argv);
    return { code, err, ms: performance.now() - t };
  } finally {
    process.stderr.write = w; process.stdout.write = o;
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

test('theory regression --p 1000000000 is refused at once with one line naming p', async () => {
  const r = await run(['theory', 'regression', '--tasks', '2', '--n', '10', '--p', '1000000000', '--repeats', '1']);
  assert.equal(r.code, 2);
  assert.match(r.err, /p = 1000000000/);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.ok(r.ms < 2000, `took ${r.ms} ms`);
});

test('theory regression: sizes over the memory budget, and counts over their fixed limits, are refused', async () => {
  // 20000^2 doubles per matrix: about 18 GiB in all, over a 1 GiB budget (and over half of most machines).
  const big = await run(['theory', 'regression', '--tasks', '2', '--n', '10', '--p', '20000', '--repeats', '1'], { PERENNIAL_MAX_BYTES: '1G' });
  assert.equal(big.code, 2);
  assert.match(big.err, /needs about .*GiB, more than the 1\.00 GiB allowed \(PERENNIAL_MAX_BYTES=1G\)/);
  // Many rows per task: the designs, not p x p, are what is too big.
  assert.equal((await run(['theory', 'regression', '--tasks', '50', '--n', '100000000', '--p', '20', '--repeats', '1'], { PERENNIAL_MAX_BYTES: '1G' })).code, 2);
  const tasks = await run(['theory', 'regression', '--tasks', '200000000', '--n', '10', '--p', '20', '--repeats', '1']);
  assert.equal(tasks.code, 2);
  assert.match(tasks.err, /--tasks = 200000000 is above the limit/);
  const reps = await run(['theory', 'regression', '--tasks', '2', '--n', '10', '--p', '20', '--repeats', '5000000000']);
  assert.equal(reps.code, 2);
  assert.match(reps.err, /--repeats = 5000000000 is above the limit/);
  // The defaults pass the check (it is not a blanket refusal).
  assert.doesNotThrow(() => checkRegressionOptions(REGRESSION_DEFAULTS));
});

test('theory hmm: huge n, p, d, L or repeats are refused before allocation', async () => {
  for (const argv of [
    ['--n', '100000', '--p', '5,100000000'],
    ['--n', '10', '--d', '100000'],
    ['--n', '100', '--L', '1000000000'],
    ['--n', '100', '--repeats', '9000000000'],
  ]) {
    const r = await run(['theory', 'hmm', '--repeats', '1', ...argv]);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.ok(r.ms < 2000, `${argv.join(' ')} took ${r.ms} ms`);
  }
  const mem = await run(['theory', 'hmm', '--n', '5000', '--p', '10,20000', '--repeats', '1'], { PERENNIAL_MAX_BYTES: '100M' });
  assert.equal(mem.code, 2);
  assert.match(mem.err, /n = 5000, largest p = 20000/);
});

test('the library entry points cap sizes too (simulateCLR, riskCurve, runHmm)', () => {
  assert.throws(() => simulateCLR({ p: 1e9, n: 10, T: 2, sigma2: 1, shift: 'none', repeats: 1, seed: 0 }), InputError);
  assert.throws(() => simulateCLR({ p: 10, n: 10, T: 1e9, sigma2: 1, shift: 'none', repeats: 1, seed: 0 }), InputError);
  assert.throws(() => riskCurve({ n: 1e6, ps: [1e7], repeats: 1, sigmaU: 1 }), InputError);
  assert.throws(() => runHmm({ ...HMM_DEFAULTS, p: [5, 10], d: 1e6 }), InputError);
});

test('the regression memory estimate grows with p^2 and with the designs', () => {
  const a = simulationBytes(100, [10, 10], 1, 4), b = simulationBytes(200, [10, 10], 1, 4), c = simulationBytes(100, [10000, 10000], 1, 4);
  assert.ok(b > 3.5 * a && b < 4.5 * a, `${a} -> ${b}`);
  assert.ok(c > 8 * 3 * 20000 * 100);
});
