// Inputs of the estimators: a dense row-major matrix or an array of rows, copied to float64 once.
import { InputError } from '../errors.js';
import type { Matrix } from '../linalg/types.js';

/** Rows of features: a core/linalg matrix (any float dtype) or one array per row. */
export type Features = Matrix | readonly ArrayLike<number>[];

export interface Dense { readonly n: number; readonly d: number; readonly data: Float64Array }

export function dense(x: Features, where: string, d?: number): Dense {
  if (Array.isArray(x)) {
    const rows = x as readonly ArrayLike<number>[];
    const cols = d ?? (rows.length ? rows[0]!.length : 0);
    const data = new Float64Array(rows.length * cols);
    rows.forEach((r, i) => {
      if (r.length !== cols) throw new InputError(`${where}: row ${i} has ${r.length} features, expected ${cols}`);
      for (let j = 0; j < cols; j++) data[i * cols + j] = r[j]!;
    });
    return { n: rows.length, d: cols, data };
  }
  const m = x as Matrix;
  if (m.data.length !== m.rows * m.cols) throw new InputError(`${where}: ${m.rows}x${m.cols} matrix has ${m.data.length} values`);
  if (d !== undefined && m.cols !== d) throw new InputError(`${where}: ${m.cols} features, expected ${d}`);
  return { n: m.rows, d: m.cols, data: m.data instanceof Float64Array ? m.data : Float64Array.from(m.data) };
}

/** Per-feature mean and scale of the rows: scale = population std + eps, or 1 for a constant feature when eps = 0. */
export interface Standardizer { readonly mean: Float64Array; readonly scale: Float64Array }

export function fitStandardizer(x: Dense, eps: number): Standardizer {
  const { n, d, data } = x;
  const mean = new Float64Array(d), scale = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) { const t = data[i * d + j]! - mean[j]!; scale[j] += t * t; }
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]! / n) + eps || 1;
  return { mean, scale };
}

export function applyStandardizer(x: Dense, s: Standardizer | null): Float64Array {
  if (!s) return x.data;
  const { d, data } = x, out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) { const j = i % d; out[i] = (data[i]! - s.mean[j]!) / s.scale[j]!; }
  return out;
}
