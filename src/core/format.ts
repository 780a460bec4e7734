// Numbers as text for tables and summary lines: one formatter, so a value reads the same in the
// HTML report, the run list and the terminal summaries.

export interface FormatOptions {
  /** Fixed decimals (`toFixed`) instead of significant digits. */
  readonly digits?: number;
  /** Significant digits when `digits` is not set (default 4). Integers are written in full unless `digits` is set without `trim`. */
  readonly significant?: number;
  /** Drop trailing zeros after the decimal point (0.5000 -> 0.5, 2.0000 -> 2). */
  readonly trim?: boolean;
  /** Nonzero values below 1e-3 or from 1e6 up in exponent form (default true), so a small value never reads as 0. */
  readonly scientific?: boolean;
  /** Text for null or undefined (default "—"). NaN and infinities are written as such. */
  readonly missing?: string;
}

export function formatNumber(v: number | null | undefined, opts: FormatOptions = {}): string {
  if (v === null || v === undefined) return opts.missing ?? '—';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && (opts.digits === undefined || opts.trim)) return String(v);
  const significant = opts.significant ?? 4;
  const a = Math.abs(v);
  if ((opts.scientific ?? true) && a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(significant - 1);
  const s = opts.digits !== undefined ? v.toFixed(opts.digits) : v.toPrecision(significant);
  if (!opts.trim || !s.includes('.') || s.includes('e')) return s;
  const t = s.replace(/0+$/, '').replace(/\.$/, '');
  return t === '-0' ? '0' : t;
}
