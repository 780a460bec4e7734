import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  evaluateWindows, generateFootprintSet, parseStageAnswer, parseWindowsJsonl, recordFromGenerated, recordToJson,
  runMultiStage, runSingleStage, goldFromLabel, labelFootprint, rationaleFacts, toChatExamples, writeChatExport, STAGE_SCHEMAS, type WindowItem,
} from '../../src/breakout/index.js';
import { FakeProvider, oracleAnswer } from './helpers.js';
import { ResponseCache } from '../../src/llm/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-breakout-'));

function items(seed: number, n: number, extra: string[] = []): WindowItem[] {
  const lines = generateFootprintSet(seed, n).map((g) => JSON.stringify(recordToJson(recordFromGenerated(g))));
  return parseWindowsJsonl([...lines, ...extra].join('\n'), `gen${seed}.jsonl`);
}

test('strict answer parsing: JSON with exactly reason and answer, the answer of the right type', () => {
  const isDir = (a: unknown): a is string => a === 'upward' || a === 'downward';
  assert.deepEqual(parseStageAnswer('{"reason":"r","answer":"upward"}', isDir, 'dir'), { ok: true, reason: 'r', answer: 'upward' });
  assert.equal((parseStageAnswer('The answer: upward', isDir, 'dir') as { kind: string }).kind, 'parse');
  assert.equal((parseStageAnswer('```json\n{"reason":"r","answer":"upward"}\n```', isDir, 'dir') as { kind: string }).kind, 'parse');
  assert.equal((parseStageAnswer('{"reason":"r","answer":"sideways"}', isDir, 'dir') as { kind: string }).kind, 'schema');
  assert.equal((parseStageAnswer('{"answer":"upward"}', isDir, 'dir') as { kind: string }).kind, 'schema');
  assert.equal((parseStageAnswer('{"reason":"r","answer":"upward","x":1}', isDir, 'dir') as { kind: string }).kind, 'schema');
  assert.equal((parseStageAnswer('[1]', isDir, 'dir') as { kind: string }).kind, 'schema');
  // Requests carry the schema, reason first.
  assert.deepEqual(Object.keys((STAGE_SCHEMAS.side as { properties: object }).properties), ['reason', 'answer']);
});

test('multi-stage with a rule-following model: every stage right, report sees only facts, rationale consistent', async () => {
  const p = new FakeProvider('oracle', (req) => oracleAnswer(req));
  const its = items(3, 24);
  const { summary } = await evaluateWindows(its, 'multi', { provider: p, quiet: true });
  assert.equal(summary.n + summary.excluded, 24);
  assert.deepEqual(summary.stage_acc, { direction: 1, level: 1, side: 1 });
  assert.equal(summary.verdict_acc, 1);
  assert.equal(summary.report_acc_gold_fed, 1);
  assert.equal(summary.rationale_consistency, 1);
  assert.equal(summary.errors, 0);
  // The report stage's prompt has no tables; the other stages' prompts do.
  const w = its[0]!.record!.window;
  const q = new FakeProvider('oracle2', (req) => oracleAnswer(req));
  const seen: string[] = [];
  const spy = { id: () => 'spy', complete: async (req: Parameters<typeof q.complete>[0]) => { seen.push(req.messages[1]!.content); return q.complete(req); } };
  await runMultiStage(spy, w, { mode: 'chained' });
  assert.equal(seen.length, 4);
  assert.ok(seen.slice(0, 3).every((s) => s.includes('Table 0:')));
  assert.ok(!seen[3]!.includes('Table 0:') && seen[3]!.startsWith('Facts about'));
});

test('gold-fed vs chained: a model wrong on S1 keeps gold-fed S2/S3 right but loses the chained verdict', async () => {
  const p = new FakeProvider('flip', (req) => oracleAnswer(req, { flipDirection: true }));
  const { summary } = await evaluateWindows(items(4, 16), 'multi', { provider: p, quiet: true });
  assert.equal(summary.stage_acc.direction, 0);
  const dc = summary.stage_confusion!.direction;
  assert.equal((dc['upward->downward'] ?? 0) + (dc['downward->upward'] ?? 0), summary.n);
  assert.equal(dc['upward->upward'], undefined);
  assert.equal(summary.stage_acc.level, 1);
  assert.equal(summary.stage_acc.side, 1);
  assert.equal(summary.report_acc_gold_fed, 1);
  assert.ok(summary.verdict_acc! < 1);
});

test('garbage, schema-breaking and failing models: errors counted per window, never a crash; malformed lines counted', async () => {
  const its = items(5, 10, ['{"tick": 0.25, "tables": "nope"}']);
  const garbage = new FakeProvider('garbage', () => 'The answer: true breakout');
  const g = (await evaluateWindows(its, 'multi', { provider: garbage, quiet: true })).summary;
  assert.equal(g.n_lines, 11);
  assert.equal(g.errors, g.n + 1, 'every scored window and the malformed line');
  assert.equal(g.error_kinds.malformed, 1);
  assert.ok(g.error_kinds.parse! > 0 && g.error_kinds.missing! > 0);
  // Every scored window errored: no rate (issue 17), with the reason, instead of 0.000.
  assert.equal(g.verdict_acc, null);
  assert.equal(g.n_answered, 0);
  assert.match(g.reasons!.verdict_acc!, /every one of the \d+ scored windows errored \(direction:parse/);
  const schema = new FakeProvider('schema', () => '{"reason": "x", "answer": "maybe"}');
  const s = (await evaluateWindows(its, 'single', { provider: schema, quiet: true })).summary;
  assert.equal(s.error_kinds.schema, s.n);
  const failing = new FakeProvider('down', () => ({ error: { kind: 'timeout', message: 'no answer in 60 s' } }));
  const f = (await evaluateWindows(its, 'multi', { provider: failing, quiet: true })).summary;
  assert.equal(f.errors, f.n + 1);
  assert.ok(f.error_kinds.provider! > 0);
  // A provider that throws is turned into a counted provider error too.
  const throwing = { id: () => 'throws', complete: async () => { throw new Error('socket closed'); } };
  const t = (await evaluateWindows(its, 'single', { provider: throwing, quiet: true })).summary;
  assert.equal(t.error_kinds.provider, t.n);
  assert.equal(t.errors, t.n + 1);
  // Half-wrong single-stage answers: counted as answers, not errors.
  const half = new FakeProvider('half', (_req, call) => JSON.stringify({ reason: 'r', answer: call % 2 === 0 }));
  const h = (await evaluateWindows(its, 'single', { provider: half, quiet: true })).summary;
  assert.equal(h.errors, 1);
  assert.ok(h.verdict_acc! > 0 && h.verdict_acc! < 1);
  await assert.rejects(evaluateWindows(its, 'multi', { quiet: true }), /needs a model provider/);
  await assert.rejects(evaluateWindows(its, 'bogus' as never, {}), /known: multi, single, rules, learned/);
});

test('evaluation resumes from its cache after an abort, with no duplicate calls', async () => {
  const its = items(6, 12);
  const path = join(dir, 'resume.cache.jsonl');
  const clean = new FakeProvider('oracle', (req) => oracleAnswer(req));
  const ref = await evaluateWindows(its, 'multi', { provider: clean, cache: null, quiet: true });
  const p = new FakeProvider('oracle', (req) => oracleAnswer(req));
  const ac = new AbortController();
  const killer = { id: () => p.id(), complete: async (req: Parameters<typeof p.complete>[0]) => { const r = await p.complete(req); if (p.calls === 17) ac.abort(); return r; } };
  await assert.rejects(evaluateWindows(its, 'multi', { provider: killer, cache: path, signal: ac.signal, quiet: true }), /aborted/);
  const killedAt = p.calls;
  assert.ok(killedAt >= 17 && killedAt < clean.calls, `stopped at the next window boundary (${killedAt} of ${clean.calls} calls)`);
  const resumed = await evaluateWindows(its, 'multi', { provider: p, cache: path, quiet: true });
  assert.equal(p.calls, clean.calls, 'total calls over both runs equal one clean run');
  const keys = readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(keys.length, clean.calls);
  assert.deepEqual({ ...resumed.summary, cache: null }, { ...ref.summary, cache: null });
  // Provider errors are not cached: a retry asks again.
  const errPath = join(dir, 'err.cache.jsonl');
  const flaky = new FakeProvider('flaky', (req, call) => (call === 0 ? { error: { kind: 'connection', message: 'reset' } } : oracleAnswer(req)));
  const one = its.slice(0, 1);
  assert.equal((await evaluateWindows(one, 'single', { provider: flaky, cache: errPath, quiet: true })).summary.error_kinds.provider, 1);
  assert.ok(!existsSync(errPath) || readFileSync(errPath, 'utf8') === '');
  const r = await evaluateWindows(one, 'single', { provider: flaky, cache: errPath, quiet: true });
  assert.equal(r.summary.errors, 0);
});

test('a torn-tail breakout cache (killed during a write) loses no completed entry, and the next entry lands on a line of its own', async () => {
  const its = items(8, 6);
  const path = join(dir, 'torn.cache.jsonl');
  const p = new FakeProvider('oracle', (req) => oracleAnswer(req));
  const ref = await evaluateWindows(its, 'multi', { provider: p, cache: path, quiet: true });
  const full = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  assert.equal(full.length, p.calls);
  // A kill during the last write leaves the first half of that line and no newline.
  const last = full[full.length - 1]!;
  writeFileSync(path, full.slice(0, -1).join('\n') + '\n' + last.slice(0, Math.floor(last.length / 2)));
  const reopened = new ResponseCache(path);
  assert.equal(reopened.size, full.length - 1, 'every complete line is kept');
  assert.equal(reopened.repaired, 1);
  reopened.close();
  const q = new FakeProvider('oracle', (req) => oracleAnswer(req));
  const again = await evaluateWindows(its, 'multi', { provider: q, cache: path, quiet: true });
  assert.equal(q.calls, 1, 'only the torn entry is asked again');
  assert.deepEqual({ ...again.summary, cache: null }, { ...ref.summary, cache: null });
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  for (const l of lines) JSON.parse(l);
  assert.deepEqual(new Set(lines), new Set(full), 'the file holds exactly the complete entries again');
  const r = new FakeProvider('oracle', (req) => oracleAnswer(req));
  await evaluateWindows(its, 'multi', { provider: r, cache: path, quiet: true });
  assert.equal(r.calls, 0, 'the entry written after the repair is read back');
});

test('rules pipeline is exact; the learned baseline trains on disjoint seeds and beats always-true', async () => {
  const its = items(7, 240);
  const rules = (await evaluateWindows(its, 'rules', { quiet: true })).summary;
  assert.equal(rules.verdict_acc, 1);
  assert.equal(rules.rationale_consistency, 1);
  const learned = (await evaluateWindows(its, 'learned', { quiet: true, seeds: 3, trainN: 600, trainSeed: 500 })).summary;
  const shareTrue = (rules.confusion.tp + rules.confusion.fn) / rules.n;
  assert.equal(learned.learned!.verdict_acc_per_seed.length, 3);
  assert.ok(learned.verdict_acc! > Math.max(shareTrue, 1 - shareTrue) + 0.2, `learned ${learned.verdict_acc} vs majority`);
  assert.ok(learned.verdict_acc! < 1 || learned.learned!.verdict_acc_std >= 0);
  await assert.rejects(evaluateWindows(its, 'learned', { quiet: true, seeds: 2, trainN: 100, trainSeed: 6 }), /also a generator seed/);
});

test('rationale facts are read from free text', () => {
  const f = rationaleFacts('The bar broke downward through support at 1000.50; sellers were stronger below it.', 0.25);
  assert.equal(f.direction, 'downward');
  assert.ok(f.levelsTicks.includes(4002));
  assert.equal(f.side, 'seller');
  assert.equal(rationaleFacts('Buyers outnumbered sellers but the stronger side is the sellers.', 0.25).side, 'seller');
  assert.equal(rationaleFacts('no facts here', 0.25).direction, null);
});

test('fine-tuning export: five examples per window, split by window, answers equal gold', () => {
  const recs = generateFootprintSet(8, 60).map((g) => recordFromGenerated(g));
  const { examples, skipped } = toChatExamples(recs, { trainFraction: 0.7 });
  const complete = recs.filter((r) => r.gold!.verdict !== null).length;
  assert.equal(examples.length, complete * 5);
  assert.equal(skipped, recs.length - complete);
  const splitOfWindow = new Map<string, string>();
  for (const e of examples) {
    const wid = e.id.split('/')[0]!;
    assert.equal(splitOfWindow.get(wid) ?? e.split, e.split);
    splitOfWindow.set(wid, e.split);
    assert.deepEqual(e.messages.map((m) => m.role), ['system', 'user', 'assistant']);
  }
  const s = [...splitOfWindow.values()];
  assert.ok(s.includes('train') && s.includes('test'));
  const r0 = recs.find((r) => r.gold!.verdict !== null)!;
  const gold = goldFromLabel(labelFootprint(r0.window), r0.window.tick);
  const single = examples.find((e) => e.id === `${r0.window.id}/single`)!;
  assert.equal((JSON.parse(single.messages[2]!.content) as { answer: boolean }).answer, gold.verdict);
  const s2 = examples.find((e) => e.id === `${r0.window.id}/s2`)!;
  assert.equal((JSON.parse(s2.messages[2]!.content) as { answer: number }).answer, gold.level);
  const out = join(dir, 'ft');
  const w = writeChatExport(out, recs, { trainFraction: 0.7 });
  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { generator_seeds: number[]; rule_version: string };
  assert.deepEqual(meta.generator_seeds, [8]);
  assert.ok(w.files.some((f) => f.endsWith('multi.train.jsonl')));
  const line = readFileSync(join(out, 'multi.train.jsonl'), 'utf8').split('\n')[0]!;
  assert.deepEqual(Object.keys(JSON.parse(line) as object), ['messages']);
  assert.ok(!line.includes('8-'), 'ids and seeds stay out of the prompts');
});

test('repeats: request seeds 0..k-1, pass^k needs every repeat right, pass@k any', async () => {
  const p = new FakeProvider('seeded', (req) => {
    const a = JSON.parse(oracleAnswer(req)) as { reason: string; answer: unknown };
    return JSON.stringify(typeof a.answer === 'boolean' && req.seed === 1 ? { ...a, answer: !a.answer } : a);
  });
  const its = items(9, 12);
  const single = (await evaluateWindows(its, 'single', { provider: p, quiet: true, repeats: 3 })).summary;
  assert.deepEqual(single.repeats, { k: 3, seeds: [0, 1, 2], verdict_acc_per_repeat: [1, 0, 1], pass_hat_k: 0, pass_at_k: 1 });
  assert.equal(single.verdict_acc, 1, 'the headline accuracy is repeat 0');
  const multi = (await evaluateWindows(its, 'multi', { provider: p, quiet: true, repeats: 2 })).summary;
  assert.deepEqual(multi.repeats!.verdict_acc_per_repeat, [1, 0]);
  assert.equal(multi.repeats!.pass_hat_k, 0);
  assert.equal((await evaluateWindows(its, 'single', { provider: p, quiet: true })).summary.repeats, undefined);
  await assert.rejects(evaluateWindows(its, 'single', { provider: p, quiet: true, repeats: 0 }), /positive integer/);
});
