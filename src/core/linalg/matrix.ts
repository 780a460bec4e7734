// Small helpers to build and inspect matrices; backend independent.
import { InputError } from '../errors.js';
import { checkOptionKeys } from '../options.js';
import { GEMM_INTO_KEYS, SYRK_INTO_KEYS } from './types.js';
import type { BufferedLinalg, GemmIntoOptions, Linalg, Matrix, Matrix32, Matrix64, SyrkIntoOptions } from './types.js';

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
  const c = r ? rows[0].length : 0;
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
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return { rows: cols, cols: rows, data: out };
}
export function get(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j];
}
/** Largest absolute elementwise difference (shapes must agree). */
export function maxAbsDiff(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new InputError(`shape ${a.rows}x${a.cols} vs ${b.rows}x${b.cols}`);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
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

// ---- Checks and defaults for the buffer variants (BufferedLinalg) ----

type F = Float32Array | Float64Array;

/** True when two typed arrays share any memory. */
export function overlaps(x: ArrayBufferView, y: ArrayBufferView): boolean {
  if (x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}

function checkPlain(m: Matrix, what: string): void {
  if (!(m.data instanceof Float32Array || m.data instanceof Float64Array)) throw new InputError(`${what}: data must be a Float32Array or Float64Array`);
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols < 0) throw new InputError(`${what}: bad shape ${m.rows}x${m.cols}`);
  if (m.data.length !== m.rows * m.cols) throw new InputError(`${what}: ${m.rows}x${m.cols} matrix has ${m.data.length} values`);
}

function checkScalar(v: number | undefined, name: string, what: string): void {
  if (v !== undefined && typeof v !== 'number') throw new InputError(`${what}: ${name} must be a number`);
}

function checkOut(out: Matrix, rows: number, cols: number, like: F, what: string): void {
  checkPlain(out, `${what} out`);
  if (out.data.constructor !== like.constructor) throw new InputError(`${what}: out must have the inputs' dtype (${like.constructor.name})`);
  if (out.rows !== rows || out.cols !== cols) throw new InputError(`${what}: out is ${out.rows}x${out.cols}, expected ${rows}x${cols}`);
}

/** Checks gemmInto's arguments (shapes, dtypes, option names, no overlap); InputError otherwise. */
export function checkGemmInto(a: Matrix, b: Matrix, out: Matrix, opts: GemmIntoOptions): void {
  checkOptionKeys(opts, GEMM_INTO_KEYS, 'gemmInto');
  checkScalar(opts.alpha, 'alpha', 'gemmInto');
  checkScalar(opts.beta, 'beta', 'gemmInto');
  checkPlain(a, 'gemmInto A');
  checkPlain(b, 'gemmInto B');
  if (a.data.constructor !== b.data.constructor) throw new InputError('gemmInto: A and B must have the same dtype');
  const m = opts.transA ? a.cols : a.rows, k = opts.transA ? a.rows : a.cols;
  const kb = opts.transB ? b.cols : b.rows, n = opts.transB ? b.rows : b.cols;
  if (k !== kb) throw new InputError(`gemmInto: inner dimensions differ (${m}x${k} times ${kb}x${n})`);
  checkOut(out, m, n, a.data, 'gemmInto');
  if (overlaps(out.data, a.data) || overlaps(out.data, b.data)) throw new InputError('gemmInto: out must not share memory with A or B');
}

/** Checks syrkInto's arguments; InputError otherwise. */
export function checkSyrkInto(a: Matrix, out: Matrix, opts: SyrkIntoOptions): void {
  checkOptionKeys(opts, SYRK_INTO_KEYS, 'syrkInto');
  checkScalar(opts.alpha, 'alpha', 'syrkInto');
  checkScalar(opts.beta, 'beta', 'syrkInto');
  checkPlain(a, 'syrkInto A');
  const d = opts.outer ? a.rows : a.cols;
  checkOut(out, d, d, a.data, 'syrkInto');
  if (overlaps(out.data, a.data)) throw new InputError('syrkInto: out must not share memory with A');
}

/** Checks choleskyInPlace / choleskySolveInPlace arguments; InputError otherwise. */
export function checkCholeskyInPlace(a: Matrix64, b: Matrix64 | null, what: string): void {
  checkPlain(a, what);
  if (!(a.data instanceof Float64Array)) throw new InputError(`${what}: needs a float64 matrix`);
  if (a.rows !== a.cols) throw new InputError(`${what} needs a square matrix, got ${a.rows}x${a.cols}`);
  if (b) {
    checkPlain(b, `${what} B`);
    if (!(b.data instanceof Float64Array)) throw new InputError(`${what}: right-hand side must be float64`);
    if (b.rows !== a.rows) throw new InputError(`${what}: right-hand side has ${b.rows} rows, expected ${a.rows}`);
    if (overlaps(a.data, b.data)) throw new InputError(`${what}: A and B must not share memory`);
  }
}

/**
 * The buffer variants built from a backend's allocating routines (results computed as usual, then
 * copied into the caller's buffers): the pure-TypeScript backend's implementation, and the one an
 * addon built before these entries existed gets. Same results and checks as the native entries.
 */
export function withBufferDefaults(base: Linalg): BufferedLinalg {
  return {
    name: base.name,
    gemm: base.gemm,
    syrk: base.syrk,
    eigh: base.eigh,
    cholesky: base.cholesky,
    choleskySolve: base.choleskySolve,
    gemmInto<T extends F>(a: Matrix<T>, b: Matrix<T>, out: Matrix<T>, opts: GemmIntoOptions = {}): Matrix<T> {
      checkGemmInto(a, b, out, opts);
      const r = base.gemm(a, b, { transA: opts.transA ?? false, transB: opts.transB ?? false, alpha: opts.alpha ?? 1 }).data;
      const beta = opts.beta ?? 0, o = out.data;
      if (beta === 0) o.set(r);
      else for (let i = 0; i < o.length; i++) o[i] = r[i] + beta * o[i];
      return out;
    },
    syrkInto<T extends F>(a: Matrix<T>, out: Matrix<T>, opts: SyrkIntoOptions = {}): Matrix<T> {
      checkSyrkInto(a, out, opts);
      const r = (opts.outer ? base.gemm(a, a, { transB: true }) : base.syrk(a)).data;
      const alpha = opts.alpha ?? 1, beta = opts.beta ?? 0, o = out.data, d = out.rows;
      for (let i = 0; i < d; i++) {
        for (let j = i; j < d; j++) {
          const v = alpha * r[i * d + j] + (beta === 0 ? 0 : beta * o[i * d + j]);
          o[i * d + j] = v;
          o[j * d + i] = v;
        }
      }
      return out;
    },
    choleskyInPlace(a: Matrix64): Matrix64 {
      checkCholeskyInPlace(a, null, 'choleskyInPlace');
      a.data.set(base.cholesky(a).data);
      return a;
    },
    choleskySolveInPlace(a: Matrix64, b: Matrix64): Matrix64 {
      checkCholeskyInPlace(a, b, 'choleskySolveInPlace');
      const x = base.choleskySolve(a, b);
      a.data.set(base.cholesky(a).data);
      b.data.set(x.data);
      return b;
    },
  };
}
