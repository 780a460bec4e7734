// The breakout area's demo miniature (`perennial demo`).
import { join } from 'node:path';
import type { Section } from '../core/report.js';
import { parseModelSpec, ResponseCache, writeTinyGguf } from '../llm/index.js';
import { generateFootprintSet } from './generate.js';
import { parseWindowsJsonl, recordFromGenerated, recordToJson } from './dataset.js';
import { evaluateWindows, type EvalSummary } from './evaluate.js';
import { detectRanges, generateOhlcv, ohlcvBaselines } from './ohlcv.js';
import { evalSection, rangesSection } from './sections.js';

/**
 * The breakout miniature of `perennial demo`: generated footprint windows through the rule, learned
 * and (tiny-model) LLM pipelines, and trading ranges in synthetic candles.
 */
export async function breakoutDemo(ctx: { outDir: string; seed: number; quick: boolean }): Promise<{ sections: Section[]; metrics: Record<string, unknown> }> {
  const nWin = ctx.quick ? 200 : 1000;
  const nLlm = ctx.quick ? 6 : 40;
  const dataSeed = 900 + ctx.seed;
  const recs = generateFootprintSet(dataSeed, nWin).map((g) => recordFromGenerated(g));
  const items = parseWindowsJsonl(recs.map((r) => JSON.stringify(recordToJson(r))).join('\n'), 'demo.jsonl');
  const summaries: EvalSummary[] = [];
  summaries.push((await evaluateWindows(items, 'rules', { quiet: true })).summary);
  summaries.push((await evaluateWindows(items, 'learned', { quiet: true, seeds: ctx.quick ? 3 : 5, trainN: ctx.quick ? 800 : 2000, trainSeed: 1_000_000 + ctx.seed * 100 })).summary);
  // LLM pipelines: the project's tiny bigram GGUF (no download) on the first windows. It is a
  // plumbing check (schema-constrained decoding, parsing, error counting), not a capable model.
  const gguf = join(ctx.outDir, 'tiny-bigram.gguf');
  writeTinyGguf(gguf, { contextLength: 8192 });
  const provider = parseModelSpec(`gguf:${gguf}`, { gguf: { threads: 1, contextSize: 8192 } });
  const llmItems = items.slice(0, nLlm);
  const cache = new ResponseCache(join(ctx.outDir, 'llm-cache.jsonl'));
  try {
    summaries.push((await evaluateWindows(llmItems, 'single', { provider, cache, quiet: true, maxTokens: 120, reasonMaxLength: 60 })).summary);
    summaries.push((await evaluateWindows(llmItems, 'multi', { provider, cache, quiet: true, maxTokens: 120, reasonMaxLength: 60 })).summary);
  } finally {
    cache.close();
    await provider.close?.();
  }
  const learned = summaries[1].learned!;
  const sections: Section[] = [evalSection('breakout: footprint windows through every pipeline', summaries,
    `${nWin} generated windows (seed ${dataSeed}, balanced up/down x true/false, with near-threshold, volume/count-disagreement, tie and no-direction cases; ties and no-direction windows are excluded from accuracies). `
    + `The rule labeller is exact by construction. The learned baseline is logistic regression on engineered footprint features trained on disjoint generator seeds (${learned.seeds.join(', ')}), ${learned.train_n} windows each: verdict accuracy ${learned.verdict_acc_mean.toFixed(3)} ± ${learned.verdict_acc_std.toFixed(3)}. `
    + `The single- and multi-stage LLM pipelines ran on the first ${nLlm} windows with the project's tiny character-bigram GGUF (in-process llama.cpp, JSON-schema-constrained decoding); that model cannot read tables, so its accuracies show the plumbing, not the paper's question — use --model openai:URL#MODEL with a capable model for that.`)];
  const { candles } = generateOhlcv(ctx.seed, { n: ctx.quick ? 3000 : 20000 });
  const r = detectRanges(candles);
  const base = ohlcvBaselines(candles, r);
  sections.push(rangesSection('breakout: trading ranges in synthetic OHLCV candles', candles, r, base, 'Seeded regime-switching candles (trend, range, breakout, then follow-through or failure); ranges by span <= 3 ATR over 20 bars with two touches per boundary.'));
  const s = (name: string): EvalSummary => summaries.find((x) => x.pipeline === name)!;
  return {
    sections,
    metrics: {
      n_windows: nWin, rules_verdict_acc: s('rules').verdict_acc, learned_verdict_acc_mean: learned.verdict_acc_mean, learned_verdict_acc_std: learned.verdict_acc_std,
      llm_model: 'tiny bigram gguf', llm_windows: nLlm, single_verdict_acc: s('single').verdict_acc, single_errors: s('single').errors,
      multi_verdict_acc: s('multi').verdict_acc, multi_stage_acc: s('multi').stage_acc, multi_errors: s('multi').errors,
      ohlcv_candles: candles.n, ohlcv_breakouts: r.events.length, ohlcv_volume_rule_acc: base.volume_rule_acc, ohlcv_always_true_acc: base.always_true_acc,
    },
  };
}

