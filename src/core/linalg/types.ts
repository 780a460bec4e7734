// The dense linear-algebra contract. Two implementations satisfy it: the OpenBLAS/LAPACK addon
// (native.ts) and pure TypeScript (ts.ts). Area code imports `linalg()` from index.ts and never
// knows which one it got; tests run every routine on both.

/** A dense row-major matrix. The element type is the dtype: Float32Array or Float64Array. */
export interface Matrix<T extends Float32Array | Float64Array = Float32Array | Float64Array> {
  readonly rows: number;
  readonly cols: number;
  readonly data: T;
}
export type Matrix32 = Matrix<Float32Array>;
export type Matrix64 = Matrix<Float64Array>;

export interface GemmOptions {
  /** Use A^T instead of A. */
  readonly transA?: boolean;
  /** Use B^T instead of B. */
  readonly transB?: boolean;
  readonly alpha?: number;
}

export interface EighResult {
  /** Eigenvalues in ascending order. */
  readonly values: Float64Array;
  /** Eigenvectors as the columns of an n x n matrix (only when asked for). */
  readonly vectors?: Matrix64;
}

export type LinalgBackendName = 'openblas' | 'typescript';

export interface Linalg {
  readonly name: LinalgBackendName;
  /** C = alpha * op(A) op(B); the result has A's dtype (A and B must share it). */
  gemm<T extends Float32Array | Float64Array>(a: Matrix<T>, b: Matrix<T>, opts?: GemmOptions): Matrix<T>;
  /** C = A^T A (cols x cols), both triangles filled. */
  syrk<T extends Float32Array | Float64Array>(a: Matrix<T>): Matrix<T>;
  /** Symmetric eigendecomposition in float64 (only the lower triangle of `a` is read). */
  eigh(a: Matrix64, opts?: { vectors?: boolean }): EighResult;
  /** Lower Cholesky factor L with A = L L^T; throws NumericalError when A is not positive definite. */
  cholesky(a: Matrix64): Matrix64;
  /** X with A X = B for symmetric positive definite A, via Cholesky. B is n x k. */
  choleskySolve(a: Matrix64, b: Matrix64): Matrix64;
}

export interface GemmIntoOptions extends GemmOptions {
  /** Keep `beta` times the old contents of `out` (default 0: `out` is only written, never read). */
  readonly beta?: number;
}
export const GEMM_INTO_KEYS: readonly string[] = ['transA', 'transB', 'alpha', 'beta'];

export interface SyrkIntoOptions {
  /** A A^T (rows x rows) instead of A^T A (cols x cols). */
  readonly outer?: boolean;
  readonly alpha?: number;
  /** Keep `beta` times the old contents of `out` (default 0). Only `out`'s upper triangle is read. */
  readonly beta?: number;
}
export const SYRK_INTO_KEYS: readonly string[] = ['outer', 'alpha', 'beta'];

/**
 * The contract plus variants that write into caller-owned buffers and allocate nothing: for loops
 * over many small problems (p in the hundreds), where allocating and zeroing a fresh p x p result
 * costs as much as the BLAS call itself. `out` (and the in-place arguments) must be plain matrices
 * of the right shape and dtype that do not overlap the inputs; violations raise InputError.
 */
export interface BufferedLinalg extends Linalg {
  /** out = alpha * op(A) op(B) + beta * out; returns `out`. */
  gemmInto<T extends Float32Array | Float64Array>(a: Matrix<T>, b: Matrix<T>, out: Matrix<T>, opts?: GemmIntoOptions): Matrix<T>;
  /**
   * out = alpha * A^T A + beta * out (with `outer`: alpha * A A^T + beta * out), both triangles
   * filled from the upper one, so the result is exactly symmetric; returns `out`.
   */
  syrkInto<T extends Float32Array | Float64Array>(a: Matrix<T>, out: Matrix<T>, opts?: SyrkIntoOptions): Matrix<T>;
  /**
   * Overwrites A (its lower triangle is read) with its Cholesky factor L, zeros above the diagonal;
   * returns `a`. On NumericalError (not positive definite) the contents of `a` are unspecified.
   */
  choleskyInPlace(a: Matrix64): Matrix64;
  /**
   * Solves A X = B for symmetric positive definite A: `a` is overwritten with L as by
   * choleskyInPlace and `b` (n x k) with X; returns `b`.
   */
  choleskySolveInPlace(a: Matrix64, b: Matrix64): Matrix64;
}
