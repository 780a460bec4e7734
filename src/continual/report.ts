// Report sections for a CIL run: summary with spread, paired win counts, per-group accuracy, SAFE's
// mean fast-branch weight per group, and accuracy over sessions.
import { formatNumber } from '../core/format.js';
import { barChart, lineChart, SectionBuilder, type Section } from '../core/report.js';
import { mean, std } from '../core/stats.js';
import type { CilRunResult } from './trainer.js';

const f1 = (v: number): string => formatNumber(v, { digits: 1, trim: true, scientific: false });

export interface PairedComparison {
  readonly a: string;
  readonly b: string;
  readonly wins: number;
  readonly n: number;
  readonly meanDiff: number;
  readonly stdDiff: number;
}

/** Paired last-accuracy comparison a vs b over the seeds both have. */
export function paired(result: CilRunResult, a: string, b: string): PairedComparison | null {
  const byA = new Map(result.runs.filter((r) => r.method === a).map((r) => [r.seed, r.last_acc]));
  const diffs: number[] = [];
  for (const r of result.runs) if (r.method === b && byA.has(r.seed)) diffs.push(byA.get(r.seed)! - r.last_acc);
  if (!diffs.length) return null;
  return { a, b, wins: diffs.filter((d) => d > 0).length, n: diffs.length, meanDiff: mean(diffs), stdDiff: std(diffs) };
}

export const STANDARD_PAIRS: readonly [string, string][] = [
  ['ranpac', 'simplecil'], ['ranpac', 'ranpac-m0'], ['safe', 'safe-fast'], ['safe', 'safe-slow'], ['safe-slow', 'safe-fast'],
  ['safe-valsel', 'safe-slow'], ['safe-oracle', 'safe-slow'], ['safe-fast-oracle', 'safe-fast'],
  ['safe-dc', 'safe-slow'], ['safe-dc', 'safe'], ['safe-fast-dc', 'safe-fast'], ['safe-fast-dc', 'safe-fast-gauss'],
];

/** Mean over seeds of each method's last-session group accuracies. */
export function meanGroupAcc(result: CilRunResult, method: string): number[] | null {
  const rs = result.runs.filter((r) => r.method === method);
  if (!rs.length) return null;
  return rs[0].group_acc.map((_, j) => mean(rs.map((r) => r.group_acc[j])));
}

export function cilSections(result: CilRunResult, title: string, note = ''): Section[] {
  const methods = Object.keys(result.summary);
  const s = new SectionBuilder(title);
  s.text(`${result.dataset}, ${result.split}, ${result.seeds.length} seed(s) [${result.seeds.join(', ')}]. last_acc = ${result.definitions.last_acc}. ${note}`);
  s.table(['method', 'last acc (mean)', 'std', 'avg incremental acc', 'std', 'seeds', 'time per seed (s)'],
    methods.map((m) => { const v = result.summary[m]; return [m, f1(v.last_acc_mean), f1(v.last_acc_std), f1(v.avg_inc_acc_mean), f1(v.avg_inc_acc_std), v.n, f1(v.time_per_seed_s)]; }),
    'Last and average incremental accuracy (top-1 over all test samples of seen classes), mean and sample std over seeds');
  const pairs = STANDARD_PAIRS.map(([a, b]) => paired(result, a, b)).filter((p): p is PairedComparison => p !== null);
  if (pairs.length) {
    s.table(['comparison', 'wins', 'seeds', 'mean paired difference', 'std of difference'],
      pairs.map((p) => [`${p.a} > ${p.b}`, p.wins, p.n, f1(p.meanDiff), f1(p.stdDiff)]), 'Paired by seed (same class order, split, projection)');
  }
  const groups = methods.map((m) => [m, meanGroupAcc(result, m)] as const).filter((g) => g[1]);
  if (groups.length) {
    const G = groups[0]![1]!.length;
    s.table(['method', ...Array.from({ length: G }, (_, j) => `group ${j + 1}`)], groups.map(([m, g]) => [m, ...g!.map(f1)]), 'Accuracy per task group after the last session (mean over seeds)');
  }
  const w = result.runs.filter((r) => r.w_fast_group);
  if (w.length) {
    const G = w[0].w_fast_group!.length;
    s.table(['', ...Array.from({ length: G }, (_, j) => `group ${j + 1}`)], [['mean fast weight w_f', ...Array.from({ length: G }, (_, j) => Math.round(1000 * mean(w.map((r) => r.w_fast_group![j]))) / 1000)]], 'SAFE aggregation: mean fast-branch weight per task group, last session');
  }
  const rows: Record<string, unknown>[] = [];
  for (const m of methods) {
    const rs = result.runs.filter((r) => r.method === m);
    const T = rs[0].acc_matrix.length;
    for (let t = 0; t < T; t++) {
      const accs = rs.map((r) => { const row = r.acc_matrix[t]; return row.reduce((a, b) => a + b, 0) / row.length; });
      rows.push({ session: t + 1, accuracy: mean(accs), method: m });
    }
  }
  s.plot(lineChart(rows, { x: 'session', y: 'accuracy', series: 'method', title: 'Accuracy over sessions (mean of groups, mean over seeds)' }));
  s.plot(barChart(methods.map((m) => ({ method: m, last: result.summary[m].last_acc_mean })), { x: 'method', y: 'last', title: 'Last accuracy (mean over seeds)' }));
  return [s.build()];
}
