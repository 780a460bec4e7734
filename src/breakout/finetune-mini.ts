// BreakGPT's question in miniature: does the multi-stage structure help a fine-tuned model? Per
// seed, the same small llama architecture is trained twice with the same token budget on the
// same training windows: once on the multi-stage data (the S1-S3 stage questions and the report,
// answered one by one: what `breakout export` writes as multi + report) and once on the
// single-stage data (one answer with its rationale). Both models are then run through the
// project's own multi and single pipelines on held-out windows of a different generator seed,
// with the rule labeller and the learned logistic baseline beside them. Reported: verdict
// accuracy (chained) with Wilson intervals per model, stage accuracy (gold-fed) of the multi
// model, accuracy per difficulty kind, and the paired difference multi - single, window by
// window over all seeds (bootstrap) and per seed (t interval over seeds).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { mean, meanInterval } from '../core/stats.js';
import { LlamaCppProvider, pairedDifference, train, wilson } from '../llm/index.js';
import type { ChatMessage } from '../llm/provider.js';
import { recordFromGenerated, type WindowItem } from './dataset.js';
import { evaluateWindows, type EvalSummary, type WindowOutcome } from './evaluate.js';
import { toChatExamples } from './finetune.js';
import { generateFootprintSet, type FootprintSpec } from './generate.js';

export interface StagedFinetuneOptions {
  readonly seeds: readonly number[];
  /** Where the trained GGUF files go. */
  readonly dir: string;
  /** Windows generated for training per seed (the train split of `breakout export` is used). */
  readonly trainWindows: number;
  /** Held-out windows (generator seed `evalSeed`, disjoint from every training seed). */
  readonly evalWindows: number;
  readonly evalSeed: number;
  /** Tokens each model is trained on (prompt and answer tokens of its batches, padding excluded). */
  readonly tokenBudget: number;
  /** The model shape and optimiser (steps are set from the budget). */
  readonly model: train.TrainConfigInput;
  readonly spec: Partial<FootprintSpec>;
  /** Pipeline settings for the evaluation. */
  readonly maxTokens: number;
  readonly reasonMaxLength: number;
  /** Training seeds of the learned logistic baseline (default 5). */
  readonly baselineSeeds?: number;
  readonly quiet?: boolean;
}

/** Training windows of seed s come from generator seed TRAIN_SEED0 + s; the evaluation seed must differ from all of them. */
export const TRAIN_SEED0 = 5000;

type Design = 'multi' | 'single';
const DESIGNS: readonly Design[] = ['multi', 'single'];

function summaryRow(s: EvalSummary): Record<string, unknown> {
  return {
    n: s.n, verdict_acc: s.verdict_acc, verdict_ci95: s.verdict_ci95, stage_acc: s.stage_acc, rationale_consistency: s.rationale_consistency,
    report_acc_gold_fed: s.report_acc_gold_fed, errors: s.errors, error_kinds: s.error_kinds, per_kind: s.per_kind, confusion: s.confusion,
  };
}

// A window whose answer errored (no JSON, schema broken) counts as wrong, as in eval's verdict_acc.
function verdictHits(outcomes: readonly WindowOutcome[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const o of outcomes) if (o.gold !== null) m[o.id] = o.verdictCorrect ? 1 : 0;
  return m;
}

export async function stagedFinetuneMini(o: StagedFinetuneOptions): Promise<Record<string, unknown>> {
  for (const s of o.seeds) if (TRAIN_SEED0 + s === o.evalSeed) throw new InputError(`evaluation seed ${o.evalSeed} is the training windows' generator seed of seed ${s}`);
  mkdirSync(o.dir, { recursive: true });
  const evalItems: WindowItem[] = generateFootprintSet(o.evalSeed, o.evalWindows, o.spec).map((g, i) => {
    const record = recordFromGenerated(g);
    return { line: i + 1, id: record.window.id ?? `w${i}`, record };
  });
  const say = (m: string): void => { if (!o.quiet) process.stderr.write(`breakout finetune: ${m}\n`); };
  const baselineSeeds = o.baselineSeeds ?? 5;
  const rules = (await evaluateWindows(evalItems, 'rules', { quiet: true })).summary;
  const learned = (await evaluateWindows(evalItems, 'learned', { quiet: true, seeds: baselineSeeds, trainN: o.trainWindows, trainSpec: o.spec })).summary;
  const perSeed: SeedRow[] = [];
  for (const seed of o.seeds) {
    const windows = generateFootprintSet(TRAIN_SEED0 + seed, o.trainWindows, o.spec).map((g) => recordFromGenerated(g));
    const { examples } = toChatExamples(windows);
    const trainSplit = examples.filter((e) => e.split === 'train');
    const conversations: Record<Design, ChatMessage[][]> = {
      multi: trainSplit.filter((e) => e.model === 'multi' || e.model === 'report').map((e) => [...e.messages]),
      single: trainSplit.filter((e) => e.model === 'single').map((e) => [...e.messages]),
    };
    const row: Record<string, unknown> = { seed, train_windows: new Set(trainSplit.map((e) => e.id.split('/')[0])).size };
    const hits: Record<string, Record<string, number>> = {};
    for (const design of DESIGNS) {
      const probe = train.resolveTrainConfig({ ...o.model, seed });
      const data = train.chatExamples(conversations[design], probe.contextLength);
      if (data.tooLong) throw new InputError(`${design}: ${data.tooLong} examples render longer than the context of ${probe.contextLength} tokens; raise contextLength`);
      const meanLen = mean(data.examples.map((e) => e.ids.length));
      const steps = Math.max(1, Math.round(o.tokenBudget / (probe.batchSize * meanLen)));
      const cfg = train.resolveTrainConfig({ ...o.model, seed, steps, warmupSteps: Math.ceil(steps / 10), checkpointEvery: 0 });
      const path = join(o.dir, `${design}-${seed}.gguf`);
      say(`seed ${seed}: training the ${design}-stage model (${data.examples.length} examples, mean ${meanLen.toFixed(0)} tokens, ${steps} steps)`);
      const run = await train.trainLlama({ config: cfg, data, dataId: `breakout-${design}-${seed}`, out: path, checkpoint: null, quiet: o.quiet });
      const provider = new LlamaCppProvider({ modelPath: path, threads: 1, contextSize: cfg.contextLength });
      try {
        say(`seed ${seed}: evaluating the ${design}-stage model through the ${design} pipeline on ${o.evalWindows} held-out windows`);
        const ev = await evaluateWindows(evalItems, design, { provider, cache: null, quiet: true, maxTokens: o.maxTokens, reasonMaxLength: o.reasonMaxLength });
        hits[design] = verdictHits(ev.outcomes);
        row[design] = {
          train: { examples: run.examples, steps: run.steps, tokens: run.tokens, target_tokens: run.target_tokens, trained_target_tokens: run.trained_target_tokens, final_loss: run.final_loss, tokens_per_s: run.tokens_per_s, train_seconds: run.train_seconds, gguf_sha256: run.gguf?.sha256 ?? null },
          eval: summaryRow(ev.summary),
        };
      } finally {
        await provider.close();
      }
    }
    perSeed.push({ ...row, verdict_hits: hits } as SeedRow);
  }
  const config = { trainWindows: o.trainWindows, evalWindows: o.evalWindows, evalSeed: o.evalSeed, trainSeed0: TRAIN_SEED0, tokenBudget: o.tokenBudget, model: o.model, spec: o.spec, maxTokens: o.maxTokens, reasonMaxLength: o.reasonMaxLength, baselineSeeds };
  return combineStaged([{ config, baselines: { rules: summaryRow(rules), learned: { ...summaryRow(learned), per_seed: learned.learned?.verdict_acc_per_seed ?? null, mean: learned.learned?.verdict_acc_mean ?? null, std: learned.learned?.verdict_acc_std ?? null } }, per_seed: perSeed }]);
}

export interface SeedRow {
  readonly seed: number;
  /** Per design, window id -> 1 (verdict right) or 0 (wrong or no answer). */
  readonly verdict_hits: Record<string, Record<string, number>>;
  readonly [k: string]: unknown;
}

export interface StagedPart {
  readonly config: Record<string, unknown>;
  readonly baselines: Record<string, unknown>;
  readonly per_seed: readonly SeedRow[];
}

/**
 * One result from runs over disjoint seeds with the same settings (so seeds can run in separate
 * processes): the per-seed rows side by side, verdict accuracy pooled over every (seed, window)
 * with a Wilson interval, and the paired difference multi - single window by window (bootstrap)
 * and seed by seed (t interval).
 */
export function combineStaged(parts: readonly StagedPart[]): Record<string, unknown> & StagedPart {
  if (parts.length === 0) throw new InputError('combine: no runs');
  const settings = (c: Record<string, unknown>): string => JSON.stringify({ ...c, seeds: undefined });
  const key = settings(parts[0].config);
  for (const p of parts) if (settings(p.config) !== key) throw new InputError('combine: the runs differ in their settings (only the seeds may differ)');
  const perSeed = parts.flatMap((p) => p.per_seed).sort((a, b) => a.seed - b.seed);
  const seeds = perSeed.map((r) => r.seed);
  if (new Set(seeds).size !== seeds.length) throw new InputError(`combine: seed ${seeds.find((s, i) => seeds.indexOf(s) !== i)} appears in more than one run`);
  const pooledHits = (d: Design): Map<string, number> => new Map(perSeed.flatMap((r) => Object.entries(r.verdict_hits[d] ?? {}).map(([id, v]) => [`${r.seed}/${id}`, v] as [string, number])));
  const acc = (h: Record<string, number> | undefined): number => { const v = Object.values(h ?? {}); return v.length ? v.reduce((a, x) => a + x, 0) / v.length : Number.NaN; };
  const pooled = (d: Design): Record<string, unknown> => {
    const v = [...pooledHits(d).values()], k = v.reduce((a, x) => a + x, 0);
    return { windows: v.length, verdict_acc: v.length ? k / v.length : null, ci95: v.length ? wilson(k, v.length) : null, per_seed: perSeed.map((r) => acc(r.verdict_hits[d])) };
  };
  const deltas = perSeed.map((r) => acc(r.verdict_hits.multi) - acc(r.verdict_hits.single)).filter((x) => Number.isFinite(x));
  return {
    config: { ...parts[0].config, seeds },
    baselines: parts[0].baselines,
    per_seed: perSeed,
    pooled: { multi: pooled('multi'), single: pooled('single') },
    multi_minus_single: { windows: pairedDifference(pooledHits('single'), pooledHits('multi'), 0), seeds: meanInterval(deltas) },
  };
}
