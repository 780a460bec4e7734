// Issue 17, items 5 and 7 for breakout: rates over no answers are null with the reason (not
// 0.000), all-zero volume confirms nothing, duplicate window ids and empty inputs are errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import {
  allocCandles, candlesToCsv, detectRanges, evaluateWindows, generateFootprintSet, generateOhlcv, parseWindowsJsonl, recordFromGenerated, recordToJson,
  type Candles, type WindowItem,
} from '../../src/breakout/index.js';
import { ParseError } from '../../src/core/errors.js';
import { FakeProvider, oracleAnswer } from './helpers.js';
import { textOnly } from '../helpers/stdout.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-breakout-zero-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string): string => join(dir, name);

function lines(seed: number, n: number): string[] {
  return generateFootprintSet(seed, n).map((g) => JSON.stringify(recordToJson(recordFromGenerated(g))));
}
function items(seed: number, n: number): WindowItem[] {
  return parseWindowsJsonl(lines(seed, n).join('\n'), `gen${seed}.jsonl`);
}

async function run(argv: string[]): Promise<{ code: number; err: string; out: string }> {
  const w = process.stdout.write.bind(process.stdout), e = process.stderr.write.bind(process.stderr);
  let out = '', err = '';
  process.stdout.write = textOnly((s) => { out += s; });
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  // main reports process.exitCode, which an earlier in-process run may have set.
  process.exitCode = undefined;
  try { return { code: await main(argv), err, out }; } finally { process.stdout.write = w; process.stderr.write = e; process.exitCode = undefined; }
}

test('every window errored: verdict, stage and rationale rates are null with the reason (single and multi)', async () => {
  const its = items(31, 12);
  const down = new FakeProvider('down', () => ({ error: { kind: 'http', message: 'HTTP 500' } }));
  for (const pipeline of ['single', 'multi'] as const) {
    const s = (await evaluateWindows(its, pipeline, { provider: down, quiet: true })).summary;
    assert.ok(s.n > 0);
    assert.equal(s.n_answered, 0, pipeline);
    assert.equal(s.verdict_acc, null, pipeline);
    assert.equal(s.verdict_ci95, null, pipeline);
    assert.deepEqual(s.stage_acc, { direction: null, level: null, side: null });
    assert.equal(s.rationale_consistency, null);
    for (const k of ['verdict_acc', 'verdict_ci95', 'stage_acc', 'rationale_consistency']) assert.match(s.reasons![k]!, /every one of the \d+ scored windows errored/, `${pipeline} ${k}`);
    for (const pk of Object.values(s.per_kind)) { assert.equal(pk.verdict_acc, null); assert.ok((pk as { verdict_acc_reason?: string }).verdict_acc_reason); }
  }
  // One window answering is enough for a rate again; the errored ones count as wrong.
  let calls = 0;
  const mostlyDown = new FakeProvider('flaky', (req) => (calls++ < 1 ? oracleAnswer(req) : { error: { kind: 'http', message: 'HTTP 500' } }));
  const s = (await evaluateWindows(its, 'single', { provider: mostlyDown, quiet: true })).summary;
  assert.equal(s.n_answered, 1);
  assert.equal(typeof s.verdict_acc, 'number');
  assert.equal(s.reasons, undefined);
});

test('no scorable window (all excluded or malformed): rates null with the reason, learned trains nothing, no NaN', async () => {
  const bad = parseWindowsJsonl(['{"tick": 0.25, "tables": "nope"}', '{"id": "x", "tick": 0.25}'].join('\n'), 'bad.jsonl');
  for (const pipeline of ['rules', 'learned'] as const) {
    const s = (await evaluateWindows(bad, pipeline, { quiet: true, seeds: 1, trainN: 50 })).summary;
    assert.equal(s.n, 0);
    assert.equal(s.verdict_acc, null);
    assert.match(s.reasons!.verdict_acc!, /no window could be scored \(2 lines: 0 excluded as ties or without direction, 2 malformed\)/);
    assert.equal(s.learned, undefined);
    assert.doesNotMatch(JSON.stringify(s), /NaN/);
  }
});

test('CLI: breakout eval against a server failing every request exits 1; the record holds nulls with reasons', async () => {
  const { serveProvider } = await import('../../src/llm/index.js');
  const server = await serveProvider(new FakeProvider('down', () => ({ error: { kind: 'http', message: 'backend down' } })), { port: 0, modelName: 'down' });
  try {
    writeFileSync(f('w.jsonl'), lines(32, 6).join('\n') + '\n');
    const r = await run(['breakout', 'eval', '--data', f('w.jsonl'), '--pipeline', 'single', '--model', `openai:${server.url}#down`, '--json', f('down.json'), '--retries', '0']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /every one of the \d+ scored windows errored/);
    const rec = JSON.parse(readFileSync(f('down.json'), 'utf8')) as { verdict_acc: unknown; reasons: Record<string, string>; n_answered: number };
    assert.equal(rec.verdict_acc, null);
    assert.equal(rec.n_answered, 0);
    assert.match(rec.reasons.verdict_acc!, /errored/);
    assert.match(r.out, /rates are n\/a/);
  } finally { await server.close(); }
});

function zeroVolume(c: Candles): Candles {
  const z = allocCandles(c.n, true);
  for (const k of ['time', 'open', 'high', 'low', 'close'] as const) z[k].set(c[k]);
  return z; // volume stays 0
}

test('all-zero volume confirms no breakout; --require-volume refuses with the reason', async () => {
  const { candles } = generateOhlcv(3, { n: 3000 });
  const withVol = detectRanges(candles);
  assert.ok(withVol.events.some((e) => e.volumeConfirmed === false), 'the generator has unconfirmed breakouts');
  const z = zeroVolume(candles);
  const r = detectRanges(z);
  assert.ok(r.events.length > 0);
  assert.ok(r.events.every((e) => e.volumeConfirmed === null), 'no breakout is confirmed by volume 0 >= 1.5 * 0');
  assert.throws(() => detectRanges(z, { requireVolume: true }), /--require-volume: the volume column is 0 on every bar/);
  const noCol = allocCandles(candles.n, false);
  for (const k of ['time', 'open', 'high', 'low', 'close'] as const) noCol[k].set(candles[k]);
  assert.throws(() => detectRanges(noCol, { requireVolume: true }), /no volume column/);
  // CLI: the zero-volume CSV with --require-volume is a one-line error, without it a warning.
  writeFileSync(f('zero.csv'), candlesToCsv(z));
  const cli = await run(['breakout', 'ranges', '--csv', f('zero.csv'), '--require-volume', '--json', f('zero.json')]);
  assert.equal(cli.code, 2);
  assert.match(cli.err, /volume column is 0 on every bar/);
  assert.equal(existsSync(f('zero.json')), false);
  // A quiet range (volume 0 inside) with volume on the breakout bar: confirmed.
  const q = zeroVolume(candles);
  const e0 = withVol.events[0]!;
  q.volume[e0.index] = 10;
  assert.equal(detectRanges(q).events.find((e) => e.index === e0.index)?.volumeConfirmed, true);
});

test('duplicate window ids are an error naming both lines (JSONL and text tables), in eval, label and export', async () => {
  const ls = lines(33, 3);
  const second = JSON.parse(ls[1]!) as { id: string };
  const dup = [ls[0]!, ls[1]!, ls[2]!.replace(/"id":"[^"]*"/, `"id":"${second.id}"`)];
  assert.throws(() => parseWindowsJsonl(dup.join('\n'), 'dup.jsonl'), (e: unknown) => e instanceof ParseError && e.line === 3 && e.field === 'id' && /line 2/.test(e.message));
  writeFileSync(f('dup.jsonl'), dup.join('\n') + '\n');
  for (const argv of [['breakout', 'eval', '--data', f('dup.jsonl'), '--pipeline', 'rules'], ['breakout', 'label', f('dup.jsonl')], ['breakout', 'export', '--data', f('dup.jsonl'), '--out-dir', f('ft-dup')]]) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /dup\.jsonl:3 \(id\)/);
  }
  // Text tables: two windows headed by the same "# id".
  assert.equal((await run(['breakout', 'synth', '--n', '2', '--out', f('t.jsonl'), '--text', f('t.txt')])).code, 0);
  const txt = readFileSync(f('t.txt'), 'utf8');
  const ids = [...txt.matchAll(/^# (.+)$/gm)].map((m) => m[1]!);
  writeFileSync(f('dup.txt'), txt.replace(`# ${ids[1]}`, `# ${ids[0]}`));
  const r = await run(['breakout', 'label', f('dup.txt')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /dup\.txt.*\(id\)/);
});

test('empty inputs are errors: empty JSONL or text file, --limit 0, a CSV with only its header', async () => {
  writeFileSync(f('empty.jsonl'), '\n\n');
  writeFileSync(f('empty.txt'), '');
  for (const argv of [
    ['breakout', 'eval', '--data', f('empty.jsonl'), '--pipeline', 'rules'],
    ['breakout', 'eval', '--data', f('empty.txt'), '--pipeline', 'learned'],
    ['breakout', 'label', f('empty.jsonl')],
    ['breakout', 'export', '--data', f('empty.jsonl'), '--out-dir', f('ft-empty')],
  ]) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /no windows in the file/);
  }
  writeFileSync(f('two.jsonl'), lines(34, 2).join('\n') + '\n');
  assert.equal((await run(['breakout', 'eval', '--data', f('two.jsonl'), '--pipeline', 'rules', '--limit', '0'])).code, 2);
  writeFileSync(f('head.csv'), 'date,open,high,low,close,volume\n');
  const r = await run(['breakout', 'ranges', '--csv', f('head.csv')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /head\.csv:2 \(row\): expected at least one candle row/);
});
