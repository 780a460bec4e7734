// Comparing runs: metrics side by side, and for runs that share seeds, paired differences.
// Runs are grouped into variants (same command and configuration apart from seed and output
// paths); each variant is compared with the first one seed by seed, which removes the
// seed-to-seed spread that two unpaired means would carry.
import { InputError } from '../errors.js';
import { t975 } from '../stats.js';
import type { RunDetail } from './runs.js';
import { variantOf } from './extract.js';

export const MAX_COMPARE = 200;

export interface Paired {
  readonly metric: string;
  readonly baseline: string;
  readonly variant: string;
  readonly seeds: readonly number[];
  readonly n: number;
  /** Mean of variant - baseline over the shared seeds. */
  readonly mean: number;
  readonly sd: number | null;
  /** 95% t interval of the mean difference; null with fewer than 2 shared seeds. */
  readonly lo: number | null;
  readonly hi: number | null;
}

export interface Comparison {
  readonly runs: readonly { id: string; command: string; job: string | null; created: string; seed: unknown; variant: string }[];
  readonly variants: readonly { label: string; runs: readonly string[] }[];
  readonly metrics: readonly { metric: string; values: readonly (number | null)[] }[];
  readonly paired: readonly Paired[];
}

/** Label of each variant: the config fields where it differs from the others (or its command). */
function labels(configs: readonly unknown[], commands: readonly string[]): string[] {
  const flat = configs.map((c) => {
    const out: Record<string, string> = {};
    if (typeof c === 'object' && c !== null) for (const [k, v] of Object.entries(c)) if (k !== 'seed' && k !== 'seeds' && !['json', 'html', 'out'].includes(k)) out[k] = JSON.stringify(v);
    return out;
  });
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const differing = keys.filter((k) => new Set(flat.map((f) => f[k])).size > 1);
  return flat.map((f, i) => {
    const parts = differing.map((k) => `${k}=${f[k] ?? '-'}`);
    const cmd = new Set(commands).size > 1 ? commands[i] : '';
    return [cmd, ...parts].filter(Boolean).join(' ') || commands[i];
  });
}

const singleSeed = (s: unknown): number | null => (typeof s === 'number' ? s : Array.isArray(s) && s.length === 1 && typeof s[0] === 'number' ? s[0] : null);

export function compareRuns(runs: readonly RunDetail[]): Comparison {
  if (runs.length < 2) throw new InputError('runs compare needs at least two run ids');
  if (runs.length > MAX_COMPARE) throw new InputError(`runs compare takes at most ${MAX_COMPARE} runs, got ${runs.length}`);
  const keys = new Map<string, number>();
  runs.forEach((r) => r.metrics && Object.keys(r.metrics).forEach((k) => keys.set(k, (keys.get(k) ?? 0) + 1)));
  // Metrics in at least two runs first (the comparable ones), then the rest; each group sorted.
  const metricNames = [...keys.keys()].sort((a, b) => Number(keys.get(b)! >= 2) - Number(keys.get(a)! >= 2) || a.localeCompare(b));
  const metrics = metricNames.map((m) => ({ metric: m, values: runs.map((r) => r.metrics[m] ?? null) }));

  const byVariant = new Map<string, RunDetail[]>();
  for (const r of runs) {
    const v = variantOf(r.command, r.config);
    byVariant.set(v, [...(byVariant.get(v) ?? []), r]);
  }
  const vkeys = [...byVariant.keys()];
  const vlabels = labels(vkeys.map((k) => byVariant.get(k)![0].config), vkeys.map((k) => byVariant.get(k)![0].command));
  const labelOf = new Map(vkeys.map((k, i) => [k, vlabels[i]]));

  const paired: Paired[] = [];
  if (vkeys.length >= 2) {
    const seedMap = (rs: readonly RunDetail[]): Map<number, RunDetail> => {
      const m = new Map<number, RunDetail>();
      for (const r of rs) { const s = singleSeed(r.seed); if (s !== null && !m.has(s)) m.set(s, r); }
      return m;
    };
    const base = seedMap(byVariant.get(vkeys[0])!);
    for (const vk of vkeys.slice(1)) {
      const other = seedMap(byVariant.get(vk)!);
      const seeds = [...base.keys()].filter((s) => other.has(s)).sort((a, b) => a - b);
      if (seeds.length === 0) continue;
      for (const m of metricNames) {
        const d: number[] = [];
        const used: number[] = [];
        for (const s of seeds) {
          const a = base.get(s)!.metrics[m], b = other.get(s)!.metrics[m];
          if (typeof a === 'number' && typeof b === 'number') { d.push(b - a); used.push(s); }
        }
        if (d.length === 0) continue;
        const n = d.length;
        const mean = d.reduce((x, y) => x + y, 0) / n;
        const sd = n >= 2 ? Math.sqrt(d.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1)) : null;
        const half = sd !== null ? t975(n - 1) * sd / Math.sqrt(n) : null;
        paired.push({ metric: m, baseline: labelOf.get(vkeys[0])!, variant: labelOf.get(vk)!, seeds: used, n, mean, sd, lo: half === null ? null : mean - half, hi: half === null ? null : mean + half });
      }
    }
  }
  return {
    runs: runs.map((r) => ({ id: r.id, command: r.command, job: r.job, created: r.created, seed: r.seed, variant: labelOf.get(variantOf(r.command, r.config))! })),
    variants: vkeys.map((k) => ({ label: labelOf.get(k)!, runs: byVariant.get(k)!.map((r) => r.id) })),
    metrics,
    paired,
  };
}
