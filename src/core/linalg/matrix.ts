// Small helpers to build and inspect matrices; backend independent.
import { InputError } from '../errors.js';
import type { Matrix, Matrix32, Matrix64 } from './types.js';

export function zeros64(rows: number, cols: number): Matrix64 {
  return { rows, cols, data: new Float64Array(rows * cols) };
}
export function zeros32(rows: number, cols: number): Matrix32 {
  return { rows, cols, data: new Float32Array(rows * cols) };
}
export function eye64(n: number): Matrix64 {
  const m = zeros64(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}
export function mat64(rows: number, cols: number, data: ArrayLike<number>): Matrix64 {
  if (data.length !== rows * cols) throw new InputError(`matrix ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data: Float64Array.from(data) };
}
export function fromRows(rows: readonly (readonly number[])[]): Matrix64 {
  const r = rows.length;
  const c = r ? rows[0]!.length : 0;
  const out = zeros64(r, c);
  rows.forEach((row, i) => {
    if (row.length !== c) throw new InputError(`row ${i} has ${row.length} values, expected ${c}`);
    out.data.set(row, i * c);
  });
  return out;
}
export function toFloat64(m: Matrix): Matrix64 {
  return m.data instanceof Float64Array ? (m as Matrix64) : { rows: m.rows, cols: m.cols, data: Float64Array.from(m.data) };
}
export function toFloat32(m: Matrix): Matrix32 {
  return m.data instanceof Float32Array ? (m as Matrix32) : { rows: m.rows, cols: m.cols, data: Float32Array.from(m.data) };
}
export function transpose<T extends Float32Array | Float64Array>(m: Matrix<T>): Matrix<T> {
  const { rows, cols, data } = m;
  const out = new (data.constructor as { new (n: number): T })(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
  return { rows: cols, cols: rows, data: out };
}
export function get(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j]!;
}
/** Largest absolute elementwise difference (shapes must agree). */
export function maxAbsDiff(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new InputError(`shape ${a.rows}x${a.cols} vs ${b.rows}x${b.cols}`);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}
/** A + lambda I (copy). */
export function addDiagonal(a: Matrix64, lambda: number): Matrix64 {
  if (a.rows !== a.cols) throw new InputError(`addDiagonal needs a square matrix, got ${a.rows}x${a.cols}`);
  const out = { rows: a.rows, cols: a.cols, data: Float64Array.from(a.data) };
  for (let i = 0; i < a.rows; i++) out.data[i * a.cols + i] += lambda;
  return out;
}
export function checkSquare(a: Matrix, what: string): void {
  if (a.rows !== a.cols) throw new InputError(`${what} needs a square matrix, got ${a.rows}x${a.cols}`);
}
