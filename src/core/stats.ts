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
