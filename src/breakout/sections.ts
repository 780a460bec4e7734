// Report sections for the breakout area: pipelines side by side, and OHLCV ranges with a
// candlestick chart.
import { SectionBuilder, barChart, type Section } from '../core/report.js';
import type { EvalSummary } from './evaluate.js';
import { candlestickChart, type Candles, type OhlcvBaselines, type RangeResult } from './ohlcv.js';

const f = (x: number | null | undefined): number | null => (x === null || x === undefined || Number.isNaN(x) ? null : x);

/** One row per pipeline: n, stage accuracies (gold-fed), verdict accuracy (chained) with its 95 % interval, rationale consistency, errors. */
export function evalSection(title: string, summaries: readonly EvalSummary[], note?: string): Section {
  const b = new SectionBuilder(title);
  if (note) b.text(note);
  b.table(
    ['pipeline', 'model', 'n', 'S1 direction', 'S2 level', 'S3 side', 'verdict acc', 'verdict ± std (seeds)', '95% CI', 'rationale consistency', 'pass^k / pass@k', 'windows with errors', 'excluded'],
    summaries.map((s) => [
      s.pipeline, s.model ?? '—', s.n, f(s.stage_acc.direction), f(s.stage_acc.level), f(s.stage_acc.side), f(s.verdict_acc),
      s.learned ? `${s.learned.verdict_acc_mean.toFixed(3)} ± ${s.learned.verdict_acc_std.toFixed(3)} (${s.learned.seeds.length})` : '—',
      s.verdict_ci95 ? `${s.verdict_ci95[0].toFixed(2)}–${s.verdict_ci95[1].toFixed(2)}` : '—',
      f(s.rationale_consistency), s.repeats ? `${s.repeats.pass_hat_k.toFixed(3)} / ${s.repeats.pass_at_k.toFixed(3)} (k=${s.repeats.k})` : '—', s.errors, s.excluded,
    ]),
    'Stage accuracies are gold-fed (each stage given the gold facts); verdict accuracy is chained (each stage given the model\'s own answers). Errors count as wrong answers.',
  );
  const kinds = [...new Set(summaries.flatMap((s) => Object.keys(s.per_kind)))].sort();
  if (kinds.length) {
    b.table(['pipeline', ...kinds.map((k) => `${k} (n)`)], summaries.map((s) => [s.pipeline, ...kinds.map((k) => {
      const e = s.per_kind[k];
      return e ? `${e.verdict_acc === null ? '—' : e.verdict_acc.toFixed(3)} (${e.n})` : '—';
    })]), 'Verdict accuracy by difficulty kind');
    b.table(['pipeline', 'true→true', 'false→true', 'false→false', 'true→false'], summaries.map((s) => [s.pipeline, s.confusion.tp, s.confusion.fp, s.confusion.tn, s.confusion.fn]), 'Verdict confusion (gold→predicted; no answer counts as the wrong class)');
    for (const s of summaries.filter((x) => x.pipeline === 'multi' && x.stage_confusion)) {
      const rows = (['direction', 'side'] as const).flatMap((st) => Object.entries(s.stage_confusion![st]).sort().map(([k, v]) => [st, k.replace('->', ' → '), v] as (string | number)[]));
      b.table(['stage', 'gold → answer (gold-fed)', 'windows'], rows, `Stage confusion, multi-stage (${s.model ?? ''})`);
    }
    b.plot(barChart(summaries.map((s) => ({ pipeline: s.pipeline, verdict_acc: s.verdict_acc ?? 0 })), { x: 'pipeline', y: 'verdict_acc', title: 'verdict accuracy by pipeline', height: 200, width: 360 }));
  }
  return b.build();
}

/** Summary of detected ranges and breakouts, the baselines, and a candlestick chart around the first labelled events. */
export function rangesSection(title: string, c: Candles, r: RangeResult, base: OhlcvBaselines, note?: string): Section {
  const b = new SectionBuilder(title);
  if (note) b.text(note);
  const count = (l: string): number => r.events.filter((e) => e.label === l).length;
  b.table(['candles', 'ranges', 'breakouts', 'true', 'false', 'undetermined', 'volume-confirmed'], [[c.n, r.ranges.length, r.events.length, count('true'), count('false'), count('undetermined'), c.hasVolume ? r.events.filter((e) => e.volumeConfirmed).length : null]]);
  b.table(['baseline', 'accuracy (all determined)', 'accuracy (time-split test)'], [
    ['always true', f(base.always_true_acc), f(base.always_true_test_acc)],
    ['volume confirmation', f(base.volume_rule_acc), f(base.volume_rule_test_acc)],
    [`majority of train (${base.majority_train_class ?? '—'})`, null, f(base.majority_test_acc)],
  ], `Baselines on ${base.determined} determined breakouts; time split ${base.n_train} train / ${base.n_test} test with an embargo of ${r.options.horizon} bars`);
  const p = r.options;
  b.text(`Parameters: ATR(${p.atrPeriod}, ${p.atrMethod}), lookback ${p.lookback}, span <= ${p.kappa} ATR, ${p.touches} touches within ${p.epsilon} ATR, breakout close beyond the level by ${p.delta} ATR, label ${p.labelMode === 'target' ? `target ${p.targetAtr} ATR within ${p.horizon} bars before a close back inside` : `close beyond the level for ${p.holdBars} bars`}.`);
  if (c.n > 0) {
    const first = r.events.find((e) => e.label !== 'undetermined') ?? r.events[0];
    const centre = first ? first.index : Math.floor(c.n / 2);
    const from = Math.max(0, centre - 120), to = Math.min(c.n, from + 180);
    b.plot(candlestickChart(c, r, { from, to }), 'Shaded: detected ranges. Triangles: breakout bars, coloured by direction and follow-through label.');
  }
  return b.build();
}
