import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ALL_TASKS, ResponseCache, SampleLog, ScriptedProvider, compareModels, evaluate, parseTaskFile, runSelfKnowledge, runUserTasks, selectTasks,
  type CompletionRequest, type EvalCase, type LlmProvider, type Predictor,
} from './helpers.js';
import { HashModel } from './parity-configs.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-harness-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const lines = (p: string): string[] => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean) : []);
const tear = (p: string): void => {
  const ls = lines(p);
  const last = ls[ls.length - 1]!;
  // A kill during the last write: half of that line, no newline.
  writeFileSync(p, ls.slice(0, -1).join('\n') + '\n' + last.slice(0, Math.floor(last.length / 2)));
};

const echoCases: EvalCase<string>[] = ['a', 'b', 'c', 'd', 'e'].map((x, i) => ({ task: 't', item: i, input: x }));
const echoPredictor: Predictor<string, string> = {
  name: 'echo-twice',
  predict: async (c, ctx) => {
    const r = await ctx.call('only', { messages: [{ role: 'user', content: c.input }], seed: ctx.repeat });
    return r.error ? `error:${r.error.kind}` : r.text;
  },
  sample: (_c, o) => ({ parsed: o, verdicts: { ok: !o.startsWith('error') } }),
};

test('evaluate: outcomes in (case, repeat) order at any concurrency, calls through the cache, throws become data, abort between cases', async () => {
  const slow: LlmProvider = {
    id: () => 'slow',
    complete: async (req) => {
      await new Promise((r) => setTimeout(r, (req.messages[0]!.content.charCodeAt(0) * 7) % 13));
      if (req.messages[0]!.content === 'c') throw new Error('socket closed');
      return { text: `${req.messages[0]!.content}${req.seed}`, latencyMs: 1, usage: { promptTokens: 2, completionTokens: 3 } };
    },
  };
  const a = await evaluate(echoCases, echoPredictor, { provider: slow, repeats: 2, quiet: true });
  const b = await evaluate(echoCases, echoPredictor, { provider: slow, repeats: 2, concurrency: 4, quiet: true });
  assert.deepEqual(a.outcomes.map((o) => o.output), ['a0', 'a1', 'b0', 'b1', 'error:internal', 'error:internal', 'd0', 'd1', 'e0', 'e1']);
  assert.deepEqual(b.outcomes.map((o) => o.output), a.outcomes.map((o) => o.output));
  assert.equal(a.calls, 10);
  const cache = new ResponseCache(null);
  await evaluate(echoCases, echoPredictor, { provider: slow, repeats: 2, cache, quiet: true });
  const again = await evaluate(echoCases, echoPredictor, { provider: slow, repeats: 2, cache, quiet: true });
  assert.equal(again.calls, 2, 'only the errors are asked again');
  assert.equal(again.cache_hits, 8);
  const ac = new AbortController();
  let n = 0;
  const stopper: LlmProvider = { id: () => 'stop', complete: async (req) => { if (++n === 3) ac.abort(); return { text: req.messages[0]!.content, latencyMs: 0 }; } };
  await assert.rejects(evaluate(echoCases, echoPredictor, { provider: stopper, signal: ac.signal, quiet: true }), /aborted/);
  assert.equal(n, 3, 'no case starts after the abort');
  await assert.rejects(evaluate(echoCases, echoPredictor, { provider: slow, repeat: 2 } as never), /known: provider/);
  await assert.rejects(evaluate(echoCases, echoPredictor, { quiet: true }), /no provider/);
});

test('a torn-tail selfknow cache (killed during a write) loses no completed entry', async () => {
  const path = join(dir, 'sk-torn.cache.jsonl');
  const tasks = selectTasks('word_count,arithmetic,qa');
  const opts = { items: 3, repeats: 2, seed: 2, quiet: true, cache: path } as const;
  const ref = await runSelfKnowledge(tasks, new HashModel('torn'), opts);
  const full = lines(path);
  assert.equal(full.length, ref.throughput.calls);
  tear(path);
  const c = new ResponseCache(path);
  assert.equal(c.size, full.length - 1);
  c.close();
  const second = await runSelfKnowledge(tasks, new HashModel('torn'), opts);
  assert.equal(second.throughput.calls, 1, 'only the torn entry is asked again');
  assert.deepEqual(second.tasks, ref.tasks);
  assert.deepEqual(new Set(lines(path)), new Set(full), 'the repaired file holds every entry once, each on its own line');
  const third = await runSelfKnowledge(tasks, new HashModel('torn'), opts);
  assert.equal(third.throughput.calls, 0);
});

test('--samples: one line per item and repeat with messages, answers, verdicts, tokens and cache hits; resumes after a torn tail without duplicates', async () => {
  const path = join(dir, 'samples.jsonl');
  const tasks = selectTasks('word_count,theorem');
  const cache = new ResponseCache(null);
  const s1 = new SampleLog(path);
  const r = await runSelfKnowledge(tasks, new HashModel('s'), { items: 3, repeats: 2, seed: 1, quiet: true, samples: s1, cache });
  s1.close();
  const ls = lines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(ls.length, 2 * 3 * 2);
  const keys = new Set(ls.map((l) => `${l.task}#${l.item}#${l.repeat}`));
  assert.equal(keys.size, 12);
  const first = ls.find((l) => l.task === 'word_count' && l.item === 0 && l.repeat === 0)! as {
    calls: { stage: string; messages: { content: string }[]; response: string; tokens: unknown; cache_hit: boolean }[]; verdicts: Record<string, unknown>; model: string; error_kind: unknown;
  };
  assert.equal(first.model, 'hash:s');
  const o = r.outcomes.find((x) => x.task === 'word_count' && x.item === 0 && x.repeat === 0)!;
  assert.equal(first.calls[0]!.stage, 'generation');
  assert.equal(first.calls[0]!.messages[0]!.content, o.generationPrompt);
  assert.equal(first.calls[0]!.response, o.generationText);
  assert.deepEqual(first.verdicts, { S: o.consistent, G: o.generationCorrect, V: o.verificationCorrect });
  assert.deepEqual(first.calls[0]!.tokens, { prompt: 1, completion: 1 });
  assert.equal(first.calls[0]!.cache_hit, false);
  // Killed mid-line, then rerun: the torn line is replaced, nothing is doubled.
  tear(path);
  const s2 = new SampleLog(path);
  assert.equal(s2.size, 11);
  await runSelfKnowledge(tasks, new HashModel('s'), { items: 3, repeats: 2, seed: 1, quiet: true, samples: s2, cache });
  assert.equal(s2.written, 1);
  s2.close();
  const after = lines(path).map((l) => JSON.parse(l) as { key: string; calls: { cache_hit: boolean }[] });
  assert.equal(after.length, 12);
  assert.equal(new Set(after.map((l) => l.key)).size, 12);
  assert.ok(after[after.length - 1]!.calls.every((c) => c.cache_hit), 'the rewritten line came from the cache');
  // Another configuration does not resume into the same lines.
  const s3 = new SampleLog(path);
  await runSelfKnowledge(tasks, new HashModel('s'), { items: 3, repeats: 2, seed: 1, temperature: 0.2, quiet: true, samples: s3, cache });
  assert.equal(s3.written, 12);
  s3.close();
});

const TASKS_YAML = `
tasks:
  - id: cities
    prompt: '{"city": "{{city}}", "n": {{n}}}'
    field: city
    items:
      - { city: Paris, n: 3 }
      - { city: Rome, n: 4 }
    checks:
      - { type: regex, pattern: '^P' }
      - { type: json_schema, schema: { type: object, properties: { city: { type: string }, n: { type: integer, maximum: 3 } }, required: [city, n] } }
      - { type: exact, expected: '{{city}}', ignore_case: true }
  - id: numbers
    prompt: '{{x}}'
    items: [{ x: 3.14, want: 3.1416 }, { x: 2, want: 2.5 }]
    checks:
      - { type: numeric, expected: '{{want}}', tolerance: 0.01 }
`;

test('task files: regex, JSON-schema, exact and numeric checkers on an echo model; errors name the line and the key', async () => {
  const tasks = parseTaskFile(TASKS_YAML, 'tasks.yaml');
  const echo = new ScriptedProvider((req: CompletionRequest) => req.messages[req.messages.length - 1]!.content);
  const r = await runUserTasks(tasks, echo, { repeats: 2, quiet: true });
  const c = r.tasks.cities!;
  assert.equal(c.checks.regex!.value, 0.5);
  assert.equal(c.checks['json_schema#1']!.value, 0.5, 'n: 4 breaks maximum 3');
  assert.equal(c.checks['exact#2']!.value, 1);
  assert.equal(c.pass!.value, 0.5);
  assert.equal(c.runs, 4);
  assert.equal(r.tasks.numbers!.checks.numeric!.value, 0.5);
  assert.equal(r.tasks.numbers!.pass!.successes, 2);
  const bad = (text: string, re: RegExp): void => assert.throws(() => parseTaskFile(text, 'f.yaml'), re);
  bad(TASKS_YAML.replace("type: regex, pattern: '^P'", "type: regexp, pattern: '^P'"), /f\.yaml:10 \(tasks\.0\.checks\.0\.type\): expected .*'regex'/);
  bad(TASKS_YAML.replace('{ x: 2, want: 2.5 }', '{ x: 2 }'), /f\.yaml:15 \(tasks\.1\.items\.1\): expected a value for \{\{want\}\}/);
  bad(TASKS_YAML.replace("pattern: '^P'", "pattern: '(('"), /f\.yaml:10 \(tasks\.0\.checks\.0\.pattern\): expected a valid regular expression/);
  bad(TASKS_YAML.replace('maximum: 3', 'maximun: 3'), /f\.yaml:11 \(tasks\.0\.checks\.1\.schema\.properties\.n\.maximun\)/);
  bad(TASKS_YAML.replace('    field: city\n', '    field: city\n    colour: red\n'), /f\.yaml:6 \(tasks\.0\.colour\): expected a task file key \(a typo, or a key this format does not have here\), found "colour"/);
  bad('tasks: [', /f\.yaml:1 \(yaml\)/);
});

test('compareModels: the matrix and paired differences are computed on the same items', async () => {
  const tasks = selectTasks('word_count,arithmetic');
  const a = await runSelfKnowledge(tasks, new HashModel('x'), { items: 6, repeats: 2, seed: 3, quiet: true });
  const b = await runSelfKnowledge(tasks, new HashModel('y'), { items: 6, repeats: 2, seed: 3, quiet: true });
  const c = compareModels([{ model: 'x', selfknow: a, user: null }, { model: 'y', selfknow: b, user: null }]);
  assert.deepEqual(c.models, ['x', 'y']);
  assert.equal(c.matrix.word_count!.y!.S, b.tasks.word_count!.self_consistency);
  const row = c.paired.find((p) => p.task === 'word_count' && p.metric === 'S')!;
  // Recompute the mean per-item difference by hand.
  const per = (r: typeof a, item: number): number => { const xs = r.outcomes.filter((o) => o.task === 'word_count' && o.item === item && !o.error); return xs.filter((o) => o.consistent).length / xs.length; };
  const d = Array.from({ length: 6 }, (_, i) => per(b, i) - per(a, i));
  assert.equal(row.n, 6);
  assert.ok(Math.abs(row.mean! - d.reduce((s, x) => s + x, 0) / 6) < 1e-12);
  assert.ok(row.ci95 && row.ci95[0] <= row.mean! && row.mean! <= row.ci95[1]);
  const same = compareModels([{ model: 'x', selfknow: a, user: null }, { model: 'x2', selfknow: a, user: null }]);
  for (const p of same.paired) assert.deepEqual([p.mean, p.ci95, p.wins, p.losses], [0, [0, 0], 0, 0]);
  assert.equal(ALL_TASKS.length, 8);
});
