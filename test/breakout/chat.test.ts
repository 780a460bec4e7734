import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  footprintFromChat, formatPrice, generateFootprintSet, importChatJsonl, labelFootprint, parseWindowsJsonl, recordFromGenerated, toChatExamples, toChatJsonl, upstreamAnswer,
  type FootprintWindow,
} from '../../src/breakout/index.js';
import { main } from '../../src/cli/index.js';
import { collectedWarnings } from '../../src/core/errors.js';
import { textOnly } from '../helpers/stdout.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-breakout-chat-'));
const f = (name: string): string => join(dir, name);

/** The upstream layout: every table on one line, numbered from 1, then the question. */
function upstreamUser(w: FootprintWindow, opts: { noSpace?: number } = {}): string {
  const tables = w.tables.map((t, i) => {
    const head = i === opts.noSpace ? `Table${i + 1}:` : `Table ${i + 1}:`;
    return `${head} Sell Buy Price ${t.rows.map((r) => `${r.sell} ${r.buy} ${formatPrice(r.priceTicks, w.tick)}`).join(' ')}`;
  });
  return `${tables.join(' ')} Is the last bar a true or a false breakout? Reason first, then answer.`;
}

const line = (user: string | null, assistant: string | null): string => JSON.stringify({
  messages: [{ role: 'system', content: 'You detect breakouts.' }, ...(user !== null ? [{ role: 'user', content: user }] : []), ...(assistant !== null ? [{ role: 'assistant', content: assistant }] : [])],
});

const gen = generateFootprintSet(21, 6);
const ws = gen.map((g) => g.window);

test('footprintFromChat: one-line upstream tables (numbered from 1, a header without the space) equal the window', () => {
  const w = footprintFromChat(upstreamUser(ws[0]!, { noSpace: 2 }));
  assert.deepEqual(w.tables, ws[0]!.tables.map((t, i) => ({ ...t, index: i })));
  assert.equal(w.tick, 0.25);
});

test('upstreamAnswer reads the verdict, direction and level phrases, and our JSON answers', () => {
  const a = upstreamAnswer('Step 1: the breakout direction is upward. Step 2: the resistance level is 1006.25. A false breakout would reverse; Conclusion: This is a true breakout.');
  assert.deepEqual(a, { verdict: true, direction: 'upward', level: 1006.25 });
  assert.deepEqual(upstreamAnswer('{"reason": "r", "answer": false}'), { verdict: false, direction: null, level: null });
  assert.deepEqual(upstreamAnswer('{"reason": "r", "answer": "downward"}'), { verdict: null, direction: 'downward', level: null });
  assert.deepEqual(upstreamAnswer('no idea'), { verdict: null, direction: null, level: null });
});

test('importChatJsonl: good lines become windows; torn JSON, a missing assistant, unparsable tables and no tables are reported by line', () => {
  const l0 = labelFootprint(ws[0]!);
  const verdictText = (v: boolean | null): string => `Conclusion: This is a ${v ? 'true' : 'false'} breakout.`;
  const good0 = line(upstreamUser(ws[0]!), verdictText(l0.verdict));
  const offGrid = upstreamUser(ws[2]!).replace(/ (\d+)\.(\d\d) /, ' $1.13 ');
  const text = [
    good0, // 1
    line(upstreamUser(ws[1]!), verdictText(!labelFootprint(ws[1]!).verdict)), // 2: the upstream answer contradicts the rules
    good0.slice(0, 80), // 3: torn
    '', // 4: blank, not counted
    line(upstreamUser(ws[3]!), null), // 5: no assistant
    line(offGrid, 'Conclusion: This is a true breakout.'), // 6: a price off the 0.25 grid
    line('Direction upward, level 1000, buyers stronger. Write the report.', 'true breakout'), // 7: no tables (report-generator file)
    line(upstreamUser(ws[0]!), `The breakout direction is ${l0.direction}.`), // 8: same tables as line 1 (a stage question): merged
    '[1, 2]', // 9: not an object
    line(upstreamUser(ws[1]!), 'The resistance level is 1.25.'), // 10: same tables as line 2, a level
    line(upstreamUser(ws[1]!), 'The resistance level is 2.5.'), // 11: the same window, another level: warned, the first kept
    JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', text: upstreamUser(ws[5]!) }] }, { role: 'assistant', content: 7 }] }), // 12: content not text
  ].join('\n') + '\n';
  const r = importChatJsonl(text, 'sample.jsonl');
  assert.equal(r.lines, 11);
  assert.deepEqual(r.records.map((x) => x.window.id), ['sample-L1', 'sample-L2']);
  assert.equal(r.merged, 3);
  assert.deepEqual(r.records[0]!.meta?.source, { file: 'sample.jsonl', lines: [1, 8] });
  assert.deepEqual(r.records[0]!.meta?.upstream, { verdict: l0.verdict, direction: l0.direction, level: null });
  assert.deepEqual(r.skipped.map((s) => s.line), [3, 5, 6, 7, 9, 12]);
  const why = Object.fromEntries(r.skipped.map((s) => [s.line, s.reason]));
  assert.match(why[3]!, /not valid JSON/);
  assert.match(why[5]!, /no assistant message/);
  assert.match(why[6]!, /^footprint not parsable \(user: table 1 row 0 price\): expected a price on the 0.25 tick grid, found "\d+\.13"$/);
  assert.match(why[7]!, /footprint tables/);
  assert.match(why[9]!, /JSON object .*an array/);
  assert.match(why[12]!, /messages\[1\] is not/);
  assert.deepEqual(r.records[1]!.meta?.source?.lines, [2, 10, 11]);
  assert.equal(r.records[1]!.meta?.upstream?.level, 1.25);
  assert.ok(collectedWarnings().some((w) => /sample\.jsonl:11: upstream level 2\.5 differs from 1\.25 given for the same tables at line 2/.test(w.message)));
  assert.deepEqual(r.agreement.level, { agree: 0, n: 1 });
  assert.deepEqual(r.agreement.verdict, { agree: 1, n: 2 });
  assert.deepEqual(r.agreement.direction, { agree: 1, n: 1 });
  // The records are the fixture format: they read back as windows with the same tables.
  const back = parseWindowsJsonl(r.records.map((x) => JSON.stringify({ id: x.window.id, tick: x.window.tick, tables: x.window.tables, meta: x.meta })).join('\n'), 'back.jsonl');
  assert.deepEqual(back[1]!.record!.window.tables, ws[1]!.tables.map((t, i) => ({ ...t, index: i })));
});

test('importChatJsonl reads back breakout export files (tables one per line, JSON answers, the stated tick)', () => {
  const recs = generateFootprintSet(22, 4, { tick: 0.5 }).map((g) => recordFromGenerated(g));
  const files = toChatJsonl(toChatExamples(recs, { trainFraction: 1 }).examples);
  const r = importChatJsonl(files['multi.train.jsonl']!, 'multi.train.jsonl');
  assert.equal(r.skipped.length, 0);
  assert.equal(r.records.length, recs.length, 'the three stages of one window merge into it');
  assert.deepEqual(r.records.map((x) => x.window.tables), recs.map((x) => x.window.tables));
  assert.equal(r.records[0]!.window.tick, 0.5);
  assert.deepEqual(r.agreement.direction.agree, r.agreement.direction.n);
  assert.deepEqual(r.agreement.level.agree, r.agreement.level.n);
  assert.ok(r.agreement.level.n > 0);
});

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const e = process.stderr.write.bind(process.stderr), o = process.stdout.write.bind(process.stdout);
  let err = '';
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  process.stdout.write = textOnly();
  // Warnings are what this test reads: npm test runs with PERENNIAL_QUIET=1, which silences them.
  const quiet = process.env.PERENNIAL_QUIET;
  delete process.env.PERENNIAL_QUIET;
  try { return { code: await main(argv), err }; } finally {
    process.stderr.write = e; process.stdout.write = o;
    if (quiet !== undefined) process.env.PERENNIAL_QUIET = quiet;
  }
}

test('breakout import-chat: windows feed label and eval; skipped lines go to stderr and the record; nothing usable exits non-zero', async () => {
  const good = ws.slice(0, 4).map((w) => line(upstreamUser(w), 'Conclusion: This is a true breakout.'));
  writeFileSync(f('chat.jsonl'), [good[0], '{"messages": [', good[1], line(upstreamUser(ws[4]!), null), good[2], good[3]].join('\n') + '\n');
  const r = await run(['breakout', 'import-chat', f('chat.jsonl'), '--out', f('w.jsonl'), '--json', f('import.json')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /chat\.jsonl:2: not valid JSON/);
  assert.match(r.err, /chat\.jsonl:4: no assistant message/);
  const rec = JSON.parse(readFileSync(f('import.json'), 'utf8')) as { windows: number; skipped: { line: number }[]; run: { warnings: { message: string }[] } };
  assert.equal(rec.windows, 4);
  assert.deepEqual(rec.skipped.map((s) => s.line), [2, 4]);
  assert.ok(rec.run.warnings.some((w) => /chat\.jsonl:4: no assistant/.test(w.message)));
  assert.equal((await run(['breakout', 'label', f('w.jsonl'), '--json', f('label.json')])).code, 0);
  assert.equal((JSON.parse(readFileSync(f('label.json'), 'utf8')) as { labelled: number }).labelled, 4);
  assert.equal((await run(['breakout', 'eval', '--data', f('w.jsonl'), '--pipeline', 'rules', '--json', f('eval.json')])).code, 0);
  assert.equal((JSON.parse(readFileSync(f('eval.json'), 'utf8')) as { n: number }).n, 4);
  writeFileSync(f('bad.jsonl'), 'not json\n{"messages": []}\n');
  const bad = await run(['breakout', 'import-chat', f('bad.jsonl'), '--out', f('none.jsonl')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /none of the 2 lines gives a footprint window \(line 1: not valid JSON.*line 2: no user message/);
  writeFileSync(f('empty.jsonl'), '\n\n');
  assert.equal((await run(['breakout', 'import-chat', f('empty.jsonl'), '--out', f('none.jsonl')])).code, 2);
});
