// Report sections and the quick (demo) setting of `cil atlas`: accuracy and trainable parameters per
// variant, paired differences to the scratch adapter, the stage-1 mixing weights against the
// upstream adapter each downstream task was built to be related to, and the orthogonality ablation.
import { formatNumber } from '../core/format.js';
import { SectionBuilder, barChart, type Section } from '../core/report.js';
import { mean, std } from '../core/stats.js';
import type { AtlasOptions, AtlasResult } from './atlas.js';

/** The demo / `--quick` setting: less upstream data, fewer downstream steps (seconds per seed). */
export const ATLAS_QUICK: Partial<AtlasOptions> = Object.freeze({ upstreamPerClass: 100, upstreamEpochs: 30, downstreamSteps: 40, testPerClass: 50 });

const f1 = (v: number): string => formatNumber(v, { digits: 1, scientific: false });
const pm = (m: number, s: number): string => `${f1(m)} +- ${f1(s)}`;

export function atlasSections(r: AtlasResult, title: string): Section[] {
  const b = new SectionBuilder(title).text(`Stand-in: ${r.stand_in}. Upstream accuracy (first order) before / after the downstream tasks: ${r.upstream_tasks.map((t, i) => `${t} ${f1(r.upstream_acc_before[i])} / ${f1(r.upstream_acc_after[i])}`).join(', ')} (logits bit-identical in every seed and order: ${r.upstream_identical}).`);
  b.table(['order', 'task', 'variant', 'acc (mean +- std)', 'seeds', 'trainable params'],
    r.summary.map((s) => [s.order, s.task, s.variant, pm(s.acc_mean, s.acc_std), s.n, s.trainable_params]), `Low-shot downstream test accuracy (%), ${r.options.shots} training rows per class.`);
  b.table(['order', 'task', 'variant', 'minus scratch (mean +- std)', 'wins'],
    r.paired_vs_scratch.map((p) => [p.order, p.task, p.variant, pm(p.diff_mean, p.diff_std), `${p.wins}/${p.n}`]), 'Paired over seeds (same data and upstream bank).');
  b.table(['order', 'task', 'variant', 'related adapter', 'mean weight per upstream adapter', 'related largest'],
    r.gate.map((g) => [g.order, g.task, g.variant, g.related ?? '-', Object.entries(g.weights).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '), `${g.related_largest}/${g.n}`]),
    'Stage-1 weights w_k = (cos(c_k, key_k) + 1) / 2, averaged over test rows, then seeds.');
  const abl = new Map<string, { o0: number[]; o1: number[]; d: number[] }>();
  for (const a of r.ortho_ablation) {
    if (a.ortho !== 0) continue;
    const other = r.ortho_ablation.find((x) => x.ortho !== 0 && x.seed === a.seed && x.order === a.order && x.task === a.task);
    if (!other) continue;
    const k = `${a.order} ${a.task}`;
    const e = abl.get(k) ?? { o0: [], o1: [], d: [] };
    e.o0.push(a.acc); e.o1.push(other.acc); e.d.push(other.acc - a.acc);
    abl.set(k, e);
  }
  const sd = (v: number[]): number => (v.length > 1 ? std(v) : 0);
  if (abl.size) {
    b.table(['order / task', 'ATLAS ortho 0', `ATLAS ortho ${r.options.orthoWeight}`, 'difference (paired)'],
      [...abl].map(([k, e]) => [k, pm(mean(e.o0), sd(e.o0)), pm(mean(e.o1), sd(e.o1)), pm(mean(e.d), sd(e.d))]));
  }
  b.plot(barChart(r.summary.filter((s) => s.order === r.orders[0]).map((s) => ({ task: s.task, variant: s.variant, acc: s.acc_mean })), { x: 'task', y: 'acc', series: 'variant', yTitle: 'downstream accuracy (%)' }));
  return [b.build()];
}
