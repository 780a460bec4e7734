// Small statistics used by every miniature: means and spreads over seeds, medians, quantiles.

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

// Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom.
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** The 97.5 % quantile of Student's t with `df` degrees of freedom (NaN below 1). */
export function t975(df: number): number {
  if (df < 1) return NaN;
  if (df <= 30) return T975[df - 1];
  // Cornish-Fisher expansion around the normal quantile: within 1e-3 of the exact value past 30.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** Mean of per-seed values with its Student-t 95 % interval (null below two values). */
export function meanInterval(xs: readonly number[]): { n: number; mean: number | null; ci95: [number, number] | null } {
  if (xs.length === 0) return { n: 0, mean: null, ci95: null };
  const m = mean(xs);
  if (xs.length < 2) return { n: 1, mean: m, ci95: null };
  const half = t975(xs.length - 1) * std(xs) / Math.sqrt(xs.length);
  return { n: xs.length, mean: m, ci95: [m - half, m + half] };
}

/** Linear-interpolated quantile (numpy's default). */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** "mean ± std" with the given number of decimals. */
export function meanStd(xs: readonly number[], digits = 2): string {
  return `${mean(xs).toFixed(digits)} ± ${std(xs).toFixed(digits)}`;
}

/** About `steps` integers spread on a log scale from lo to hi (both included), rounded, distinct, ascending. */
export function logIntGrid(lo: number, hi: number, steps: number): number[] {
  const out = new Set<number>();
  for (let i = 0; i < steps; i++) out.add(Math.round(lo * (hi / lo) ** (i / (steps - 1))));
  return [...out].sort((a, b) => a - b);
}
