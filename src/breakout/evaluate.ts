// Evaluation of every pipeline on the same windows: per-stage accuracy (gold-fed), verdict
// accuracy (chained), rationale consistency (the facts stated in the rationale agree with gold),
// counted errors per window, Wilson 95 % intervals, the verdict confusion table and accuracy per
// difficulty kind. Gold answers always come from the rule labeller at evaluation time. Each
// pipeline is a predictor over llm's evaluation harness (one cache, one samples log, one set of
// statistics for every model evaluation in the project).
import { InputError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { MAX_REPEATS, capSize } from '../core/limits.js';
import { mean, std } from '../core/stats.js';
import type { ResponseCache } from '../llm/cache.js';
import { evaluate, type EvalCase, type Predictor, type SampleFields, type SampleLog } from '../llm/harness.js';
import type { CompletionRequest, LlmProvider } from '../llm/provider.js';
import { pairedDifference, wilson, type PairedDifference } from '../llm/stats.js';
import { goldFromLabel, recordFromGenerated, type GoldLabel, type WindowItem, type WindowRecord } from './dataset.js';
import { priceToTicks, type FootprintWindow } from './footprint.js';
import { generateFootprintSet, type FootprintSpec } from './generate.js';
import { isComplete, labelFootprint, type Aggregation, RULE_VERSION } from './label.js';
import { footprintFeatures, verdictModel, type LogisticOptions } from './learned.js';
import { runMultiStage, runSingleStage, type PipelineOptions, type StageError, type StageName } from './pipeline.js';

export type PipelineName = 'multi' | 'single' | 'rules' | 'learned';
export const PIPELINES: readonly PipelineName[] = ['multi', 'single', 'rules', 'learned'];

/** Facts a rationale states, read with simple patterns (see README for their limits). */
export interface RationaleFacts {
  readonly direction: 'upward' | 'downward' | null;
  readonly levelsTicks: readonly number[];
  readonly side: 'buyer' | 'seller' | null;
}

export function rationaleFacts(text: string, tick: number): RationaleFacts {
  const t = text.toLowerCase();
  const hasUp = /\bupwards?\b/.test(t), hasDown = /\bdownwards?\b/.test(t);
  let direction: RationaleFacts['direction'] = hasUp && !hasDown ? 'upward' : hasDown && !hasUp ? 'downward' : null;
  if (hasUp && hasDown) {
    const m = /direction\s*(?:is|was|:)\s*(upward|downward)/.exec(t) ?? /\b(upward|downward)\s+break/.exec(t);
    direction = m ? (m[1] as 'upward' | 'downward') : null;
  }
  const levelsTicks: number[] = [];
  for (const m of t.matchAll(/\d+(?:\.\d+)?/g)) {
    const p = priceToTicks(Number(m[0]), tick);
    if (p !== null) levelsTicks.push(p);
  }
  const norm = (s: string): 'buyer' | 'seller' => (s.startsWith('buy') ? 'buyer' : 'seller');
  let side: RationaleFacts['side'] = null;
  const claims = [
    ...[...t.matchAll(/\b(buyers?|sellers?)\s+(?:are|were|is|was)?\s*(?:the\s+)?(?:stronger|dominant|dominating|dominate|in control)\b/g)].map((m) => ({ i: m.index ?? 0, s: norm(m[1]) })),
    ...[...t.matchAll(/\b(?:stronger|dominant)\s+side[^a-z]*(?:is|was|:)?\s*(?:the\s+)?(buyers?|sellers?)\b/g)].map((m) => ({ i: m.index ?? 0, s: norm(m[1]) })),
  ].sort((a, b) => a.i - b.i);
  if (claims.length) side = claims[claims.length - 1].s;
  else {
    const b = /\bbuy(?:ers?|ing)\b/.test(t), s = /\bsell(?:ers?|ing)\b/.test(t);
    side = b && !s ? 'buyer' : s && !b ? 'seller' : null;
  }
  return { direction, levelsTicks, side };
}

/** All three facts stated and equal to gold. */
export function rationaleConsistent(text: string | null, gold: GoldLabel, tick: number): boolean {
  if (!text || gold.levelTicks === null) return false;
  const f = rationaleFacts(text, tick);
  return f.direction === gold.direction && f.levelsTicks.includes(gold.levelTicks) && f.side === gold.side;
}

export interface WindowOutcome {
  readonly id: string;
  readonly line: number;
  readonly kind: string;
  readonly gold: GoldLabel | null;
  readonly excluded: boolean;
  readonly stageCorrect: { readonly direction: boolean | null; readonly level: boolean | null; readonly side: boolean | null };
  /** multi/rules: the gold-fed answers of S1 and S3 (null when the stage gave none). */
  readonly stageAnswers?: { readonly direction: string | null; readonly side: string | null };
  readonly verdict: boolean | null;
  readonly verdictCorrect: boolean | null;
  readonly rationaleConsistent: boolean | null;
  readonly errors: readonly { readonly stage: string; readonly kind: string; readonly message: string }[];
  /** multi only: the report stage's verdict when fed the gold facts. */
  readonly reportGoldCorrect?: boolean;
  /** LLM pipelines with repeats > 1: verdict correctness of each repeat (seeds 0..k-1). */
  readonly repeatCorrect?: readonly boolean[];
}

export interface EvalSummary {
  readonly n: number;
  readonly pipeline: PipelineName;
  readonly stage_acc: { readonly direction: number | null; readonly level: number | null; readonly side: number | null };
  readonly verdict_acc: number | null;
  readonly rationale_consistency: number | null;
  /** Windows with at least one error (malformed line, provider fault, unparsable answer, missing stage). */
  readonly errors: number;
  readonly error_kinds: Record<string, number>;
  readonly n_lines: number;
  readonly excluded: number;
  readonly verdict_ci95: readonly [number, number] | null;
  readonly confusion: { readonly tp: number; readonly fp: number; readonly tn: number; readonly fn: number };
  /** Per-class tables of the gold-fed S1 and S3 answers, keyed "gold->answer" ("none" = no answer). */
  readonly stage_confusion: { readonly direction: Record<string, number>; readonly side: Record<string, number> } | null;
  readonly per_kind: Record<string, { n: number; verdict_acc: number | null }>;
  readonly report_acc_gold_fed: number | null;
  readonly model: string | null;
  readonly rule_version: string;
  readonly aggregation: Aggregation;
  readonly learned?: { readonly seeds: readonly number[]; readonly train_n: number; readonly verdict_acc_per_seed: readonly number[]; readonly verdict_acc_mean: number; readonly verdict_acc_std: number; readonly model: Record<string, unknown> };
  readonly cache?: { readonly hits: number; readonly misses: number };
  /** LLM pipelines run k times with request seeds 0..k-1 (meaningful with temperature > 0). */
  readonly repeats?: { readonly k: number; readonly seeds: readonly number[]; readonly verdict_acc_per_repeat: readonly number[]; readonly pass_hat_k: number; readonly pass_at_k: number };
  /** Scored windows that produced an answer or ran without error; 0 with n > 0 means every one errored. */
  readonly n_answered: number;
  /** Why a rate is null: it would be over no windows (none scored, or every scored window errored). */
  readonly reasons?: Record<string, string>;
}

export interface EvalOptions {
  readonly provider?: LlmProvider;
  /** The response cache (the one of llm/): a ResponseCache, a JSONL path, or null for memory only. */
  readonly cache?: ResponseCache | string | null;
  readonly aggregation?: Aggregation;
  /** learned: number of training seeds (default 5), training windows per seed (default 2000), first training seed. */
  readonly seeds?: number;
  readonly trainN?: number;
  readonly trainSeed?: number;
  readonly trainSpec?: Partial<FootprintSpec>;
  readonly logistic?: Partial<LogisticOptions>;
  readonly signal?: AbortSignal;
  readonly quiet?: boolean;
  /** Passed to the pipelines (see PipelineOptions). */
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly reasonMaxLength?: number;
  /** LLM pipelines: repeats with request seeds 0..k-1, summarised as pass^k (all right) and pass@k (any right). Default 1. */
  readonly repeats?: number;
  /** Windows in flight at once (default 1; raise it for HTTP servers). */
  readonly concurrency?: number;
  /** Samples log: one line per window and repeat with every stage's messages, answers and verdicts. */
  readonly samples?: SampleLog | null;
}

const EVAL_KEYS = ['repeats', 'provider', 'cache', 'aggregation', 'seeds', 'trainN', 'trainSeed', 'trainSpec', 'logistic', 'signal', 'quiet', 'maxTokens', 'temperature', 'reasonMaxLength', 'concurrency', 'samples'];

function abortIfNeeded(signal?: AbortSignal): void {
  if (signal?.aborted) throw Object.assign(new Error('evaluation aborted'), { name: 'AbortError' });
}

/** A window prepared for evaluation: its record (null when the line was malformed) and gold label. */
export interface PreparedWindow { readonly item: WindowItem; readonly record: WindowRecord | null; readonly gold: GoldLabel | null; readonly kind: string }

function prepare(items: readonly WindowItem[], aggregation: Aggregation): PreparedWindow[] {
  return items.map((item) => {
    if (!item.record) return { item, record: null, gold: null, kind: 'malformed' };
    const l = labelFootprint(item.record.window, { aggregation });
    return { item, record: item.record, gold: isComplete(l) ? goldFromLabel(l, item.record.window.tick) : null, kind: item.record.meta?.kind ?? 'unknown' };
  });
}

/** Harness cases of prepared windows (task = the pipeline, item = the line's position). */
export function windowCases(prepared: readonly PreparedWindow[], pipeline: PipelineName): EvalCase<PreparedWindow>[] {
  return prepared.map((p, i) => ({ task: pipeline, item: i, input: p }));
}

type Base = Omit<WindowOutcome, 'stageCorrect' | 'verdict' | 'verdictCorrect' | 'rationaleConsistent' | 'errors'>;
const baseOf = (p: PreparedWindow): Base => ({ id: p.item.id, line: p.item.line, kind: p.kind, gold: p.gold, excluded: p.record !== null && p.gold === null });
const NONE = { direction: null, level: null, side: null };

/** Malformed and excluded windows: the same outcome in every pipeline, with no model call. */
function unscored(p: PreparedWindow): WindowOutcome | null {
  if (!p.record) return { ...baseOf(p), stageCorrect: NONE, verdict: null, verdictCorrect: null, rationaleConsistent: null, errors: [{ stage: 'input', kind: 'malformed', message: p.item.error ?? '' }] };
  if (!p.gold) return { ...baseOf(p), stageCorrect: NONE, verdict: null, verdictCorrect: null, rationaleConsistent: null, errors: [] };
  return null;
}

/** What the samples log says about a window outcome: the stage verdicts and answers. */
function windowSample(_c: EvalCase<PreparedWindow>, o: WindowOutcome): SampleFields {
  return {
    parsed: { verdict: o.verdict, stage_answers: o.stageAnswers ?? null },
    verdicts: { direction: o.stageCorrect.direction, level: o.stageCorrect.level, side: o.stageCorrect.side, verdict: o.verdictCorrect, rationale: o.rationaleConsistent, ...(o.reportGoldCorrect !== undefined ? { report_gold_fed: o.reportGoldCorrect } : {}) },
    error_kind: o.errors[0] ? `${o.errors[0].stage}:${o.errors[0].kind}` : null,
  };
}

/** The rule labeller as a predictor (exact by construction on generated windows). */
export function rulesPredictor(aggregation: Aggregation): Predictor<PreparedWindow, WindowOutcome> {
  return {
    name: 'rules', sample: windowSample,
    predict: async (c) => {
      const p = c.input;
      const u = unscored(p);
      if (u) return u;
      const w = p.record!.window, g = p.gold!;
      const l = labelFootprint(w, { aggregation });
      return {
        ...baseOf(p), stageCorrect: { direction: l.direction === g.direction, level: l.levelTicks === g.levelTicks, side: l.strongerSide === g.side },
        stageAnswers: { direction: l.direction, side: l.strongerSide },
        verdict: l.verdict, verdictCorrect: l.verdict === g.verdict, rationaleConsistent: rationaleConsistent(l.rationale, g, w.tick), errors: [],
      };
    },
  };
}

/** Per-window verdicts of an already trained model (the learned baseline's first seed). */
export function learnedPredictor(verdicts: ReadonlyMap<PreparedWindow, boolean>): Predictor<PreparedWindow, WindowOutcome> {
  return {
    name: 'learned', sample: windowSample,
    predict: async (c) => {
      const p = c.input;
      const u = unscored(p);
      if (u) return u;
      const v = verdicts.get(p)!;
      return { ...baseOf(p), stageCorrect: NONE, verdict: v, verdictCorrect: v === p.gold!.verdict, rationaleConsistent: null, errors: [] };
    },
  };
}

type CallOpts = Pick<PipelineOptions, 'signal' | 'maxTokens' | 'temperature' | 'reasonMaxLength'>;

/**
 * The single-stage baseline as a predictor: repeat k asks with request seed k. Every repeat's
 * outcome is complete; `evaluateWindows` keeps repeat 0's and the correctness of the others.
 */
export function singlePredictor(provider: LlmProvider, o: CallOpts = {}): Predictor<PreparedWindow, WindowOutcome> {
  return {
    name: 'single', sample: windowSample,
    predict: async (c, ctx) => {
      const p = c.input;
      const u = unscored(p);
      if (u) return u;
      const w = p.record!.window, g = p.gold!;
      // The seed tells repeats apart in the request, so the cache key needs no repeat index.
      const r = await runSingleStage(provider, w, { ...o, seed: ctx.repeat, call: (stage, req) => ctx.call(stage, req, { repeatIndex: 0 }) });
      return {
        ...baseOf(p), stageCorrect: NONE, verdict: r.verdict.answer, verdictCorrect: r.verdict.answer === g.verdict,
        rationaleConsistent: rationaleConsistent(r.verdict.reason, g, w.tick), errors: r.errors,
      };
    },
  };
}

/**
 * The multi-stage pipeline as a predictor. Repeat 0 runs it gold-fed (per-stage accuracy) and
 * chained (the verdict) with request seed 0; repeat k > 0 runs it chained with seed k and only
 * its verdict correctness is kept.
 */
export function multiPredictor(provider: LlmProvider, o: CallOpts = {}): Predictor<PreparedWindow, WindowOutcome> {
  return {
    name: 'multi', sample: windowSample,
    predict: async (c, ctx) => {
      const p = c.input;
      const u = unscored(p);
      if (u) return u;
      const w = p.record!.window, g = p.gold!;
      const po = { gold: g, ...o, call: (stage: StageName, req: CompletionRequest) => ctx.call(stage, req, { repeatIndex: 0 }) };
      if (ctx.repeat > 0) {
        const ch = await runMultiStage(provider, w, { ...po, mode: 'chained', seed: ctx.repeat });
        return { ...baseOf(p), stageCorrect: NONE, verdict: ch.report.answer, verdictCorrect: ch.report.answer === g.verdict, rationaleConsistent: rationaleConsistent(ch.report.reason, g, w.tick), errors: ch.errors };
      }
      const gf = await runMultiStage(provider, w, { ...po, mode: 'gold', seed: 0 });
      const ch = await runMultiStage(provider, w, { ...po, mode: 'chained', seed: 0 });
      // Errors of the gold-fed run count too, but a stage shared by both runs counts once.
      const seen = new Set<string>();
      const errors: StageError[] = [];
      for (const e of [...gf.errors, ...ch.errors]) {
        const k = `${e.stage}|${e.kind}|${e.message}`;
        if (!seen.has(k)) { seen.add(k); errors.push(e); }
      }
      return {
        ...baseOf(p),
        stageCorrect: { direction: gf.direction.answer === g.direction, level: gf.level.levelTicks === g.levelTicks, side: gf.side.answer === g.side },
        stageAnswers: { direction: gf.direction.answer, side: gf.side.answer },
        verdict: ch.report.answer, verdictCorrect: ch.report.answer === g.verdict,
        rationaleConsistent: rationaleConsistent(ch.report.reason, g, w.tick),
        errors, reportGoldCorrect: gf.report.answer === g.verdict,
      };
    },
  };
}

/** Evaluate one pipeline over parsed JSONL items (through the llm harness). */
export async function evaluateWindows(items: readonly WindowItem[], pipeline: PipelineName, opts: EvalOptions = {}): Promise<{ summary: EvalSummary; outcomes: WindowOutcome[] }> {
  checkOptionKeys(opts, EVAL_KEYS, 'breakout eval');
  if (!PIPELINES.includes(pipeline)) throw new InputError(`unknown pipeline ${JSON.stringify(pipeline)}; known: ${PIPELINES.join(', ')}`);
  const llm = pipeline === 'multi' || pipeline === 'single';
  if (llm && !opts.provider) throw new InputError(`pipeline ${pipeline} needs a model provider (--model)`);
  const aggregation = opts.aggregation ?? 'volume';
  const repeats = llm ? (opts.repeats ?? 1) : 1;
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new InputError(`repeats must be a positive integer, got ${repeats}`);
  capSize('repeats', repeats, MAX_REPEATS, 'breakout eval');
  if (pipeline === 'learned') capSize('seeds', opts.seeds ?? 5, MAX_REPEATS, 'breakout eval (learned)');
  const prepared = prepare(items, aggregation);
  let learned: EvalSummary['learned'];
  let predictor: Predictor<PreparedWindow, WindowOutcome>;
  const callOpts: CallOpts = {
    ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
    ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}), ...(opts.reasonMaxLength !== undefined ? { reasonMaxLength: opts.reasonMaxLength } : {}),
  };
  if (pipeline === 'learned') {
    const nSeeds = opts.seeds ?? 5, trainN = opts.trainN ?? 2000, seed0 = opts.trainSeed ?? 1_000_000;
    const dataSeeds = new Set(prepared.map((p) => p.record?.meta?.seed).filter((s): s is number => typeof s === 'number'));
    const seeds = Array.from({ length: nSeeds }, (_, i) => seed0 + i);
    for (const s of seeds) if (dataSeeds.has(s)) throw new InputError(`learned baseline: training seed ${s} is also a generator seed of the evaluation data; choose another --train-seed`);
    const test = prepared.filter((p) => p.gold !== null);
    const xTest = test.map((p) => footprintFeatures(p.record!.window));
    const perSeed: number[] = [];
    const votes = test.map(() => [] as boolean[]);
    let model: Record<string, unknown> = {};
    // No scored window: nothing to test on, so no model is trained (the rates are null with why).
    for (const s of test.length ? seeds : []) {
      abortIfNeeded(opts.signal);
      const train = generateFootprintSet(s, trainN, opts.trainSpec ?? {}).map((g) => recordFromGenerated(g, aggregation)).filter((r) => r.gold!.verdict !== null);
      const lr = verdictModel(opts.logistic ?? {}).fit(train.map((r) => footprintFeatures(r.window)), train.map((r) => (r.gold!.verdict ? 1 : 0)), { classes: [0, 1] });
      model = lr.describe();
      let ok = 0;
      const predicted = lr.predict(xTest);
      xTest.forEach((_, i) => { const v = predicted[i] === 1; votes[i].push(v); if (v === test[i].gold!.verdict) ok++; });
      perSeed.push(test.length ? ok / test.length : NaN);
    }
    if (test.length) learned = { seeds, train_n: trainN, verdict_acc_per_seed: perSeed, verdict_acc_mean: mean(perSeed), verdict_acc_std: std(perSeed), model };
    // Per-window outcome: the first seed's model (the confusion table is that of seed 0).
    predictor = learnedPredictor(new Map(test.map((p, i) => [p, votes[i][0]])));
  } else if (pipeline === 'rules') predictor = rulesPredictor(aggregation);
  else predictor = pipeline === 'single' ? singlePredictor(opts.provider!, callOpts) : multiPredictor(opts.provider!, callOpts);
  const run = await evaluate(windowCases(prepared, pipeline), predictor, {
    ...(llm ? { provider: opts.provider! } : {}), repeats, concurrency: opts.concurrency ?? 1, cache: opts.cache ?? null,
    ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.samples ? { samples: opts.samples } : {}),
    runKey: { breakout: pipeline, aggregation, repeats, ...callOpts, signal: undefined }, label: `breakout eval ${pipeline}`, quiet: opts.quiet ?? false,
  });
  // One outcome per window: repeat 0's, with every repeat's verdict correctness when k > 1.
  const outcomes: WindowOutcome[] = [];
  for (let i = 0; i < prepared.length; i++) {
    const rs = run.outcomes.slice(i * repeats, (i + 1) * repeats).map((o) => o.output);
    const first = rs[0];
    outcomes.push(repeats > 1 && first.gold !== null ? { ...first, repeatCorrect: rs.map((x) => x.verdictCorrect === true) } : first);
  }
  return { summary: summarise(outcomes, pipeline, aggregation, opts, llm ? { hits: run.cache_hits, misses: run.cache_misses } : null, learned), outcomes };
}

function summarise(outcomes: readonly WindowOutcome[], pipeline: PipelineName, aggregation: Aggregation, opts: EvalOptions, cache: { hits: number; misses: number } | null, learned: EvalSummary['learned']): EvalSummary {
  const scored = outcomes.filter((o) => o.gold !== null);
  const n = scored.length;
  const frac = (xs: readonly (boolean | null)[]): number | null => (xs.length && xs.every((x) => x !== null) ? xs.filter(Boolean).length / xs.length : null);
  const stage = (k: 'direction' | 'level' | 'side'): number | null => frac(scored.map((o) => o.stageCorrect[k]));
  const vc = scored.map((o) => o.verdictCorrect);
  const vk = vc.filter(Boolean).length;
  const confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const o of scored) {
    const g = o.gold!.verdict!;
    if (o.verdict === null) { if (g) confusion.fn++; else confusion.fp++; continue; } // no answer counts as wrong
    if (o.verdict && g) confusion.tp++; else if (o.verdict && !g) confusion.fp++; else if (!o.verdict && !g) confusion.tn++; else confusion.fn++;
  }
  // Rates over no items are null with the reason, never 0.000 for "every window errored".
  const answered = scored.filter((o) => o.verdict !== null || o.errors.length === 0).length;
  const malformedLines = outcomes.filter((o) => o.gold === null && !o.excluded).length;
  const errorKinds = [...new Set(scored.flatMap((o) => o.errors.map((e) => `${e.stage}:${e.kind}`)))].slice(0, 5).join(', ');
  const noRate = n === 0
    ? `no window could be scored (${outcomes.length} lines: ${outcomes.filter((o) => o.excluded).length} excluded as ties or without direction, ${malformedLines} malformed)`
    : answered === 0 ? `every one of the ${n} scored windows errored (${errorKinds || 'no answer'}), so there is no answer to score` : null;
  const per_kind: Record<string, { n: number; verdict_acc: number | null; verdict_acc_reason?: string }> = {};
  for (const o of scored) {
    const e = (per_kind[o.kind] ??= { n: 0, verdict_acc: 0 });
    e.n++;
    e.verdict_acc = (e.verdict_acc ?? 0) + (o.verdictCorrect ? 1 : 0);
  }
  for (const e of Object.values(per_kind)) e.verdict_acc = e.n ? (e.verdict_acc ?? 0) / e.n : null;
  if (noRate) for (const e of Object.values(per_kind)) { e.verdict_acc = null; e.verdict_acc_reason = noRate; }
  const error_kinds: Record<string, number> = {};
  for (const o of outcomes) for (const e of o.errors) error_kinds[e.kind] = (error_kinds[e.kind] ?? 0) + 1;
  const rc = scored.map((o) => o.repeatCorrect).filter((x): x is readonly boolean[] => x !== undefined);
  const k = rc[0]?.length ?? 0;
  const repeats = k > 1 && rc.length === n ? {
    k, seeds: Array.from({ length: k }, (_, i) => i),
    verdict_acc_per_repeat: Array.from({ length: k }, (_, j) => rc.filter((x) => x[j]).length / n),
    pass_hat_k: rc.filter((x) => x.every(Boolean)).length / n,
    pass_at_k: rc.filter((x) => x.some(Boolean)).length / n,
  } : undefined;
  let stage_confusion: EvalSummary['stage_confusion'] = null;
  if (scored.length && scored.every((o) => o.stageAnswers)) {
    const direction: Record<string, number> = {}, side: Record<string, number> = {};
    for (const o of scored) {
      const kd = `${o.gold!.direction}->${o.stageAnswers!.direction ?? 'none'}`, ks = `${o.gold!.side}->${o.stageAnswers!.side ?? 'none'}`;
      direction[kd] = (direction[kd] ?? 0) + 1;
      side[ks] = (side[ks] ?? 0) + 1;
    }
    stage_confusion = { direction, side };
  }
  const rg = scored.map((o) => o.reportGoldCorrect).filter((x): x is boolean => x !== undefined);
  const rated = noRate === null;
  const reasons: Record<string, string> = noRate
    ? Object.fromEntries(['verdict_acc', 'verdict_ci95', 'stage_acc', 'rationale_consistency', 'report_acc_gold_fed'].map((k) => [k, noRate]))
    : {};
  return {
    n, pipeline,
    stage_acc: rated ? { direction: stage('direction'), level: stage('level'), side: stage('side') } : { direction: null, level: null, side: null },
    verdict_acc: !rated ? null : pipeline === 'learned' ? (learned?.verdict_acc_mean ?? null) : vk / n,
    rationale_consistency: rated ? frac(scored.map((o) => o.rationaleConsistent)) : null,
    errors: outcomes.filter((o) => o.errors.length > 0).length,
    error_kinds,
    n_lines: outcomes.length,
    excluded: outcomes.filter((o) => o.excluded).length,
    verdict_ci95: rated ? wilson(vk, n) : null,
    confusion, stage_confusion, per_kind,
    report_acc_gold_fed: rated && rg.length ? rg.filter(Boolean).length / rg.length : null,
    model: opts.provider?.id() ?? null,
    rule_version: RULE_VERSION,
    aggregation,
    ...(learned ? { learned } : {}),
    ...(cache ? { cache } : {}),
    ...(repeats && rated ? { repeats } : {}),
    n_answered: answered,
    ...(noRate ? { reasons } : {}),
  };
}

/** One model's breakout evaluation in a run with several models. */
export interface WindowModelResult {
  readonly model: string;
  readonly summary: EvalSummary;
  readonly outcomes: readonly WindowOutcome[];
}

/**
 * Paired differences of every later model from the first on the same windows: verdict (the share
 * of repeats right when repeats > 1) and, where the pipeline has them, the gold-fed stages.
 */
export function compareWindowModels(results: readonly WindowModelResult[], seed = 0): { models: string[]; verdict_acc: Record<string, number | null>; paired: (PairedDifference & { metric: string; model: string; baseline: string })[] } {
  const scores = (r: WindowModelResult, metric: string): Map<string, number> => {
    const m = new Map<string, number>();
    for (const o of r.outcomes) {
      if (o.gold === null) continue;
      const v = metric === 'verdict'
        ? (o.repeatCorrect ? o.repeatCorrect.filter(Boolean).length / o.repeatCorrect.length : o.verdictCorrect === null ? null : Number(o.verdictCorrect))
        : o.stageCorrect[metric as 'direction' | 'level' | 'side'] === null ? null : Number(o.stageCorrect[metric as 'direction' | 'level' | 'side']);
      if (v !== null) m.set(`${o.line}`, v);
    }
    return m;
  };
  const paired: (PairedDifference & { metric: string; model: string; baseline: string })[] = [];
  const base = results[0];
  for (const metric of ['verdict', 'direction', 'level', 'side']) {
    const a = scores(base, metric);
    if (a.size === 0) continue;
    for (const r of results.slice(1)) {
      const b = scores(r, metric);
      if (b.size) paired.push({ metric, model: r.model, baseline: base.model, ...pairedDifference(a, b, seed) });
    }
  }
  return { models: results.map((r) => r.model), verdict_acc: Object.fromEntries(results.map((r) => [r.model, r.summary.verdict_acc])), paired };
}
