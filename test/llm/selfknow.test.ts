import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ALL_TASKS, EchoProvider, LlamaCppProvider, ScriptedProvider, checks, finetuneJsonl, reportRecord, runSelfKnowledge, selectTasks, selfKnowledgeSection, writeTinyGguf,
  type CompletionRequest,
} from './helpers.js';
import { renderReport } from '../../src/core/report.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-sk-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const lastUser = (r: CompletionRequest): string => r.messages[r.messages.length - 1]!.content;
const props = (r: CompletionRequest): string[] => Object.keys((r.jsonSchema as { properties?: object } | undefined)?.properties ?? {});

/** A scripted model that creates content with `skew` extra units and answers `count + answerSkew`. */
function countingReply(skew: number, answerSkew: number) {
  return (req: CompletionRequest): string => {
    const u = lastUser(req);
    const p = props(req);
    if (p.includes('text')) {
      const n = Number(/exactly (\d+)/.exec(u)![1]) + skew;
      if (u.includes('words')) return JSON.stringify({ text: Array.from({ length: n }, () => 'cat').join(' ') });
      if (u.includes('sentences')) return JSON.stringify({ text: Array.from({ length: n }, () => 'It rains.').join(' ') });
      return JSON.stringify({ text: 'x'.repeat(n) });
    }
    // Arithmetic: the claim is off by -skew, so skew 1 / answerSkew -1 agree on a wrong value.
    if (p.includes('problem')) return JSON.stringify({ problem: '2 + 3 * 4', answer: 14 - skew });
    const text = /Text: (.*)\n/.exec(u)?.[1];
    if (text !== undefined) {
      const c = u.includes('words') ? checks.countWords(text) : u.includes('sentences') ? checks.countSentences(text) : checks.countChars(text);
      return JSON.stringify({ answer: c + answerSkew });
    }
    const expr = /expression: (.*)\n/.exec(u)![1]!;
    return JSON.stringify({ answer: Number(checks.ratToString(checks.evaluateArithmetic(expr))) + answerSkew });
  };
}
const countingModel = (skew: number, answerSkew: number): ScriptedProvider => new ScriptedProvider(countingReply(skew, answerSkew));

const countingTasks = selectTasks('word_count,sentence_count,char_count,arithmetic');

test('a model that creates and checks correctly scores S = G = V = 1', async () => {
  const r = await runSelfKnowledge(countingTasks, countingModel(0, 0), { items: 6, repeats: 2, quiet: true });
  for (const [id, t] of Object.entries(r.tasks)) {
    assert.equal(t.self_consistency, 1, id);
    assert.equal(t.generation_correct, 1, id);
    assert.equal(t.verification_correct, 1, id);
    assert.equal(t.pass_k, 1, id);
    assert.equal(t.joint.g_and_v, 12, id);
  }
});

test('S hides errors that agree: wrong content plus a matching wrong count gives S = 1, G = V = 0', async () => {
  const r = await runSelfKnowledge(countingTasks, countingModel(1, -1), { items: 5, repeats: 1, quiet: true });
  for (const [id, t] of Object.entries(r.tasks)) {
    assert.equal(t.self_consistency, 1, id);
    assert.equal(t.generation_correct, 0, id);
    assert.equal(t.verification_correct, 0, id);
    assert.equal(t.joint.neither, 5, id);
  }
  // Right content, wrong counting: G = 1, S = V = 0.
  const r2 = await runSelfKnowledge(countingTasks, countingModel(0, 2), { items: 5, repeats: 1, quiet: true });
  for (const t of Object.values(r2.tasks)) assert.deepEqual([t.self_consistency, t.generation_correct, t.verification_correct], [0, 1, 0]);
});

test('format failures are their own outcome, counted by kind, and never parsed leniently', async () => {
  const p = new ScriptedProvider((req) => (props(req).includes('text') ? '{"text": "a b c"}' : 'The answer is 3'));
  const r = await runSelfKnowledge(selectTasks('word_count'), p, { items: 4, repeats: 1, quiet: true });
  const t = r.tasks.word_count!;
  assert.equal(t.parse_failures, 4);
  assert.deepEqual(t.parse_failure_kinds, { 'verification:not_json': 4 });
  assert.equal(t.self_consistency, 0);
  assert.equal(t.verification_correct, 0);
  const fenced = new ScriptedProvider(() => '```json\n{"text": "a"}\n```');
  const r2 = await runSelfKnowledge(selectTasks('word_count'), fenced, { items: 2, repeats: 1, quiet: true });
  assert.deepEqual(r2.tasks.word_count!.parse_failure_kinds, { 'generation:not_json': 2 });
  assert.equal(r2.tasks.word_count!.generation_correct, 0);
});

test('leak test: a stub echoing numbers from its prompt stays far from S = 1', async () => {
  const r = await runSelfKnowledge(ALL_TASKS, new EchoProvider('numbers'), { items: 15, repeats: 1, quiet: true });
  // Where the prompt fixes the claim, echoing the verification prompt's numbers must not recover it.
  for (const id of ['word_count', 'sentence_count', 'char_count', 'json_structure']) {
    assert.ok((r.tasks[id]!.self_consistency ?? 1) < 0.2, `${id}: S = ${r.tasks[id]!.self_consistency}`);
  }
  // Where the model states the claim, a constant stub agrees with itself (S is blind to that), but
  // the checker sees through it.
  for (const id of ['arithmetic', 'code_output']) assert.equal(r.tasks[id]!.generation_correct, 0, id);
});

test('repeats draw independent seeds unless asked otherwise; context modes shape the verification prompt', async () => {
  const seen = (p: ScriptedProvider, stage: string) => p.requests.filter((r) => props(r).includes(stage)).map((r) => r.seed);
  const p = countingModel(0, 0);
  await runSelfKnowledge(selectTasks('word_count'), p, { items: 1, repeats: 4, quiet: true });
  assert.equal(new Set(seen(p, 'text')).size, 4);
  const q = countingModel(0, 0);
  await runSelfKnowledge(selectTasks('word_count'), q, { items: 1, repeats: 4, independentRepeats: false, quiet: true });
  assert.equal(new Set(seen(q, 'text')).size, 1);
  for (const [mode, n] of [['fresh', 1], ['withGeneration', 3], ['withNoise', 5]] as const) {
    const m = countingModel(0, 0);
    const r = await runSelfKnowledge(selectTasks('word_count'), m, { items: 2, repeats: 1, contextMode: mode, quiet: true });
    const ver = m.requests.filter((x) => props(x).includes('answer'));
    assert.ok(ver.every((x) => x.messages.length === n), mode);
    assert.equal(r.tasks.word_count!.self_consistency, 1, mode);
  }
  await assert.rejects(runSelfKnowledge(countingTasks, countingModel(0, 0), { items: 1, repeat: 2 } as never), /known: items/);
});

test('per-item provider errors are reported and the run continues', async () => {
  const reply = countingReply(0, 0);
  const p = new ScriptedProvider((req, call) => (call % 3 === 1 ? { error: { kind: 'timeout' as const, message: 'slow' } } : reply(req)));
  const r = await runSelfKnowledge(selectTasks('word_count'), p, { items: 6, repeats: 1, quiet: true });
  const t = r.tasks.word_count!;
  assert.ok(t.errors > 0 && t.evaluated > 0 && t.errors + t.evaluated === 6);
  assert.equal(t.self_consistency, 1, 'errors are excluded from rates, not counted as wrong');
  assert.equal(r.errors.length, t.errors);
  assert.ok(r.errors.every((e) => e.kind === 'timeout'));
});

test('tiny GGUF model end to end: identical task sections across runs, concurrency-invariant, cache hits reproduce, finetune export and report', async () => {
  const path = join(dir, 'tiny.gguf');
  writeTinyGguf(path);
  const tasks = selectTasks('word_count,arithmetic,theorem,json_structure');
  const opts = { items: 3, repeats: 2, seed: 4, quiet: true } as const;
  const p = new LlamaCppProvider({ modelPath: path, threads: 1 });
  try {
    const a = await runSelfKnowledge(tasks, p, opts);
    const b = await runSelfKnowledge(tasks, p, { ...opts, concurrency: 3 });
    assert.equal(JSON.stringify(a.tasks), JSON.stringify(b.tasks));
    assert.equal(JSON.stringify(a.outcomes), JSON.stringify(b.outcomes));
    const cachePath = join(dir, 'sk.cache.jsonl');
    const c1 = await runSelfKnowledge(tasks, p, { ...opts, cache: cachePath });
    assert.ok(c1.throughput.calls > 0);
    const c2 = await runSelfKnowledge(tasks, p, { ...opts, cache: cachePath });
    assert.equal(c2.throughput.calls, 0, 'second run is served from the cache');
    assert.equal(JSON.stringify(c2.outcomes), JSON.stringify(a.outcomes));
    const d = await runSelfKnowledge(tasks, p, { ...opts, seed: 5 });
    assert.notEqual(JSON.stringify(d.outcomes), JSON.stringify(a.outcomes), 'another seed gives other items');
    const rec = reportRecord(a);
    assert.ok(!('outcomes' in rec));
    for (const t of Object.values(rec.tasks)) for (const k of ['n', 'self_consistency', 'generation_correct', 'verification_correct', 'pass_k', 'parse_failures']) assert.ok(k in t, k);
    const ft = finetuneJsonl(a);
    const lines = ft ? ft.trimEnd().split('\n').map((l) => JSON.parse(l) as { task: string; messages: unknown[] }) : [];
    assert.equal(lines.length, a.outcomes.filter((o) => o.consistent).length);
    const html = await renderReport('t', [selfKnowledgeSection(a)]);
    assert.ok(html.includes('<svg') && html.includes('word_count'));
  } finally {
    await p.close();
  }
  assert.ok(readFileSync(join(dir, 'sk.cache.jsonl'), 'utf8').length > 0);
});

test('Q&A: G checks the asked-for form (2-3 sentences, a number, a question, an answer from the passage); V is n/a', async () => {
  const good = { passage: 'The river is 40 km long. It ends in the sea.', question: 'How long is the river?', answer: '40' };
  const degenerate = { passage: 'echo', question: 'echo', answer: 'echo' };
  for (const [gen, want] of [[good, 1], [degenerate, 0]] as const) {
    const p = new ScriptedProvider((req) => (props(req).includes('passage') ? JSON.stringify(gen) : JSON.stringify({ answer: gen.answer })));
    const r = await runSelfKnowledge(selectTasks('qa'), p, { items: 2, repeats: 1, quiet: true });
    assert.equal(r.tasks.qa!.generation_correct, want);
    assert.equal(r.tasks.qa!.verification_correct, null);
    assert.equal(r.tasks.qa!.self_consistency, 1);
  }
});
