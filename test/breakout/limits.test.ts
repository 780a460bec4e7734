// Window and candle counts, table sizes and loop counts are capped before allocation (issue 17, item 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/core/errors.js';
import { evaluateWindows, footprintSpec, generateFootprintSet, generateOhlcv, parseWindowsJsonl, recordFromGenerated, recordToJson } from '../../src/breakout/index.js';
import { main } from '../../src/cli/index.js';
import { FakeProvider } from './helpers.js';
import { textOnly } from '../helpers/stdout.js';

async function code(argv: string[]): Promise<{ code: number; err: string }> {
  const e = process.stderr.write.bind(process.stderr), o = process.stdout.write.bind(process.stdout);
  let err = '';
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  process.stdout.write = textOnly();
  try { return { code: await main(argv), err }; } finally { process.stderr.write = e; process.stdout.write = o; }
}

test('footprint windows: huge counts, bands and bar counts are refused at once', async () => {
  assert.throws(() => generateFootprintSet(0, 1e12), /window count = 1000000000000 is above the limit/);
  assert.throws(() => footprintSpec({ bandTicks: [4, 1e8] }), /bandTicks 100000000 is above the limit/);
  assert.throws(() => footprintSpec({ breakoutTicks: [1, 1e9] }), InputError);
  assert.throws(() => footprintSpec({ rangeBars: 1e7 }), /rangeBars = 10000000 is above the limit/);
  // Within the count limit but not within memory (10^7 windows of 10^3 x 10^4 rows).
  assert.throws(() => generateFootprintSet(0, 9_000_000, { rangeBars: 1000, bandTicks: [4, 9000] }), /needs about/);
  assert.equal(generateFootprintSet(0, 3).length, 3);
  const t0 = performance.now();
  const r = await code(['breakout', 'synth', '--n', '1000000000000', '--out', '/nonexistent/never.jsonl']);
  assert.equal(r.code, 2);
  assert.ok(performance.now() - t0 < 3000);
});

test('candles: a count no array can hold is refused before allocation', async () => {
  assert.throws(() => generateOhlcv(0, { n: 1e11 }), /one array can hold/);
  const r = await code(['breakout', 'candles', '--n', '100000000000', '--out', '/nonexistent/never.csv']);
  assert.equal(r.code, 2);
  assert.match(r.err, /OHLCV spec n/);
});

test('breakout eval: learned training windows, seeds and repeats are capped', async () => {
  const items = parseWindowsJsonl(generateFootprintSet(5, 4).map((g) => JSON.stringify(recordToJson(recordFromGenerated(g)))).join('\n'), 'w.jsonl');
  await assert.rejects(evaluateWindows(items, 'learned', { quiet: true, seeds: 1, trainN: 1e8 }), /window count = 100000000 is above the limit/);
  await assert.rejects(evaluateWindows(items, 'learned', { quiet: true, seeds: 1e12 }), /seeds = 1000000000000 is above the limit/);
  const provider = new FakeProvider('never', () => { throw new Error('must not be called'); });
  await assert.rejects(evaluateWindows(items, 'single', { quiet: true, provider, repeats: 1e12 }), /repeats = 1000000000000 is above the limit/);
  assert.equal(provider.calls, 0);
});
