// Small float64 helpers shared by the theory modules. All matrix products go through `linalg()`.
import { InputError } from '../core/errors.js';
import type { Linalg, Matrix64 } from '../core/linalg/index.js';

export function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InputError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export function nonNegative(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InputError(`${name} must be a finite number >= 0, got ${String(v)}`);
  return v;
}

/** A vector viewed as an n x 1 matrix (no copy). */
export function col(v: Float64Array): Matrix64 {
  return { rows: v.length, cols: 1, data: v };
}

/** A v (or A^T v when `trans`). */
export function matVec(la: Linalg, a: Matrix64, v: Float64Array, trans = false): Float64Array {
  return la.gemm(a, col(v), { transA: trans }).data;
}

export function sub(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

export function add(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

export function maxAbs(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Copy of a square matrix with `d` (scalar or per-entry, times `scale`) added to its diagonal. */
export function plusDiag(a: Matrix64, d: number | Float64Array, scale = 1): Matrix64 {
  const n = a.rows;
  const out: Matrix64 = { rows: n, cols: n, data: Float64Array.from(a.data) };
  for (let i = 0; i < n; i++) out.data[i * n + i] += scale * (typeof d === 'number' ? d : d[i]);
  return out;
}

/** X with each column j scaled by s[j] (a new matrix). */
export function scaleCols(x: Matrix64, s: Float64Array): Matrix64 {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.rows; i++) {
    const o = i * x.cols;
    for (let j = 0; j < x.cols; j++) out[o + j] = x.data[o + j] * s[j];
  }
  return { rows: x.rows, cols: x.cols, data: out };
}

/** The first `k` columns of X (a new matrix). */
export function firstCols(x: Matrix64, k: number): Matrix64 {
  if (k > x.cols) throw new InputError(`asked for ${k} columns of a ${x.rows}x${x.cols} matrix`);
  const out = new Float64Array(x.rows * k);
  for (let i = 0; i < x.rows; i++) out.set(x.data.subarray(i * x.cols, i * x.cols + k), i * k);
  return { rows: x.rows, cols: k, data: out };
}

/** Rows stacked on top of each other. */
export function vstack(ms: readonly Matrix64[]): Matrix64 {
  const cols = ms[0]?.cols ?? 0;
  const rows = ms.reduce((a, m) => a + m.rows, 0);
  const out = new Float64Array(rows * cols);
  let o = 0;
  for (const m of ms) {
    if (m.cols !== cols) throw new InputError(`vstack: ${m.cols} columns, expected ${cols}`);
    out.set(m.data, o);
    o += m.data.length;
  }
  return { rows, cols, data: out };
}

export function concat(vs: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(vs.reduce((a, v) => a + v.length, 0));
  let o = 0;
  for (const v of vs) { out.set(v, o); o += v.length; }
  return out;
}

export function trace(a: Matrix64): number {
  let s = 0;
  for (let i = 0; i < Math.min(a.rows, a.cols); i++) s += a.data[i * a.cols + i];
  return s;
}

/** tr(A^T B) = sum of elementwise products. */
export function frobDot(a: Matrix64, b: Matrix64): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
  return s;
}
