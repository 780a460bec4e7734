// Pure-TypeScript linear algebra: the fallback when the OpenBLAS addon is absent, and the
// independent second implementation that tests compare the addon against.
//   GEMM: float32 products of some size on a wasm SIMD kernel (wasm-gemm.ts); the rest through
//   packed panels (transposes folded into the packing) and a 4x4 register-blocked kernel.
//   eigh: Householder tridiagonalisation + implicit QL (the EISPACK tred2/tql2 pair).
//   Cholesky: row-oriented, dot products over contiguous rows.
import { InputError, NumericalError } from '../errors.js';
import type { EighResult, GemmOptions, Linalg, Matrix, Matrix64 } from './types.js';
import { checkSquare } from './matrix.js';
import { wasmGemmF32Into } from './wasm-gemm.js';

type F = Float32Array | Float64Array;

function alloc<T extends F>(like: T, n: number): T {
  return new (like.constructor as { new (n: number): T })(n);
}

// Packed, register-blocked GEMM. Panels of op(B) (KC x 4 columns) and op(A) (4 rows x KC) are
// copied into float64 scratch, transposes folded into the copy, and a 4x4 micro-kernel keeps 16
// accumulators in registers: 8 sequential loads per 32 flops. Accumulation is in float64 for
// both dtypes; the result is rounded to the output dtype once per KC block.
const KC = 256;
const NC = 1024;
const WASM_MIN_MNK = 16384;
let scratchB = new Float64Array(0);
const scratchA = new Float64Array(KC * 4);

/** out = alpha * op(A) op(B) written into `out` (m x n, row-major); `out` may be a view. */
export function gemmTsInto(a: Matrix, b: Matrix, out: F, opts: GemmOptions = {}): void {
  const ta = opts.transA ?? false, tb = opts.transB ?? false;
  const m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols;
  const kb = tb ? b.cols : b.rows, n = tb ? b.rows : b.cols;
  if (k !== kb) throw new InputError(`gemm: inner dimensions differ (${m}x${k} times ${kb}x${n})`);
  if (a.data.length !== a.rows * a.cols || b.data.length !== b.rows * b.cols) throw new InputError('gemm: data length does not match rows x cols');
  if (out.length < m * n) throw new InputError(`gemm: output holds ${out.length} values, needs ${m * n}`);
  const alpha = opts.alpha ?? 1;
  if (m === 0 || n === 0 || k === 0) { out.fill(0, 0, m * n); return; }
  const A = a.data, B = b.data, C = out;
  // Element (i, p) of op(A) is A[i*sai + p*sap]; element (p, j) of op(B) is B[p*sbp + j*sbj].
  const sai = ta ? 1 : k, sap = ta ? m : 1;
  const sbp = tb ? 1 : n, sbj = tb ? k : 1;
  // float32 products past a few thousand multiply-adds: the SIMD kernel (float32 accumulation, as
  // sgemm); smaller ones stay here, where packing into the wasm memory would cost more than it saves.
  if (A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array && m * n * k >= WASM_MIN_MNK &&
      wasmGemmF32Into(A, sai, sap, B, sbp, sbj, m, n, k, alpha, C)) return;
  out.fill(0, 0, m * n);
  const need = Math.min(KC, k) * (Math.min(NC, n) + 4);
  if (scratchB.length < need) scratchB = new Float64Array(need);
  const Bp = scratchB, Ap = scratchA;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    const nPanels = (nc + 3) >> 2;
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      for (let jp = 0; jp < nPanels; jp++) {
        const base = jp * kc * 4;
        const jj = j0 + jp * 4;
        const w = Math.min(4, n - jj);
        for (let p = 0; p < kc; p++) {
          const row = (p0 + p) * sbp + jj * sbj;
          const o = base + p * 4;
          if (w === 4) {
            Bp[o] = B[row];
            Bp[o + 1] = B[row + sbj];
            Bp[o + 2] = B[row + 2 * sbj];
            Bp[o + 3] = B[row + 3 * sbj];
          } else {
            for (let c = 0; c < 4; c++) Bp[o + c] = c < w ? B[row + c * sbj] : 0;
          }
        }
      }
      for (let i0 = 0; i0 < m; i0 += 4) {
        const h = Math.min(4, m - i0);
        for (let r = 0; r < 4; r++) {
          if (r < h) {
            const src = (i0 + r) * sai + p0 * sap;
            for (let p = 0; p < kc; p++) Ap[p * 4 + r] = A[src + p * sap];
          } else {
            for (let p = 0; p < kc; p++) Ap[p * 4 + r] = 0;
          }
        }
        for (let jp = 0; jp < nPanels; jp++) {
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          let bo = jp * kc * 4;
          let ao = 0;
          for (let p = 0; p < kc; p++, ao += 4, bo += 4) {
            const a0 = Ap[ao], a1 = Ap[ao + 1], a2 = Ap[ao + 2], a3 = Ap[ao + 3];
            const b0 = Bp[bo], b1 = Bp[bo + 1], b2 = Bp[bo + 2], b3 = Bp[bo + 3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
          }
          const jj = j0 + jp * 4;
          const w = Math.min(4, n - jj);
          if (h === 4 && w === 4) {
            let o = i0 * n + jj;
            C[o] += alpha * c00; C[o + 1] += alpha * c01; C[o + 2] += alpha * c02; C[o + 3] += alpha * c03; o += n;
            C[o] += alpha * c10; C[o + 1] += alpha * c11; C[o + 2] += alpha * c12; C[o + 3] += alpha * c13; o += n;
            C[o] += alpha * c20; C[o + 1] += alpha * c21; C[o + 2] += alpha * c22; C[o + 3] += alpha * c23; o += n;
            C[o] += alpha * c30; C[o + 1] += alpha * c31; C[o + 2] += alpha * c32; C[o + 3] += alpha * c33;
          } else {
            const cs = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
            for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) C[(i0 + r) * n + jj + c] += alpha * cs[r * 4 + c];
          }
        }
      }
    }
  }
}

export function gemmTs<T extends F>(a: Matrix<T>, b: Matrix<T>, opts: GemmOptions = {}): Matrix<T> {
  if (a.data.constructor !== b.data.constructor) throw new InputError('gemm: A and B must have the same dtype');
  const m = opts.transA ? a.cols : a.rows, n = opts.transB ? b.rows : b.cols;
  const k = opts.transA ? a.rows : a.cols, kb = opts.transB ? b.cols : b.rows;
  if (k !== kb) throw new InputError(`gemm: inner dimensions differ (${m}x${k} times ${kb}x${n})`);
  const out = alloc(a.data, m * n);
  gemmTsInto(a, b, out, opts);
  return { rows: m, cols: n, data: out };
}

export function syrkTs<T extends F>(a: Matrix<T>): Matrix<T> {
  const d = a.cols;
  // A^T A through the packed GEMM (float64 accumulation), then the upper triangle mirrored so the
  // result is exactly symmetric.
  const out = alloc(a.data, d * d);
  gemmTsInto(a, a, out, { transA: true });
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) out[j * d + i] = out[i * d + j];
  return { rows: d, cols: d, data: out };
}

export function eighTs(a: Matrix64, opts: { vectors?: boolean } = {}): EighResult {
  checkSquare(a, 'eigh');
  const n = a.rows;
  const wantVectors = opts.vectors ?? false;
  if (n === 0) return { values: new Float64Array(0), vectors: wantVectors ? { rows: 0, cols: 0, data: new Float64Array(0) } : undefined };
  // V holds the matrix (lower triangle mirrored), then the Householder data / eigenvectors.
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    const v = a.data[i * n + j];
    if (!Number.isFinite(v)) throw new InputError(`eigh: non-finite entry at (${i}, ${j})`);
    V[i * n + j] = v;
    V[j * n + i] = v;
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(n, V, d, e, wantVectors);
  // tql2 rotates columns of V; keep them as rows of Z so the rotation touches contiguous memory.
  const Z = wantVectors ? transposeSquare(V, n) : null;
  tql2(n, d, e, Z);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = Float64Array.from(order, (i) => d[i]);
  if (!Z) return { values };
  const vec = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vec[k * n + dst] = Z[src * n + k];
  });
  return { values, vectors: { rows: n, cols: n, data: vec } };
}

function transposeSquare(V: Float64Array, n: number): Float64Array {
  const Z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Z[j * n + i] = V[i * n + j];
  return Z;
}

function tred2(n: number, V: Float64Array, d: Float64Array, e: Float64Array, accumulate: boolean): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k] / scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = V[k * n + j];
          g += vkj * d[k];
          e[k] += vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j] / h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  if (!accumulate) {
    // Without eigenvectors the tridiagonal's diagonal is what the reduction left on V's diagonal.
    for (let i = 0; i < n; i++) d[i] = V[i * n + i];
    e[0] = 0;
    return;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(n: number, d: Float64Array, e: Float64Array, Z: Float64Array | null): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new NumericalError('eigh: implicit QL did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = c, c3 = c;
        const el1 = e[l + 1];
        let s = 0, s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (Z) {
            const zi = i * n, zi1 = (i + 1) * n;
            for (let k = 0; k < n; k++) {
              const hk = Z[zi1 + k];
              const vk = Z[zi + k];
              Z[zi1 + k] = s * vk + c * hk;
              Z[zi + k] = c * vk - s * hk;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] = d[l] + f;
    e[l] = 0;
  }
}

export function choleskyTs(a: Matrix64): Matrix64 {
  checkSquare(a, 'cholesky');
  const n = a.rows;
  const L = new Float64Array(n * n);
  const A = a.data;
  for (let j = 0; j < n; j++) {
    const lj = j * n;
    let s = A[lj + j];
    for (let k = 0; k < j; k++) s -= L[lj + k] * L[lj + k];
    if (!(s > 0)) throw new NumericalError(`cholesky: matrix is not positive definite (pivot ${j} = ${s})`);
    const ljj = Math.sqrt(s);
    L[lj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let t = A[li + j];
      for (let k = 0; k < j; k++) t -= L[li + k] * L[lj + k];
      L[li + j] = t / ljj;
    }
  }
  return { rows: n, cols: n, data: L };
}

/** Solve L L^T X = B given the lower factor L. */
export function choleskySolveFactor(L: Matrix64, b: Matrix64): Matrix64 {
  const n = L.rows, k = b.cols;
  if (b.rows !== n) throw new InputError(`choleskySolve: right-hand side has ${b.rows} rows, expected ${n}`);
  const X = Float64Array.from(b.data);
  const l = L.data;
  for (let i = 0; i < n; i++) {
    const xi = i * k;
    for (let p = 0; p < i; p++) {
      const c = l[i * n + p];
      if (c === 0) continue;
      const xp = p * k;
      for (let j = 0; j < k; j++) X[xi + j] -= c * X[xp + j];
    }
    const inv = 1 / l[i * n + i];
    for (let j = 0; j < k; j++) X[xi + j] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    const xi = i * k;
    for (let p = i + 1; p < n; p++) {
      const c = l[p * n + i];
      if (c === 0) continue;
      const xp = p * k;
      for (let j = 0; j < k; j++) X[xi + j] -= c * X[xp + j];
    }
    const inv = 1 / l[i * n + i];
    for (let j = 0; j < k; j++) X[xi + j] *= inv;
  }
  return { rows: n, cols: k, data: X };
}

export const typescriptLinalg: Linalg = {
  name: 'typescript',
  gemm: gemmTs,
  syrk: syrkTs,
  eigh: eighTs,
  cholesky: choleskyTs,
  choleskySolve: (a, b) => choleskySolveFactor(choleskyTs(a), b),
};

export type { Matrix };
