// The record of `perennial info measure`: entropies of X (and MI, MIR, HDR with Y) as numbers, and
// an undefined quantity as null with its reason beside it (never a bare NaN).
import { measureFeatures, type FeatureOptions } from './metrics.js';

type Matrix = Parameters<typeof measureFeatures>[0];

export type MeasureRecord = Record<string, number | boolean | null> & { reasons?: Record<string, string> };

/** measureFeatures(X, Y) as a record: n, entropy_x, alpha, center, and with Y entropy_y, mi, mir, hdr. */
export function measureRecord(X: Matrix, Y: Matrix | undefined, opts: { alpha: number; center: boolean } & FeatureOptions): MeasureRecord {
  const m = measureFeatures(X, Y, opts);
  const out: Record<string, number | boolean | null> = { n: m.n, entropy_x: m.entropy_x, alpha: m.alpha, center: opts.center };
  if (Y) Object.assign(out, { entropy_y: m.entropy_y!, mi: m.mi!, mir: m.mir!, hdr: m.hdr! });
  const reasons: Record<string, string> = { ...(m.reasons ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'number' && !Number.isFinite(v)) { out[k] = null; reasons[k] ??= `${k} is ${v}`; }
  }
  return Object.keys(reasons).length ? Object.assign(out, { reasons }) : out;
}
