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
