// Evaluation of every pipeline on the same windows: per-stage accuracy (gold-fed), verdict
// accuracy (chained), rationale consistency (the facts stated in the rationale agree with gold),
// counted errors per window, Wilson 95 % intervals, the verdict confusion table and accuracy per
// difficulty kind. Gold answers always come from the rule labeller at evaluation time.
import { InputError } from '../core/errors.js';
import { progress } from '../core/progress.js';
import { mean, std } from '../core/stats.js';
import type { LlmProvider } from '../llm/provider.js';
import { CompletionCache } from './cache.js';
import { goldFromLabel, recordFromGenerated, type GoldLabel, type WindowItem, type WindowRecord } from './dataset.js';
import { priceToTicks, type FootprintWindow } from './footprint.js';
import { generateFootprintSet, type FootprintSpec } from './generate.js';
import { isComplete, labelFootprint, type Aggregation, RULE_VERSION } from './label.js';
import { footprintFeatures, LogisticRegression, type LogisticOptions } from './learned.js';
import { runMultiStage, runSingleStage, type StageError } from './pipeline.js';

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
    ...[...t.matchAll(/\b(buyers?|sellers?)\s+(?:are|were|is|was)?\s*(?:the\s+)?(?:stronger|dominant|dominating|dominate|in control)\b/g)].map((m) => ({ i: m.index ?? 0, s: norm(m[1]!) })),
    ...[...t.matchAll(/\b(?:stronger|dominant)\s+side[^a-z]*(?:is|was|:)?\s*(?:the\s+)?(buyers?|sellers?)\b/g)].map((m) => ({ i: m.index ?? 0, s: norm(m[1]!) })),
  ].sort((a, b) => a.i - b.i);
  if (claims.length) side = claims[claims.length - 1]!.s;
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
}

export interface EvalOptions {
  readonly provider?: LlmProvider;
  readonly cache?: CompletionCache;
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
}

const EVAL_KEYS = ['repeats', 'provider', 'cache', 'aggregation', 'seeds', 'trainN', 'trainSeed', 'trainSpec', 'logistic', 'signal', 'quiet', 'maxTokens', 'temperature', 'reasonMaxLength'];

/** Wilson score interval for k successes of n. */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n, d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d, h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

function abortIfNeeded(signal?: AbortSignal): void {
  if (signal?.aborted) throw Object.assign(new Error('evaluation aborted'), { name: 'AbortError' });
}

interface Prepared { item: WindowItem; record: WindowRecord | null; gold: GoldLabel | null; kind: string }

function prepare(items: readonly WindowItem[], aggregation: Aggregation): Prepared[] {
  return items.map((item) => {
    if (!item.record) return { item, record: null, gold: null, kind: 'malformed' };
    const l = labelFootprint(item.record.window, { aggregation });
    return { item, record: item.record, gold: isComplete(l) ? goldFromLabel(l, item.record.window.tick) : null, kind: item.record.meta?.kind ?? 'unknown' };
  });
}

/** Evaluate one pipeline over parsed JSONL items. */
export async function evaluateWindows(items: readonly WindowItem[], pipeline: PipelineName, opts: EvalOptions = {}): Promise<{ summary: EvalSummary; outcomes: WindowOutcome[] }> {
  for (const k of Object.keys(opts)) if (!EVAL_KEYS.includes(k)) throw new InputError(`unknown eval option ${JSON.stringify(k)}; known: ${EVAL_KEYS.join(', ')}`);
  if (!PIPELINES.includes(pipeline)) throw new InputError(`unknown pipeline ${JSON.stringify(pipeline)}; known: ${PIPELINES.join(', ')}`);
  if ((pipeline === 'multi' || pipeline === 'single') && !opts.provider) throw new InputError(`pipeline ${pipeline} needs a model provider (--model)`);
  const aggregation = opts.aggregation ?? 'volume';
  const prepared = prepare(items, aggregation);
  const cache = opts.cache ?? new CompletionCache(null);
  const outcomes: WindowOutcome[] = [];
  let learned: EvalSummary['learned'];
  const bar = progress(`breakout eval ${pipeline}`, prepared.length, opts.quiet ? { quiet: true } : {});

  const base = (p: Prepared): Omit<WindowOutcome, 'stageCorrect' | 'verdict' | 'verdictCorrect' | 'rationaleConsistent' | 'errors'> =>
    ({ id: p.item.id, line: p.item.line, kind: p.kind, gold: p.gold, excluded: p.record !== null && p.gold === null });
  const none = { direction: null, level: null, side: null };

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
    for (const s of seeds) {
      abortIfNeeded(opts.signal);
      const train = generateFootprintSet(s, trainN, opts.trainSpec ?? {}).map((g) => recordFromGenerated(g, aggregation)).filter((r) => r.gold!.verdict !== null);
      const lr = new LogisticRegression(opts.logistic ?? {}).fit(train.map((r) => footprintFeatures(r.window)), train.map((r) => (r.gold!.verdict ? 1 : 0)));
      model = lr.describe();
      let ok = 0;
      xTest.forEach((x, i) => { const v = lr.predict(x); votes[i]!.push(v); if (v === test[i]!.gold!.verdict) ok++; });
      perSeed.push(test.length ? ok / test.length : NaN);
    }
    learned = { seeds, train_n: trainN, verdict_acc_per_seed: perSeed, verdict_acc_mean: mean(perSeed), verdict_acc_std: std(perSeed), model };
    // Per-window outcome: the first seed's model (the confusion table is that of seed 0).
    let ti = 0;
    for (const p of prepared) {
      const errors = p.record ? [] : [{ stage: 'input', kind: 'malformed', message: p.item.error ?? '' }];
      if (!p.gold) { outcomes.push({ ...base(p), stageCorrect: none, verdict: null, verdictCorrect: null, rationaleConsistent: null, errors }); bar.tick(); continue; }
      const v = votes[ti++]![0]!;
      outcomes.push({ ...base(p), stageCorrect: none, verdict: v, verdictCorrect: v === p.gold.verdict, rationaleConsistent: null, errors });
      bar.tick();
    }
  } else {
    const callOpts = {
      ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
      ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}), ...(opts.reasonMaxLength !== undefined ? { reasonMaxLength: opts.reasonMaxLength } : {}),
    };
    const repeats = opts.repeats ?? 1;
    if (!(Number.isInteger(repeats) && repeats >= 1)) throw new InputError(`repeats must be a positive integer, got ${repeats}`);
    for (const p of prepared) {
      abortIfNeeded(opts.signal);
      if (!p.record) {
        outcomes.push({ ...base(p), stageCorrect: none, verdict: null, verdictCorrect: null, rationaleConsistent: null, errors: [{ stage: 'input', kind: 'malformed', message: p.item.error ?? '' }] });
        bar.tick();
        continue;
      }
      if (!p.gold) { outcomes.push({ ...base(p), stageCorrect: none, verdict: null, verdictCorrect: null, rationaleConsistent: null, errors: [] }); bar.tick(); continue; }
      const w: FootprintWindow = p.record.window, g = p.gold;
      if (pipeline === 'rules') {
        const l = labelFootprint(w, { aggregation });
        outcomes.push({
          ...base(p), stageCorrect: { direction: l.direction === g.direction, level: l.levelTicks === g.levelTicks, side: l.strongerSide === g.side },
          stageAnswers: { direction: l.direction, side: l.strongerSide },
          verdict: l.verdict, verdictCorrect: l.verdict === g.verdict, rationaleConsistent: rationaleConsistent(l.rationale, g, w.tick), errors: [],
        });
      } else if (pipeline === 'single') {
        const runs = [];
        for (let k = 0; k < repeats; k++) runs.push(await runSingleStage(opts.provider!, w, { cache, ...callOpts, seed: k }));
        const r = runs[0]!;
        outcomes.push({
          ...base(p), stageCorrect: none, verdict: r.verdict.answer, verdictCorrect: r.verdict.answer === g.verdict,
          rationaleConsistent: rationaleConsistent(r.verdict.reason, g, w.tick), errors: r.errors,
          ...(repeats > 1 ? { repeatCorrect: runs.map((x) => x.verdict.answer === g.verdict) } : {}),
        });
      } else {
        const po = { cache, gold: g, ...callOpts };
        const gf = await runMultiStage(opts.provider!, w, { ...po, mode: 'gold', seed: 0 });
        const ch = await runMultiStage(opts.provider!, w, { ...po, mode: 'chained', seed: 0 });
        const repeatCorrect = [ch.report.answer === g.verdict];
        for (let k = 1; k < repeats; k++) repeatCorrect.push((await runMultiStage(opts.provider!, w, { ...po, mode: 'chained', seed: k })).report.answer === g.verdict);
        // Errors of the gold-fed run count too, but a stage shared by both runs counts once.
        const seen = new Set<string>();
        const errors: StageError[] = [];
        for (const e of [...gf.errors, ...ch.errors]) {
          const k = `${e.stage}|${e.kind}|${e.message}`;
          if (!seen.has(k)) { seen.add(k); errors.push(e); }
        }
        outcomes.push({
          ...base(p),
          stageCorrect: { direction: gf.direction.answer === g.direction, level: gf.level.levelTicks === g.levelTicks, side: gf.side.answer === g.side },
          stageAnswers: { direction: gf.direction.answer, side: gf.side.answer },
          verdict: ch.report.answer, verdictCorrect: ch.report.answer === g.verdict,
          rationaleConsistent: rationaleConsistent(ch.report.reason, g, w.tick),
          errors, reportGoldCorrect: gf.report.answer === g.verdict,
          ...(repeats > 1 ? { repeatCorrect } : {}),
        });
      }
      bar.tick();
    }
  }
  bar.done();
  return { summary: summarise(outcomes, pipeline, aggregation, opts, cache, learned), outcomes };
}

function summarise(outcomes: readonly WindowOutcome[], pipeline: PipelineName, aggregation: Aggregation, opts: EvalOptions, cache: CompletionCache, learned: EvalSummary['learned']): EvalSummary {
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
  const per_kind: Record<string, { n: number; verdict_acc: number | null }> = {};
  for (const o of scored) {
    const e = (per_kind[o.kind] ??= { n: 0, verdict_acc: 0 });
    e.n++;
    e.verdict_acc = (e.verdict_acc ?? 0) + (o.verdictCorrect ? 1 : 0);
  }
  for (const e of Object.values(per_kind)) e.verdict_acc = e.n ? (e.verdict_acc ?? 0) / e.n : null;
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
  return {
    n, pipeline,
    stage_acc: { direction: stage('direction'), level: stage('level'), side: stage('side') },
    verdict_acc: pipeline === 'learned' ? (learned?.verdict_acc_mean ?? null) : n ? vk / n : null,
    rationale_consistency: frac(scored.map((o) => o.rationaleConsistent)),
    errors: outcomes.filter((o) => o.errors.length > 0).length,
    error_kinds,
    n_lines: outcomes.length,
    excluded: outcomes.filter((o) => o.excluded).length,
    verdict_ci95: n ? wilson(vk, n) : null,
    confusion, stage_confusion, per_kind,
    report_acc_gold_fed: rg.length ? rg.filter(Boolean).length / rg.length : null,
    model: opts.provider?.id() ?? null,
    rule_version: RULE_VERSION,
    aggregation,
    ...(learned ? { learned } : {}),
    ...(pipeline === 'multi' || pipeline === 'single' ? { cache: { hits: cache.hits, misses: cache.misses } } : {}),
    ...(repeats ? { repeats } : {}),
  };
}
