// The self-knowledge evaluation (generate -> verify, arXiv 2406.06140) with the project's three
// numbers: S (self-consistency, a_ver = a_gen), G (generation correctness, a_true = a_gen) and
// V (verification correctness, a_ver = a_true), Wilson intervals, the G x V table, pass^k over
// repeats, strict answer parsing with failure kinds, a modal-answer baseline, and a resumable
// response cache. Provider errors are per-run data: the run goes on and reports them.
import { hash32, Rng } from '../core/rng.js';
import { writeFileAtomic } from '../core/fsx.js';
import { InputError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { barChart, escapeHtml, SectionBuilder, type Section } from '../core/report.js';
import { ResponseCache } from './cache.js';
import { evaluate, type EvalCase, type Predictor, type SampleLog } from './harness.js';
import { judgeAnswer, summariseJudge, type JudgeSummary, type JudgeVerdict } from './judge.js';
import type { ChatMessage, CompletionRequest, LlmProvider, ProviderErrorKind } from './provider.js';
import { parseStrictJson, type FailureKind } from './strict.js';
import type { Creation, SelfKnowledgeTask } from './tasks.js';
import { pairedDifference, passAtK, passHatK, rate, type PairedDifference } from './stats.js';
import type { UserTaskReport } from './taskfile.js';

export type ContextMode = 'fresh' | 'withGeneration' | 'withNoise';

export interface SelfKnowOptions {
  /** Items per task (default 20). */
  readonly items?: number;
  /** Runs per item (default 3). */
  readonly repeats?: number;
  readonly seed?: number;
  /** k of pass^k / pass@k (default: repeats). */
  readonly passK?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly maxTokensGeneration?: number;
  readonly maxTokensVerification?: number;
  readonly contextMode?: ContextMode;
  /** Parameter-seed range: 'dev' for prompt work, 'test' (default) for reported numbers. */
  readonly split?: 'dev' | 'test';
  /** Repeats draw different sampling seeds (default true); false reuses one seed per item. */
  readonly independentRepeats?: boolean;
  /** Send each prompt's JSON schema to the provider for constrained decoding (default true). */
  readonly constrained?: boolean;
  /** Per-task pass-rate thresholds theta (default 0.5 for every task). */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** Calls in flight at once (default 1; raise it for HTTP servers). */
  readonly concurrency?: number;
  /** Response cache (JSONL path, or a ResponseCache); default in memory only. */
  readonly cache?: string | ResponseCache | null;
  /** Samples log (one line per item and repeat), see SampleLog. */
  readonly samples?: SampleLog | null;
  /** Judge model for open answers (the qa family): graded apart from the mechanical checks. */
  readonly judge?: LlmProvider | null;
  readonly signal?: AbortSignal;
  readonly quiet?: boolean;
}

const KNOWN = ['items', 'repeats', 'seed', 'passK', 'temperature', 'topP', 'topK', 'maxTokensGeneration', 'maxTokensVerification', 'contextMode', 'split', 'independentRepeats', 'constrained', 'thresholds', 'concurrency', 'cache', 'samples', 'judge', 'signal', 'quiet'];

type Stage = 'generation' | 'verification';

export interface RunOutcome {
  readonly task: string;
  readonly item: number;
  readonly repeat: number;
  readonly params: unknown;
  readonly generationPrompt: string;
  readonly generationText: string;
  readonly verificationPrompt: string | null;
  readonly verificationText: string | null;
  readonly content: string | null;
  readonly claim: string | null;
  readonly answer: string | null;
  readonly truth: string | null;
  /** null when a provider error left the run without a result. */
  readonly consistent: boolean | null;
  readonly generationCorrect: boolean | null;
  readonly verificationCorrect: boolean | null;
  readonly failure: { readonly stage: Stage; readonly kind: FailureKind; readonly message: string } | null;
  readonly error: { readonly stage: Stage; readonly kind: ProviderErrorKind; readonly message: string } | null;
  /** With a judge, on open-answer tasks: its verdicts on the claim and on the verifier's answer. */
  readonly judge?: { readonly claim: JudgeVerdict | null; readonly answer: JudgeVerdict | null };
}


export interface TaskSummary {
  readonly origin: string;
  /** Items (each run `repeats` times). */
  readonly n: number;
  readonly runs: number;
  /** Runs with a result (no provider error). */
  readonly evaluated: number;
  readonly self_consistency: number | null;
  /** null ("n/a") where no checker applies. */
  readonly generation_correct: number | null;
  readonly verification_correct: number | null;
  readonly pass_k: number | null;
  readonly pass_at_k: number | null;
  readonly k: number;
  readonly parse_failures: number;
  readonly format_failure_rate: number | null;
  readonly parse_failure_kinds: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly error_kinds: Readonly<Record<string, number>>;
  readonly intervals: { readonly self_consistency: readonly [number, number] | null; readonly generation_correct: readonly [number, number] | null; readonly verification_correct: readonly [number, number] | null };
  /** Runs where both G and V are defined: counts of (G correct, V correct). */
  readonly joint: { readonly g_and_v: number; readonly g_only: number; readonly v_only: number; readonly neither: number };
  /** S of a verifier that always answers the most common claimed value. */
  readonly baseline_modal_self_consistency: number | null;
  readonly threshold: number;
  /** Share of items whose self-consistency over repeats is >= threshold. */
  readonly items_at_threshold: number | null;
  /**
   * With --judge on open-answer tasks, apart from the mechanical numbers: the judge on the claim
   * (agreement with the mechanical G where it is defined) and on the verifier's answer (V by judge).
   */
  readonly judge?: { readonly claim: JudgeSummary; readonly answer: JudgeSummary };
}

export interface SelfKnowledgeReport {
  readonly model: string;
  readonly model_fingerprint: string;
  readonly config: SelfKnowConfig;
  readonly tasks: Readonly<Record<string, TaskSummary>>;
  readonly overall: Omit<TaskSummary, 'origin' | 'threshold' | 'items_at_threshold' | 'baseline_modal_self_consistency' | 'k'>;
  readonly examples: Readonly<Record<string, readonly Pick<RunOutcome, 'item' | 'repeat' | 'content' | 'claim' | 'answer' | 'truth'>[]>>;
  readonly errors: readonly { readonly task: string; readonly item: number; readonly repeat: number; readonly stage: Stage; readonly kind: string; readonly message: string }[];
  /** The exact prompts of each task's first item (all prompts follow from the code and the seed). */
  readonly prompts: Readonly<Record<string, { readonly generation: string; readonly verification: string | null }>>;
  readonly throughput: { readonly pairs: number; readonly calls: number; readonly cache_hits: number; readonly wall_s: number; readonly pairs_per_minute: number };
  /** Every run, in (task, item, repeat) order: for the finetune export and the report. */
  readonly outcomes: readonly RunOutcome[];
}

const NOISE = [
  ['What is the capital of France?', 'The capital of France is Paris.'],
  ['Name three colours.', 'Red, green and blue.'],
  ['Say something about the weather.', 'It is cloudy with a chance of rain.'],
  ['What do bees make?', 'Bees make honey.'],
] as const;


function inc(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

/** Run the evaluation. Results do not depend on `concurrency` or on what the cache already held. */
export async function runSelfKnowledge(tasks: readonly SelfKnowledgeTask[], provider: LlmProvider, opts: SelfKnowOptions = {}): Promise<SelfKnowledgeReport> {
  checkOptionKeys(opts, KNOWN, 'selfknow');
  const items = opts.items ?? 20;
  const repeats = opts.repeats ?? 3;
  const seed = opts.seed ?? 0;
  const passK = opts.passK ?? repeats;
  const contextMode = opts.contextMode ?? 'fresh';
  const split = opts.split ?? 'test';
  const concurrency = opts.concurrency ?? 1;
  const constrained = opts.constrained ?? true;
  if (!Number.isInteger(items) || items < 1) throw new InputError(`items must be a positive integer, got ${items}`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new InputError(`repeats must be a positive integer, got ${repeats}`);
  if (!Number.isInteger(passK) || passK < 1 || passK > repeats) throw new InputError(`passK must be in 1..repeats (${repeats}), got ${passK}`);
  if (!['fresh', 'withGeneration', 'withNoise'].includes(contextMode)) throw new InputError(`contextMode must be fresh, withGeneration or withNoise, got ${contextMode}`);
  if (split !== 'dev' && split !== 'test') throw new InputError(`split must be dev or test, got ${String(split)}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InputError(`concurrency must be a positive integer, got ${concurrency}`);
  for (const [t, th] of Object.entries(opts.thresholds ?? {})) {
    if (!tasks.some((x) => x.id === t)) throw new InputError(`threshold for unknown task ${t}`);
    if (!(th >= 0 && th <= 1)) throw new InputError(`threshold for ${t} must be in [0, 1], got ${th}`);
  }
  const ownCache = typeof opts.cache === 'string' || !opts.cache;
  const cache = opts.cache instanceof ResponseCache ? opts.cache : new ResponseCache(typeof opts.cache === 'string' ? opts.cache : null);
  const config: SelfKnowConfig = {
    tasks: tasks.map((t) => t.id), items, repeats, seed, passK, temperature: opts.temperature ?? 0.7, topP: opts.topP ?? null, topK: opts.topK ?? null,
    maxTokensGeneration: opts.maxTokensGeneration ?? 160, maxTokensVerification: opts.maxTokensVerification ?? 24, contextMode, split,
    independentRepeats: opts.independentRepeats ?? true, constrained, thresholds: opts.thresholds ?? {},
  };

  const cases = selfKnowledgeCases(tasks, { items, seed, split });
  const predictor = selfKnowledgePredictor(tasks, config, opts.judge ?? null);
  const run = await evaluate(cases, predictor, {
    provider, repeats, concurrency, cache, label: 'selfknow', quiet: opts.quiet ?? false, ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.samples ? { samples: opts.samples } : {}), runKey: { selfknow: config, judge: opts.judge?.id() ?? null },
  }).finally(() => { if (ownCache) cache.close(); });
  const outcomes = run.outcomes.map((o) => o.output);
  const calls = run.calls;
  const wall = run.wall_s;

  const summaries: Record<string, TaskSummary> = {};
  const examples: Record<string, Pick<RunOutcome, 'item' | 'repeat' | 'content' | 'claim' | 'answer' | 'truth'>[]> = {};
  for (const task of tasks) {
    const mine = outcomes.filter((o) => o.task === task.id);
    const s = summarise(mine, passK, task.origin, opts.thresholds?.[task.id] ?? 0.5);
    const judged = mine.filter((o) => o.judge);
    summaries[task.id] = judged.length && opts.judge ? {
      ...s, judge: {
        claim: summariseJudge(opts.judge.id(), judged.filter((o) => o.judge!.claim).map((o) => ({ verdict: o.judge!.claim!, mechanical: o.generationCorrect }))),
        answer: summariseJudge(opts.judge.id(), judged.filter((o) => o.judge!.answer).map((o) => ({ verdict: o.judge!.answer!, mechanical: o.verificationCorrect }))),
      },
    } : s;
    examples[task.id] = mine.filter((o) => o.consistent === false && o.failure === null).slice(0, 3)
      .map((o) => ({ item: o.item, repeat: o.repeat, content: clip(o.content), claim: o.claim, answer: o.answer, truth: o.truth }));
  }
  const all = summarise(outcomes, passK, 'all', 0.5);
  const { origin: _o, threshold: _t, items_at_threshold: _i, baseline_modal_self_consistency: _b, k: _k, ...overall } = all;
  const errors = outcomes.filter((o) => o.error).map((o) => ({ task: o.task, item: o.item, repeat: o.repeat, stage: o.error!.stage, kind: o.error!.kind, message: o.error!.message }));
  const pairs = outcomes.filter((o) => o.verificationText !== null).length;
  return {
    model: provider.id(),
    model_fingerprint: run.fingerprint ?? provider.id(),
    config,
    tasks: summaries,
    overall: { ...overall, n: items * tasks.length },
    examples,
    errors,
    prompts: Object.fromEntries(tasks.map((t) => {
      const o = outcomes.find((x) => x.task === t.id && x.verificationPrompt !== null) ?? outcomes.find((x) => x.task === t.id)!;
      return [t.id, { generation: o.generationPrompt, verification: o.verificationPrompt }];
    })),
    throughput: { pairs, calls, cache_hits: run.cache_hits, wall_s: wall, pairs_per_minute: wall > 0 ? (pairs / wall) * 60 : 0 },
    outcomes,
  };
}

/** The resolved configuration of a run (part of the record and of the samples key). */
export interface SelfKnowConfig {
  readonly tasks: readonly string[];
  readonly items: number;
  readonly repeats: number;
  readonly seed: number;
  readonly passK: number;
  readonly temperature: number;
  readonly topP: number | null;
  readonly topK: number | null;
  readonly maxTokensGeneration: number;
  readonly maxTokensVerification: number;
  readonly contextMode: ContextMode;
  readonly split: 'dev' | 'test';
  readonly independentRepeats: boolean;
  readonly constrained: boolean;
  readonly thresholds: Readonly<Record<string, number>>;
}

export interface SelfKnowInput {
  readonly params: unknown;
  /** Per-item seed: sampling seeds and the noise context derive from it. */
  readonly itemSeed: number;
}

/**
 * A task family's items as harness cases: parameters and item seeds from the run seed and split,
 * one stream per task and item, so adding a task or an item changes no other item.
 */
export function selfKnowledgeCases(tasks: readonly SelfKnowledgeTask[], o: { items: number; seed: number; split: 'dev' | 'test' }): EvalCase<SelfKnowInput>[] {
  const cases: EvalCase<SelfKnowInput>[] = [];
  const root = new Rng(o.seed, `selfknow/${o.split}`);
  for (const task of tasks) {
    const trng = root.split(task.id);
    for (let i = 0; i < o.items; i++) {
      const irng = trng.split(`item${i}`);
      const params = task.sampleParams(irng.split('params'));
      cases.push({ task: task.id, item: i, input: { params, itemSeed: irng.split('seed').nextU32() } });
    }
  }
  return cases;
}

/** The two-call predictor: generate content with a claim, then ask about it in a second prompt. */
export function selfKnowledgePredictor(tasks: readonly SelfKnowledgeTask[], config: SelfKnowConfig, judge: LlmProvider | null = null): Predictor<SelfKnowInput, RunOutcome> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  return {
    name: 'selfknow',
    predict: async (c, ctx) => {
      const task = byId.get(c.task)!;
      const { params, itemSeed } = c.input;
      const repeat = ctx.repeat;
      const sampleSeed = (stage: string): number => hash32(`${stage}:${config.independentRepeats ? repeat : 0}`, itemSeed);
      const genPrompt = task.generationPrompt(params);
      const base = { task: task.id, item: c.item, repeat, params, generationPrompt: genPrompt };
      const sampling = { temperature: config.temperature, topP: config.topP ?? undefined, topK: config.topK ?? undefined };
      const genReq: CompletionRequest = { messages: [{ role: 'user', content: genPrompt }], ...sampling, maxTokens: config.maxTokensGeneration, seed: sampleSeed('gen'), jsonSchema: config.constrained ? task.generationSchema : undefined };
      const empty = { verificationPrompt: null, verificationText: null, content: null, claim: null, answer: null, truth: null };
      const gen = await ctx.call('generation', genReq);
      if (gen.error) {
        return { ...base, ...empty, generationText: '', consistent: null, generationCorrect: null, verificationCorrect: null, failure: null, error: { stage: 'generation', kind: gen.error.kind, message: gen.error.message } };
      }
      const hasTruth = Boolean(task.check || task.creationValid);
      const parsedGen = parseStrictJson(gen.text, task.generationSchema);
      let creation: Creation<unknown> | string = parsedGen.ok ? task.parseClaim(parsedGen.value, params) : parsedGen.message;
      if (!parsedGen.ok || typeof creation === 'string') {
        const kind: FailureKind = parsedGen.ok ? 'schema' : parsedGen.kind;
        return { ...base, ...empty, generationText: gen.text, consistent: false, generationCorrect: hasTruth ? false : null, verificationCorrect: null, failure: { stage: 'generation', kind, message: String(creation) }, error: null };
      }
      creation = creation as Creation<unknown>;
      let truth: { ok: true; value: unknown } | { ok: false; reason: string } | null = null;
      let generationCorrect: boolean | null = null;
      if (task.check) {
        truth = task.check(creation, params);
        generationCorrect = truth.ok ? task.equals(truth.value, creation.claim) : false;
      } else if (task.creationValid) generationCorrect = task.creationValid(creation, params);

      const verPrompt = task.verificationPrompt(creation.content);
      const messages: ChatMessage[] = [];
      if (config.contextMode === 'withNoise') {
        const [q, a] = NOISE[itemSeed % NOISE.length];
        messages.push({ role: 'user', content: q }, { role: 'assistant', content: a });
      }
      if (config.contextMode !== 'fresh') messages.push({ role: 'user', content: genPrompt }, { role: 'assistant', content: gen.text });
      messages.push({ role: 'user', content: verPrompt });
      const verReq: CompletionRequest = { messages, ...sampling, maxTokens: config.maxTokensVerification, seed: sampleSeed('ver'), jsonSchema: config.constrained ? task.answerSchema : undefined };
      const ver = await ctx.call('verification', verReq);
      const shown = {
        verificationPrompt: verPrompt, content: creation.content, claim: task.show(creation.claim),
        truth: truth && truth.ok ? task.show(truth.value) : null,
      };
      if (ver.error) {
        return { ...base, ...shown, generationText: gen.text, verificationText: null, answer: null, consistent: null, generationCorrect: null, verificationCorrect: null, failure: null, error: { stage: 'verification', kind: ver.error.kind, message: ver.error.message } };
      }
      const parsedVer = parseStrictJson(ver.text, task.answerSchema);
      const answer = parsedVer.ok ? task.parseAnswer(parsedVer.value) : parsedVer.message;
      const truthDefined = truth !== null && truth.ok;
      if (!parsedVer.ok) {
        return { ...base, ...shown, generationText: gen.text, verificationText: ver.text, answer: null, consistent: false, generationCorrect, verificationCorrect: truthDefined ? false : null, failure: { stage: 'verification', kind: parsedVer.kind, message: parsedVer.message }, error: null };
      }
      const out: RunOutcome = {
        ...base, ...shown, generationText: gen.text, verificationText: ver.text, answer: task.show(answer),
        consistent: task.equals(answer, creation.claim),
        generationCorrect,
        verificationCorrect: truthDefined ? task.equals(answer, (truth as { value: unknown }).value) : null,
        failure: null, error: null,
      };
      // Open answers (no checker gives a true value): the judge grades the claim and the verifier's answer.
      if (judge && !task.check) {
        const ask = (a: string): ReturnType<typeof judgeAnswer> => judgeAnswer(ctx, judge, { question: `${creation.content}\nAnswer the question from the passage.`, answer: a });
        return { ...out, judge: { claim: await ask(task.show(creation.claim)), answer: await ask(task.show(answer)) } };
      }
      return out;
    },
    sample: (_c, o) => ({
      parsed: { content: o.content, claim: o.claim, answer: o.answer, truth: o.truth },
      verdicts: { S: o.consistent, G: o.generationCorrect, V: o.verificationCorrect, ...(o.judge ? { judge_claim: o.judge.claim?.ok ? o.judge.claim.correct : null, judge_answer: o.judge.answer?.ok ? o.judge.answer.correct : null } : {}) },
      error_kind: o.error ? `${o.error.stage}:${o.error.kind}` : o.failure ? `${o.failure.stage}:${o.failure.kind}` : null,
    }),
  };
}

function clip(s: string | null, n = 300): string | null {
  return s === null ? null : s.length > n ? s.slice(0, n) + '…' : s;
}

function summarise(runs: readonly RunOutcome[], k: number, origin: string, threshold: number): TaskSummary {
  const ok = runs.filter((r) => r.error === null);
  const S = rate(ok.filter((r) => r.consistent).length, ok.length);
  const gDef = ok.filter((r) => r.generationCorrect !== null);
  const G = rate(gDef.filter((r) => r.generationCorrect).length, gDef.length);
  const vDef = ok.filter((r) => r.verificationCorrect !== null);
  const V = rate(vDef.filter((r) => r.verificationCorrect).length, vDef.length);
  const joint = { g_and_v: 0, g_only: 0, v_only: 0, neither: 0 };
  for (const r of ok) {
    if (r.generationCorrect === null || r.verificationCorrect === null) continue;
    if (r.generationCorrect && r.verificationCorrect) joint.g_and_v++;
    else if (r.generationCorrect) joint.g_only++;
    else if (r.verificationCorrect) joint.v_only++;
    else joint.neither++;
  }
  const failureKinds: Record<string, number> = {};
  for (const r of ok) if (r.failure) inc(failureKinds, `${r.failure.stage}:${r.failure.kind}`);
  const errorKinds: Record<string, number> = {};
  for (const r of runs) if (r.error) inc(errorKinds, `${r.error.stage}:${r.error.kind}`);
  // pass^k per item over its evaluated runs (items with fewer than k evaluated runs are skipped).
  const byItem = new Map<string, RunOutcome[]>();
  for (const r of ok) {
    const key = `${r.task}#${r.item}`;
    const l = byItem.get(key) ?? [];
    l.push(r);
    byItem.set(key, l);
  }
  const hat: number[] = [], at: number[] = [];
  let atThreshold = 0, itemsCounted = 0;
  for (const l of byItem.values()) {
    const c = l.filter((r) => r.consistent).length;
    itemsCounted++;
    if (c / l.length >= threshold) atThreshold++;
    if (l.length >= k) { hat.push(passHatK(l.length, c, k)); at.push(passAtK(l.length, c, k)); }
  }
  const avg = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const claims = new Map<string, number>();
  for (const r of ok) if (r.claim !== null) claims.set(r.claim, (claims.get(r.claim) ?? 0) + 1);
  const modal = claims.size ? Math.max(...claims.values()) : 0;
  const items = new Set(runs.map((r) => `${r.task}#${r.item}`)).size;
  const parseFailures = ok.filter((r) => r.failure).length;
  return {
    origin,
    n: items,
    runs: runs.length,
    evaluated: ok.length,
    self_consistency: S.value,
    generation_correct: G.value,
    verification_correct: V.value,
    pass_k: avg(hat),
    pass_at_k: avg(at),
    k,
    parse_failures: parseFailures,
    format_failure_rate: ok.length ? parseFailures / ok.length : null,
    parse_failure_kinds: failureKinds,
    errors: runs.length - ok.length,
    error_kinds: errorKinds,
    intervals: { self_consistency: S.ci95, generation_correct: G.ci95, verification_correct: V.ci95 },
    joint,
    baseline_modal_self_consistency: ok.length ? modal / ok.length : null,
    threshold,
    items_at_threshold: itemsCounted ? atThreshold / itemsCounted : null,
  };
}

/** The record written by `perennial llm selfknow` (outcomes left out; they go to the finetune export). */
export function reportRecord(r: SelfKnowledgeReport): Omit<SelfKnowledgeReport, 'outcomes'> {
  const { outcomes: _o, ...rest } = r;
  return rest;
}

/**
 * Self-generated, self-consistent exchanges as chat-format JSONL (the data the paper fine-tunes
 * on): one line per consistent run, math first. `checked` says whether a checker confirmed the
 * content (null where none applies); `requireChecked` keeps only confirmed ones.
 */
export function finetuneJsonl(r: SelfKnowledgeReport, opts: { requireChecked?: boolean } = {}): string {
  const order = (t: string): number => (t === 'arithmetic' ? 0 : t === 'theorem' ? 1 : 2);
  const rows = r.outcomes
    .filter((o) => o.consistent && o.verificationPrompt !== null && o.verificationText !== null)
    .filter((o) => !opts.requireChecked || o.generationCorrect === true)
    .map((o, i) => ({ o, i }))
    .sort((a, b) => order(a.o.task) - order(b.o.task) || a.i - b.i)
    .map(({ o }) => JSON.stringify({
      messages: [
        { role: 'user', content: o.generationPrompt },
        { role: 'assistant', content: o.generationText },
        { role: 'user', content: o.verificationPrompt },
        { role: 'assistant', content: o.verificationText },
      ],
      task: o.task, item: o.item, repeat: o.repeat, checked: o.generationCorrect,
    }));
  return rows.length ? rows.join('\n') + '\n' : '';
}

export function writeFinetune(path: string, r: SelfKnowledgeReport, opts: { requireChecked?: boolean } = {}): number {
  const text = finetuneJsonl(r, opts);
  writeFileAtomic(path, text);
  return text ? text.trimEnd().split('\n').length : 0;
}

const pct = (v: number | null): string => (v === null ? 'n/a' : `${(100 * v).toFixed(1)} %`);
const ci = (c: readonly [number, number] | null): string => (c ? `[${(100 * c[0]).toFixed(0)}, ${(100 * c[1]).toFixed(0)}]` : '');

/** A report section: per-task table and bar chart, error counts, disagreement examples. */
export function selfKnowledgeSection(r: SelfKnowledgeReport, title = 'LLM self-knowledge'): Section {
  const b = new SectionBuilder(title);
  b.text(`Model ${r.model}; ${r.config.items} items per task x ${r.config.repeats} repeats, seed ${r.config.seed}, temperature ${r.config.temperature}, context ${r.config.contextMode}, split ${r.config.split}. S = self-consistency (verifier agrees with the claim), G = generation correct (content has the claimed property, checked mechanically), V = verification correct (verifier matches the checker). Intervals are 95 % Wilson. Parse failures count as wrong; provider errors are excluded from rates and listed.`);
  const rows = Object.entries(r.tasks).map(([id, t]) => [
    id, t.origin, t.n, t.evaluated, `${pct(t.self_consistency)} ${ci(t.intervals.self_consistency)}`, `${pct(t.generation_correct)} ${ci(t.intervals.generation_correct)}`,
    `${pct(t.verification_correct)} ${ci(t.intervals.verification_correct)}`, t.pass_k === null ? 'n/a' : t.pass_k.toFixed(3), pct(t.baseline_modal_self_consistency), t.parse_failures, t.errors,
  ] as (string | number)[]);
  b.table(['task', 'origin', 'items', 'runs ok', 'S', 'G', 'V', `pass^${r.config.passK}`, 'modal baseline S', 'parse failures', 'errors'], rows, 'Per task');
  const bars: Record<string, unknown>[] = [];
  for (const [id, t] of Object.entries(r.tasks)) {
    bars.push({ task: id, metric: 'S', value: t.self_consistency ?? 0 });
    if (t.generation_correct !== null) bars.push({ task: id, metric: 'G', value: t.generation_correct });
    if (t.verification_correct !== null) bars.push({ task: id, metric: 'V', value: t.verification_correct });
    bars.push({ task: id, metric: 'modal baseline S', value: t.baseline_modal_self_consistency ?? 0 });
  }
  b.plot(barChart(bars, { x: 'task', y: 'value', series: 'metric', yTitle: 'rate', width: 560 }), 'S, G, V and the modal-answer baseline per task (G, V omitted where no checker applies)');
  b.table(['task', 'G and V', 'G only', 'V only', 'neither'], Object.entries(r.tasks).map(([id, t]) => [id, t.joint.g_and_v, t.joint.g_only, t.joint.v_only, t.joint.neither]), 'G x V (runs where both are defined)');
  const exRows: string[] = [];
  for (const [id, ex] of Object.entries(r.examples)) for (const e of ex) {
    exRows.push(`<tr><td>${escapeHtml(id)}</td><td style="text-align:left;max-width:480px;white-space:pre-wrap">${escapeHtml(e.content ?? '')}</td><td>${escapeHtml(e.claim ?? '')}</td><td>${escapeHtml(e.answer ?? '')}</td><td>${escapeHtml(e.truth ?? 'n/a')}</td></tr>`);
  }
  b.html(exRows.length ? `<table><caption>Disagreements (claim != verifier answer), up to 3 per task</caption><thead><tr><th>task</th><th>content</th><th>claim</th><th>verifier</th><th>checker</th></tr></thead><tbody>${exRows.join('')}</tbody></table>` : '<p>No disagreements with parseable answers.</p>');
  if (r.errors.length) {
    const kinds: Record<string, number> = {};
    for (const e of r.errors) inc(kinds, `${e.stage}:${e.kind}`);
    b.table(['error', 'runs'], Object.entries(kinds).map(([k, v]) => [k, v]), `Provider errors (${r.errors.length} runs; first: ${r.errors[0].message.slice(0, 120)})`);
  }
  const judged = Object.entries(r.tasks).filter(([, t]) => t.judge);
  if (judged.length) {
    b.table(['task', 'judge', 'claim judged correct', 'agreement with G', 'verifier answer judged correct', 'judge failures'], judged.map(([id, t]) => [
      id, t.judge!.claim.judge, `${pct(t.judge!.claim.rate)} ${ci(t.judge!.claim.ci95)}`, t.judge!.claim.agreement.n ? `${pct(t.judge!.claim.agreement.rate)} of ${t.judge!.claim.agreement.n}` : 'n/a',
      `${pct(t.judge!.answer.rate)} ${ci(t.judge!.answer.ci95)}`, t.judge!.claim.failures + t.judge!.answer.failures,
    ]), `Judge (${judged[0][1].judge!.claim.rubric}), apart from the mechanical checks: open answers graded by a model`);
  }
  b.text(`Throughput: ${r.throughput.pairs} prompt-answer pairs in ${r.throughput.wall_s.toFixed(1)} s (${r.throughput.pairs_per_minute.toFixed(0)} per minute; ${r.throughput.cache_hits} cache hits, ${r.throughput.calls} provider calls).`);
  return b.build();
}

/** One model's results in a run with several models. */
export interface ModelResults {
  readonly model: string;
  readonly selfknow: SelfKnowledgeReport | null;
  readonly user: UserTaskReport | null;
}

export interface PairedRow extends PairedDifference {
  readonly task: string;
  readonly metric: string;
  /** The model compared with the first one (difference = model - baseline). */
  readonly model: string;
  readonly baseline: string;
}

export interface ModelComparison {
  readonly models: readonly string[];
  /** task -> model -> metric -> rate (null where undefined). */
  readonly matrix: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number | null>>>>>>;
  readonly paired: readonly PairedRow[];
}

/** Per-item scores of one metric: the share of an item's scored runs that passed. */
function itemScores<T>(runs: readonly T[], item: (r: T) => number, verdict: (r: T) => boolean | null): Map<string, number> {
  const acc = new Map<string, { s: number; n: number }>();
  for (const r of runs) {
    const v = verdict(r);
    if (v === null) continue;
    const k = String(item(r));
    const a = acc.get(k) ?? { s: 0, n: 0 };
    a.s += v ? 1 : 0;
    a.n++;
    acc.set(k, a);
  }
  return new Map([...acc].map(([k, a]) => [k, a.s / a.n]));
}

/**
 * The model x task matrix and, for every later model, its paired difference from the first on
 * each task and metric: the same items (same seed, same task file) scored by both.
 */
export function compareModels(results: readonly ModelResults[], seed = 0): ModelComparison {
  const models = results.map((r) => r.model);
  const matrix: Record<string, Record<string, Record<string, number | null>>> = {};
  const scores = new Map<string, Map<string, Map<string, number>>>(); // task|metric -> model -> item scores
  const put = (task: string, metric: string, model: string, m: Map<string, number>): void => {
    const k = `${task}\u0000${metric}`;
    if (!scores.has(k)) scores.set(k, new Map());
    scores.get(k)!.set(model, m);
  };
  for (const r of results) {
    if (r.selfknow) for (const [id, t] of Object.entries(r.selfknow.tasks)) {
      (matrix[id] ??= {})[r.model] = { S: t.self_consistency, G: t.generation_correct, V: t.verification_correct };
      const mine = r.selfknow.outcomes.filter((o) => o.task === id && o.error === null);
      put(id, 'S', r.model, itemScores(mine, (o) => o.item, (o) => o.consistent));
      put(id, 'G', r.model, itemScores(mine, (o) => o.item, (o) => o.generationCorrect));
      put(id, 'V', r.model, itemScores(mine, (o) => o.item, (o) => o.verificationCorrect));
    }
    if (r.user) for (const [id, t] of Object.entries(r.user.tasks)) {
      (matrix[id] ??= {})[r.model] = { pass: t.pass?.value ?? null, ...(t.judge ? { judge: t.judge.rate } : {}) };
      const mine = r.user.outcomes.filter((o) => o.task === id && o.error === null);
      put(id, 'pass', r.model, itemScores(mine, (o) => o.item, (o) => o.pass));
      put(id, 'judge', r.model, itemScores(mine, (o) => o.item, (o) => (o.judge?.ok ? o.judge.correct : null)));
    }
  }
  const paired: PairedRow[] = [];
  for (const [k, byModel] of scores) {
    const [task, metric] = k.split('\u0000') as [string, string];
    const base = byModel.get(models[0]);
    if (!base || base.size === 0) continue;
    for (const m of models.slice(1)) {
      const other = byModel.get(m);
      if (!other || other.size === 0) continue;
      paired.push({ task, metric, model: m, baseline: models[0], ...pairedDifference(base, other, seed) });
    }
  }
  return { models, matrix, paired };
}

/** The HTML part of a run with several models: the model x task matrix and the paired differences. */
export function comparisonSection(c: ModelComparison, title = 'Models compared'): Section {
  const b = new SectionBuilder(title);
  const metrics = (task: string): string[] => [...new Set(Object.values(c.matrix[task] ?? {}).flatMap((x) => Object.keys(x)))];
  const rows = Object.keys(c.matrix).map((task) => [task, ...c.models.map((m) => {
    const cell = c.matrix[task][m];
    return cell ? metrics(task).map((k) => `${k} ${pct(cell[k] ?? null)}`).join(', ') : '—';
  })] as (string | number)[]);
  b.table(['task', ...c.models], rows, 'Model x task (S, G, V for self-knowledge families; pass and judge for task-file entries)');
  const f = (x: number | null): string => (x === null ? 'n/a' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`);
  b.table(['task', 'metric', 'model', 'vs', 'items', 'difference (points)', '95 % interval', 'wins / losses / ties'],
    c.paired.map((p) => [p.task, p.metric, p.model, p.baseline, p.n, f(p.mean), p.ci95 ? `[${f(p.ci95[0])}, ${f(p.ci95[1])}]` : (p.reason ?? ''), `${p.wins} / ${p.losses} / ${p.ties}`]),
    'Paired differences on the same items (per-item share of passing repeats; interval: items resampled, 2000 bootstrap draws)');
  return b.build();
}

/** A report section for task-file entries on one model. */
export function userTasksSection(r: UserTaskReport, title = 'Task file'): Section {
  const b = new SectionBuilder(title);
  b.text(`Model ${r.model}. Mechanical checkers (exact, regex, numeric, JSON schema) and the judge are reported apart; agreement is over answers both scored.`);
  const rows = Object.entries(r.tasks).map(([id, t]) => [
    id, t.n, t.evaluated, t.errors, t.unreadable, t.pass ? `${pct(t.pass.value)} ${ci(t.pass.ci95)}` : 'n/a',
    Object.entries(t.checks).map(([k, v]) => `${k} ${pct(v.value)}`).join(', '),
    t.judge ? `${pct(t.judge.rate)} ${ci(t.judge.ci95)}` : 'n/a', t.judge && t.judge.agreement.n ? `${pct(t.judge.agreement.rate)} of ${t.judge.agreement.n}` : 'n/a',
  ] as (string | number)[]);
  b.table(['task', 'items', 'runs ok', 'errors', 'unreadable', 'all checks pass', 'per checker', 'judge: correct', 'judge agrees with checks'], rows, 'Per task');
  if (r.warnings.length) b.text(`Warnings: ${r.warnings.join('; ')}`);
  return b.build();
}
