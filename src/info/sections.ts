// Report sections for the info experiments (used by the CLI commands and by `perennial demo`).
import { lineChart, barChart, SectionBuilder, type Section } from '../core/report.js';
import type { CollapseSweepResult } from './collapse.js';
import type { GrokkingResult } from './grokking.js';
import type { DynamicsResult, LabelSmoothingResult, PruningResult, Paired } from './experiments.js';
import type { AlignResult } from './align.js';
import type { SemisupResult } from './semisup.js';
import type { LmcResult } from './lmc.js';

const pm = (m: number, s: number, digits = 3): string => `${m.toFixed(digits)} ± ${s.toFixed(digits)}`;
const fmtPaired = (p: Paired, digits = 4): string => `${p.mean >= 0 ? '+' : ''}${p.mean.toFixed(digits)} (95% CI ${p.ci95[0].toFixed(digits)} .. ${p.ci95[1].toFixed(digits)}, n=${p.n})`;

export function collapseSection(r: CollapseSweepResult): Section {
  const rows = r.noise.flatMap((s, i) => [
    { noise: s, value: r.mir[i], series: 'MIR balanced' },
    { noise: s, value: r.hdr[i], series: 'HDR balanced' },
    { noise: s, value: r.mir_unbalanced[i], series: 'MIR unbalanced' },
    { noise: s, value: r.mir_small_batch[i], series: 'MIR batch < C' },
    { noise: s, value: r.mir_collapse, series: 'MIR at collapse (theory)' },
  ]);
  return new SectionBuilder(`info nc: synthetic Neural Collapse sweep (C=${r.classes})`)
    .text(`Features are ETF head rows plus Gaussian noise of scale σ, in a class-balanced batch; medians over ${r.seeds} seeds. At σ = 0 MIR = ${r.mir.at(-1)!.toFixed(6)} (theory ${r.mir_collapse.toFixed(6)}) and HDR = ${r.hdr.at(-1)!.toExponential(2)}. MIR monotone in σ: ${r.monotone.mir_rises}; HDR monotone: ${r.monotone.hdr_falls}. The unbalanced batch ends at ${r.mir_unbalanced.at(-1)!.toFixed(4)} and a batch smaller than C at ${r.mir_small_batch.at(-1)!.toFixed(4)}: neither reaches the collapse value.`)
    .plot(lineChart(rows, { x: 'noise', y: 'value', series: 'series', xTitle: 'noise σ', yTitle: 'MIR / HDR' }))
    .table(['σ', 'MIR median', 'MIR q25..q75', 'HDR median', 'MIR unbalanced', 'MIR B<C'], r.noise.map((s, i) => [s, r.mir[i], `${r.mir_q25[i].toFixed(4)}..${r.mir_q75[i].toFixed(4)}`, r.hdr[i], r.mir_unbalanced[i], r.mir_small_batch[i]]))
    .build();
}

export function grokkingSection(runs: readonly GrokkingResult[], settings: string): Section {
  const rows = runs.flatMap((r, s) => r.epochs.flatMap((e, i) => [
    { epoch: e, value: r.train_acc[i], series: `train acc (seed ${s})` },
    { epoch: e, value: r.test_acc[i], series: `test acc (seed ${s})` },
  ]));
  const info = runs.flatMap((r, s) => r.epochs.flatMap((e, i) => [
    { epoch: e, value: r.mir[i], series: `MIR (seed ${s})` },
    { epoch: e, value: r.hdr[i], series: `HDR (seed ${s})` },
  ]));
  return new SectionBuilder(`info grokking: a + b mod ${runs[0]?.p}`)
    .text(`${settings}. Per seed: train accuracy 100% at epoch ${runs.map((r) => r.epoch_train_100 ?? 'never').join(', ')}; test accuracy ≥ 90% at epoch ${runs.map((r) => r.epoch_test_90 ?? 'never').join(', ')}; grokked (test jump at least twice as late as train 100%): ${runs.map((r) => r.grokked).join(', ')}. Steepest test-accuracy rise starts at epoch ${runs.map((r) => r.transition.test_rise).join(', ')}; steepest MIR drop at ${runs.map((r) => r.transition.mir_drop).join(', ')}; largest HDR change at ${runs.map((r) => r.transition.hdr_change).join(', ')}. MIR/HDR are between answer features and unembedding rows on a fixed class-balanced held-out batch.`)
    .plot(lineChart(rows, { x: 'epoch', y: 'value', series: 'series', yTitle: 'accuracy', points: false }))
    .plot(lineChart(info, { x: 'epoch', y: 'value', series: 'series', yTitle: 'MIR / HDR', points: false }))
    .build();
}

export function dynamicsSection(r: DynamicsResult): Section {
  const rows = r.variants.flatMap((v) => r.epochs.flatMap((e, i) => [
    { epoch: e, value: v.test_acc.mean[i], series: `${v.name} acc` },
    { epoch: e, value: v.mir.mean[i], series: `${v.name} MIR` },
    { epoch: e, value: v.hdr.mean[i], series: `${v.name} HDR` },
  ]));
  return new SectionBuilder('info dynamics: accuracy, MIR and HDR per epoch')
    .text(`Data: ${r.data}. Means over ${r.seeds} seeds on a fixed class-balanced held-out batch. The +info variant adds −${r.lambda_mi}·MI₂ + ${r.lambda_hd}·|H₂(f) − H₂(W_y)| (weights fixed in advance, not tuned). Final test accuracy difference (+info − CE): ${fmtPaired(r.acc_diff)}.`)
    .plot(lineChart(rows, { x: 'epoch', y: 'value', series: 'series', yTitle: 'mean over seeds' }))
    .table(['variant', 'final test acc', 'final MIR', 'final HDR'], r.variants.map((v) => [v.name, pm(v.test_acc.mean.at(-1)!, v.test_acc.std.at(-1)!), pm(v.mir.mean.at(-1)!, v.mir.std.at(-1)!), pm(v.hdr.mean.at(-1)!, v.hdr.std.at(-1)!)]))
    .build();
}

export function labelSmoothingSection(r: LabelSmoothingResult): Section {
  return new SectionBuilder('info label-smoothing: ε ∈ {0, 0.1, 0.2}')
    .text(`Data: ${r.data}; ${r.seeds} seeds. Paired differences to ε = 0 (same seed, same init and data order).`)
    .table(['ε', 'test acc', 'MIR', 'HDR'], r.variants.map((v) => [v.name, pm(v.test_acc.mean.at(-1)!, v.test_acc.std.at(-1)!), pm(v.mir.mean.at(-1)!, v.mir.std.at(-1)!), pm(v.hdr.mean.at(-1)!, v.hdr.std.at(-1)!)]))
    .table(['ε', 'Δ acc', 'Δ MIR', 'Δ HDR'], r.diffs.map((d) => [d.eps, fmtPaired(d.acc), fmtPaired(d.mir), fmtPaired(d.hdr)]))
    .plot(barChart(r.variants.flatMap((v) => [
      { eps: v.name, metric: 'test acc', value: v.test_acc.mean.at(-1) },
      { eps: v.name, metric: 'MIR', value: v.mir.mean.at(-1) },
      { eps: v.name, metric: 'HDR', value: v.hdr.mean.at(-1) },
    ]), { x: 'metric', y: 'value', series: 'eps', yTitle: 'mean over seeds' }))
    .build();
}

export function pruningSection(r: PruningResult): Section {
  return new SectionBuilder('info pruning: magnitude pruning + fine-tuning')
    .text(`Data: ${r.data}; ${r.seeds} seeds; dense accuracy ${pm(mean(r.dense_acc), sd(r.dense_acc))}; ${r.finetune_epochs} fine-tuning epochs. MIR is between the features of the same held-out batch before and after pruning.`)
    .table(['sparsity', 'acc (no fine-tune)', 'acc (fine-tuned)', 'MIR before/after', 'HDR before/after'], r.sparsity.map((s, i) => [s, pm(r.acc_no_finetune[i].mean, r.acc_no_finetune[i].std), pm(r.acc[i].mean, r.acc[i].std), pm(r.mir_before_after[i].mean, r.mir_before_after[i].std), pm(r.hdr_before_after[i].mean, r.hdr_before_after[i].std)]))
    .plot(barChart(r.sparsity.map((s, i) => ({ sparsity: String(s), value: r.mir_before_after[i].mean })), { x: 'sparsity', y: 'value', yTitle: 'MIR(before, after)' }))
    .build();
}

export function alignSection(r: AlignResult): Section {
  const text = r.text === 'use';
  const b = new SectionBuilder(`info align: cross-modal alignment loss (${text ? 'images and USE-embedded captions' : 'stand-in modalities'})`)
    .text(`${r.stand_in}. ${r.seeds} seeds; λ_align = ${r.lambda_align}. Retrieval: for each held-out image, the nearest ${text ? 'caption of the pool' : 'attribute vector'} (cosine) must have the same class.${text ? ' Text classification: each held-out image gets the class of the nearest class description.' : ''} MI is between the cosine Grams of the two modalities' features on paired held-out rows. Differences are (+align − baseline), paired by seed.`);
  if (text) {
    b.table(['variant', 'image classification acc', 'caption retrieval acc', 'text classification acc', 'MI(modalities)'], r.variants.map((v) => [v.name, pm(v.acc.mean, v.acc.std), pm(v.retrieval.mean, v.retrieval.std), pm(v.text_classification!.mean, v.text_classification!.std), pm(v.mi.mean, v.mi.std)]))
      .table(['Δ acc', 'Δ retrieval', 'Δ text classification', 'Δ MI'], [[fmtPaired(r.diff.acc), fmtPaired(r.diff.retrieval), fmtPaired(r.diff.text_classification!), fmtPaired(r.diff.mi)]]);
    if (r.texts) b.text(`Class descriptions: ${r.texts.descriptions.map((d) => `“${d}”`).join('; ')}. ${r.texts.distinct_captions} distinct captions, e.g. ${r.texts.caption_examples.map((d) => `“${d}”`).join('; ')}.`);
  } else {
    b.table(['variant', 'image classification acc', 'cross-modal retrieval acc', 'MI(modalities)'], r.variants.map((v) => [v.name, pm(v.acc.mean, v.acc.std), pm(v.retrieval.mean, v.retrieval.std), pm(v.mi.mean, v.mi.std)]))
      .table(['Δ acc', 'Δ retrieval', 'Δ MI'], [[fmtPaired(r.diff.acc), fmtPaired(r.diff.retrieval), fmtPaired(r.diff.mi)]]);
  }
  return b
    .plot(barChart(r.variants.flatMap((v) => [
      { variant: v.name, metric: 'classification acc', value: v.acc.mean },
      { variant: v.name, metric: 'retrieval acc', value: v.retrieval.mean },
      { variant: v.name, metric: 'MI(modalities)', value: v.mi.mean },
    ]), { x: 'metric', y: 'value', series: 'variant', yTitle: 'mean over seeds' }))
    .build();
}

export function semisupSection(r: SemisupResult): Section {
  return new SectionBuilder('info semisup: FreeMatch with and without the information terms')
    .text(`Data: ${r.data}; ${r.labels_per_class} labels per class, ${r.unlabeled} unlabeled; ${r.seeds} seeds; ${r.steps} steps. FreeMatch: self-adaptive global threshold (EMA of the mean confidence), local thresholds (scaled by the EMA class probability), self-adaptive fairness loss with weight ${r.lambda_fair}; +info adds −${r.lambda_mi}·MI₂ + ${r.lambda_hd}·|ΔH₂| (weights fixed in advance). Error rates (1 − test accuracy); Δ = (+info − baseline), paired by seed.`)
    .table(['variant', 'error rate', 'mask rate (last epoch)'], r.variants.map((v) => [v.name, pm(v.error.mean, v.error.std), pm(v.mask_rate.mean, v.mask_rate.std)]))
    .table(['Δ error (+info − base)'], [[fmtPaired(r.diff_error)]])
    .plot(barChart(r.variants.map((v) => ({ variant: v.name, value: v.error.mean })), { x: 'variant', y: 'value', yTitle: 'test error (mean over seeds)' }))
    .build();
}

export function lmcSection(r: LmcResult): Section {
  const rows = r.by_kind.flatMap((k) => {
    const ps = r.pairs.filter((p) => p.kind === k.kind);
    return r.alphas.flatMap((a, i) => [
      { alpha: a, value: mean(ps.map((p) => p.path[i].test_error)), series: `${k.kind} test error` },
      { alpha: a, value: mean(ps.map((p) => p.path[i].mir)), series: `${k.kind} MIR` },
      { alpha: a, value: mean(ps.map((p) => p.path[i].hdr)), series: `${k.kind} HDR` },
    ]);
  });
  const a = r.answer;
  const f = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : 'undefined');
  return new SectionBuilder('info lmc: linear mode connectivity with MIR and HDR along the path')
    .text(`Data: ${r.data}; ${r.seeds} seeds; ${r.epochs} epochs per network (warm-up pair: ${r.warmup_epochs} shared epochs, then different data orders); ${r.alphas.length} points on each path; no batch norm in the MLP (nothing to recompute). Barrier = max over α of the value minus the chord between the endpoints; a pair is connected when its test-error barrier is below ${r.connected_below}. Across ${a.pairs} pairs (${a.connected} connected): Spearman(train-loss barrier, MIR dip) = ${f(a.spearman_barrier_mir_dip)}, Spearman(barrier, |HDR excursion|) = ${f(a.spearman_barrier_hdr_excursion)}; along the path, corr(loss excess, MIR deficit) averages ${f(a.mean_path_corr_loss_mir)} and corr(loss excess, HDR excess) ${f(a.mean_path_corr_loss_hdr)}; AUC for "not connected": MIR dip ${f(a.auc_mir_dip_not_connected)}, |HDR excursion| ${f(a.auc_hdr_excursion_not_connected)}. Δ (different-init − warm-up), paired by seed: error barrier ${fmtPaired(r.diff_different_vs_warmup.test_error_barrier)}, MIR dip ${fmtPaired(r.diff_different_vs_warmup.mir_dip)}.`)
    .plot(lineChart(rows, { x: 'alpha', y: 'value', series: 'series', xTitle: 'α (0 = network A, 1 = network B)', yTitle: 'mean over seeds' }))
    .table(['pair', 'train-loss barrier', 'test-error barrier', 'MIR dip', 'HDR excursion', 'ΔMIR at α=0.5', 'ΔHDR at α=0.5', 'corr(loss, MIR deficit)', 'connected'],
      r.by_kind.map((k) => [k.kind, pm(k.train_loss_barrier.mean, k.train_loss_barrier.std), pm(k.test_error_barrier.mean, k.test_error_barrier.std), pm(k.mir_dip.mean, k.mir_dip.std, 4), pm(k.hdr_excursion.mean, k.hdr_excursion.std, 4), pm(k.mir_mid_change.mean, k.mir_mid_change.std, 4), pm(k.hdr_mid_change.mean, k.hdr_mid_change.std, 4), pm(k.corr_loss_mir_deficit.mean, k.corr_loss_mir_deficit.std, 2), `${k.connected}/${r.seeds}`]))
    .build();
}

function mean(xs: readonly number[]): number { return xs.reduce((a, b) => a + b, 0) / xs.length; }
function sd(xs: readonly number[]): number { const m = mean(xs); return xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0; }
