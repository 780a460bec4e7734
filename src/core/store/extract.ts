// What the store keeps of a record besides its text: scalar metrics (flattened paths), curves
// (numeric series) and matrices (e.g. accuracy matrices), each capped so one huge record cannot
// make the index expensive.
import { createHash } from 'node:crypto';

export const MAX_METRICS = 400;
export const MAX_CURVES = 60;
export const MAX_CURVE_POINTS = 2000;
export const MAX_MATRIX = 64;
const MAX_DEPTH = 6;

export interface Curve { readonly kind: 'curve'; readonly values: readonly (number | null)[] }
export interface Matrix { readonly kind: 'matrix'; readonly values: readonly (readonly (number | null)[])[] }
export type Series = Curve | Matrix;

export interface Extracted {
  readonly metrics: Record<string, number>;
  readonly series: Record<string, Series>;
  /** True when a cap cut something off. */
  readonly truncated: boolean;
}

const isNumArray = (v: unknown): v is (number | null)[] =>
  Array.isArray(v) && v.length > 0 && v.every((x) => x === null || typeof x === 'number') && v.some((x) => typeof x === 'number');

/** Flattened numeric leaves of a record's results (everything but `run`), plus run.wall_s. */
export function extract(record: Readonly<Record<string, unknown>>): Extracted {
  const metrics: Record<string, number> = {};
  const series: Record<string, Series> = {};
  let nMetrics = 0, nSeries = 0, truncated = false;
  const put = (k: string, v: number): void => {
    if (!Number.isFinite(v)) return;
    if (nMetrics >= MAX_METRICS) { truncated = true; return; }
    metrics[k] = v;
    nMetrics++;
  };
  const putSeries = (k: string, s: Series): void => {
    if (nSeries >= MAX_CURVES) { truncated = true; return; }
    series[k] = s;
    nSeries++;
  };
  const walk = (v: unknown, path: string, depth: number): void => {
    if (typeof v === 'number') { put(path, v); return; }
    if (typeof v === 'boolean' || v === null || typeof v === 'string' || v === undefined) return;
    if (depth >= MAX_DEPTH) { truncated = true; return; }
    if (Array.isArray(v)) {
      if (isNumArray(v)) {
        if (v.length === 1) { if (typeof v[0] === 'number') put(path, v[0]); return; }
        if (v.length > MAX_CURVE_POINTS) truncated = true;
        putSeries(path, { kind: 'curve', values: v.slice(0, MAX_CURVE_POINTS) });
        const last = v.at(-1);
        if (typeof last === 'number') put(`${path}.last`, last);
        return;
      }
      if (v.length > 0 && v.every((row) => isNumArray(row) || (Array.isArray(row) && row.length === 0))) {
        if (v.length > MAX_MATRIX) truncated = true;
        putSeries(path, { kind: 'matrix', values: v.slice(0, MAX_MATRIX).map((r) => (r as (number | null)[]).slice(0, MAX_MATRIX)) });
        return;
      }
      const n = Math.min(v.length, 50);
      if (v.length > n) truncated = true;
      for (let i = 0; i < n; i++) walk(v[i], `${path}.${i}`, depth + 1);
      return;
    }
    if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, path ? `${path}.${k}` : k, depth + 1);
    }
  };
  for (const [k, v] of Object.entries(record)) if (k !== 'run') walk(v, k, 1);
  const run = record.run as Record<string, unknown> | undefined;
  if (run && typeof run.wall_s === 'number') put('run.wall_s', run.wall_s);
  return { metrics, series, truncated };
}

/** A string (or list of strings) under one of `keys` at the top of a config object. */
export function pick(config: unknown, keys: readonly string[]): string | null {
  if (typeof config !== 'object' || config === null) return null;
  const c = config as Record<string, unknown>;
  for (const k of keys) {
    const v = c[k];
    if (typeof v === 'string' && v) return v;
    if (Array.isArray(v) && v.length && v.every((x) => typeof x === 'string')) return v.join(',');
  }
  return null;
}

export const methodOf = (config: unknown): string | null => pick(config, ['method', 'methods', 'model', 'learner']);
export const datasetOf = (config: unknown): string | null => pick(config, ['dataset', 'data', 'scenario', 'cif', 'hkl']);

/** A run's id: the first 12 hex digits of the SHA-256 of the record file's text. */
export function recordId(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Keys of a config that name output files rather than what was computed. */
const OUTPUT_KEYS = new Set(['json', 'html', 'out', 'store', 'checkpoints', 'resume', 'cache']);

/** A config without seeds and output paths: runs with equal variants differ only in seed. */
export function variantOf(command: string, config: unknown): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) if (k !== 'seed' && k !== 'seeds' && !OUTPUT_KEYS.has(k)) out[k] = strip((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify([command, strip(config)]);
}
