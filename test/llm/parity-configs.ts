// Fixed evaluation configurations whose metrics must not change when the evaluation code is
// refactored. `parity.test.ts` recomputes them and compares with the numbers captured from the
// code before the shared harness (fixtures/pre-harness-metrics.json, written by
// fixtures/capture-pre-harness.ts). Only deterministic providers: scripted, echo, a model whose
// answer is a hash of its request (so order and concurrency cannot matter), and the tiny GGUF.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  ALL_TASKS, EchoProvider, LlamaCppProvider, ScriptedProvider, checks, runSelfKnowledge, selectTasks, writeTinyGguf,
  type CompletionRequest, type CompletionResponse, type LlmProvider, type SelfKnowledgeReport,
} from '../../src/llm/index.js';
import { evaluateWindows, generateFootprintSet, parseWindowsJsonl, recordFromGenerated, recordToJson, type WindowItem } from '../../src/breakout/index.js';
import { FakeProvider, oracleAnswer } from '../breakout/helpers.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Answers from a hash of the whole request: schema-shaped, sometimes not JSON at all. */
export class HashModel implements LlmProvider {
  calls = 0;
  constructor(private readonly name: string) {}
  id(): string { return `hash:${this.name}`; }
  async complete(req: CompletionRequest): Promise<CompletionResponse> {
    this.calls++;
    const h = sha(JSON.stringify({ n: this.name, m: req.messages, s: req.seed ?? null, j: req.jsonSchema ?? null }));
    const u = (i: number): number => parseInt(h.slice(i * 4, i * 4 + 4), 16);
    if (u(0) % 11 === 0) return { text: 'I think the answer is 4', latencyMs: 0 };
    const props = (req.jsonSchema as { properties?: Record<string, { type?: string; enum?: unknown[] }> } | undefined)?.properties ?? { answer: { type: 'integer' } };
    const words = ['cat', 'sea', 'rain', 'moon', 'It rains.', '2 + 3', 'x'];
    const out: Record<string, unknown> = {};
    let i = 1;
    for (const [k, s] of Object.entries(props)) {
      const r = u(i++ % 15);
      if (s.enum) out[k] = s.enum[r % s.enum.length];
      else if (s.type === 'integer') out[k] = r % 12;
      else if (s.type === 'number') out[k] = 1000 + (r % 8) * 0.25;
      else if (s.type === 'boolean') out[k] = r % 2 === 0;
      else out[k] = Array.from({ length: 1 + (r % 9) }, (_, j) => words[(r + j) % words.length]).join(' ');
    }
    return { text: JSON.stringify(out), latencyMs: 0, usage: { promptTokens: 1, completionTokens: 1 } };
  }
}

function countingReply(skew: number, answerSkew: number) {
  const lastUser = (r: CompletionRequest): string => r.messages[r.messages.length - 1]!.content;
  const props = (r: CompletionRequest): string[] => Object.keys((r.jsonSchema as { properties?: object } | undefined)?.properties ?? {});
  return (req: CompletionRequest): string => {
    const u = lastUser(req);
    const p = props(req);
    if (p.includes('text')) {
      const n = Number(/exactly (\d+)/.exec(u)![1]) + skew;
      if (u.includes('words')) return JSON.stringify({ text: Array.from({ length: n }, () => 'cat').join(' ') });
      if (u.includes('sentences')) return JSON.stringify({ text: Array.from({ length: n }, () => 'It rains.').join(' ') });
      return JSON.stringify({ text: 'x'.repeat(n) });
    }
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

function skMetrics(r: SelfKnowledgeReport): Record<string, unknown> {
  return {
    tasks: r.tasks, overall: r.overall, errors: r.errors, prompts: r.prompts, examples: r.examples,
    calls: r.throughput.calls, cache_hits: r.throughput.cache_hits, pairs: r.throughput.pairs, outcomes_sha256: sha(JSON.stringify(r.outcomes)),
  };
}

function windows(seed: number, n: number, extra: string[] = []): WindowItem[] {
  const lines = generateFootprintSet(seed, n).map((g) => JSON.stringify(recordToJson(recordFromGenerated(g))));
  return parseWindowsJsonl([...lines, ...extra].join('\n'), `gen${seed}.jsonl`);
}

/** Every configuration's metrics, keyed by a name. `tmp` is a scratch folder (the tiny GGUF goes there). */
export async function parityMetrics(tmp: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  out['selfknow/echo-numbers/all'] = skMetrics(await runSelfKnowledge(ALL_TASKS, new EchoProvider('numbers'), { items: 6, repeats: 2, seed: 3, quiet: true }));
  const reply = countingReply(1, -1);
  const flaky = new ScriptedProvider((req, call) => (call % 5 === 2 ? { error: { kind: 'timeout' as const, message: 'slow' } } : reply(req)));
  out['selfknow/counting-flaky/withNoise'] = skMetrics(await runSelfKnowledge(selectTasks('word_count,sentence_count,char_count,arithmetic'), flaky,
    { items: 4, repeats: 3, seed: 7, contextMode: 'withNoise', passK: 2, quiet: true }));
  out['selfknow/hash/all'] = skMetrics(await runSelfKnowledge(ALL_TASKS, new HashModel('a'), { items: 5, repeats: 3, seed: 11, quiet: true, thresholds: { theorem: 0.3 } }));
  out['selfknow/hash/withGeneration-concurrent'] = skMetrics(await runSelfKnowledge(ALL_TASKS, new HashModel('b'), { items: 4, repeats: 2, seed: 12, contextMode: 'withGeneration', concurrency: 3, independentRepeats: false, quiet: true }));
  const gguf = join(tmp, 'parity-tiny.gguf');
  writeTinyGguf(gguf);
  const tiny = new LlamaCppProvider({ modelPath: gguf, threads: 1 });
  try {
    out['selfknow/tiny-gguf'] = skMetrics(await runSelfKnowledge(selectTasks('word_count,arithmetic,theorem'), tiny, { items: 2, repeats: 2, seed: 4, quiet: true }));
  } finally {
    await tiny.close();
  }
  const its = windows(5, 40, ['{"tick": 0.25, "tables": "nope"}']);
  const bo = async (name: string, p: Parameters<typeof evaluateWindows>[1], o: Parameters<typeof evaluateWindows>[2], data = its): Promise<void> => {
    const r = await evaluateWindows(data, p, { quiet: true, ...o });
    out[`breakout/${name}`] = { summary: r.summary, outcomes_sha256: sha(JSON.stringify(r.outcomes)) };
  };
  await bo('rules', 'rules', {});
  await bo('learned', 'learned', { seeds: 2, trainN: 300 });
  const small = windows(3, 12, ['not json']);
  await bo('multi/oracle/repeats2', 'multi', { provider: new FakeProvider('oracle', (req) => oracleAnswer(req)), repeats: 2 }, small);
  await bo('multi/flip', 'multi', { provider: new FakeProvider('flip', (req) => oracleAnswer(req, { flipDirection: true })) }, small);
  await bo('multi/hash/repeats3', 'multi', { provider: new HashModel('m'), repeats: 3, temperature: 0.5 }, small);
  await bo('single/hash/repeats3', 'single', { provider: new HashModel('s'), repeats: 3, maxTokens: 100, reasonMaxLength: 50 }, small);
  await bo('single/oracle', 'single', { provider: new FakeProvider('oracle', (req) => oracleAnswer(req)) }, small);
  return out;
}
