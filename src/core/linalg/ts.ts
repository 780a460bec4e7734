// Pure-TypeScript linear algebra: the fallback when the OpenBLAS addon is absent, and the
// independent second implementation that tests compare the addon against.
//   GEMM: transposes made explicit, then a cache-blocked i-k-j loop over contiguous rows.
//   eigh: Householder tridiagonalisation + implicit QL (the EISPACK tred2/tql2 pair).
//   Cholesky: row-oriented, dot products over contiguous rows.
import { InputError, NumericalError } from '../errors.js';
import type { EighResult, GemmOptions, Linalg, Matrix, Matrix64 } from './types.js';
import { checkSquare, transpose } from './matrix.js';

type F = Float32Array | Float64Array;

function alloc<T extends F>(like: T, n: number): T {
  return new (like.constructor as { new (n: number): T })(n);
}

export function gemmTs<T extends F>(a: Matrix<T>, b: Matrix<T>, opts: GemmOptions = {}): Matrix<T> {
  if (a.data.constructor !== b.data.constructor) throw new InputError('gemm: A and B must have the same dtype');
  const A = opts.transA ? transpose(a) : a;
  // B is used row-wise, so a transposed B is materialised once (O(kn)) rather than strided in the loop.
  const B = opts.transB ? transpose(b) : b;
  const m = A.rows, k = A.cols, n = B.cols;
  if (B.rows !== k) throw new InputError(`gemm: inner dimensions differ (${m}x${k} times ${B.rows}x${n})`);
  const alpha = opts.alpha ?? 1;
  const out = alloc(a.data, m * n);
  const ad = A.data, bd = B.data;
  const KB = 128, NB = 512;
  for (let k0 = 0; k0 < k; k0 += KB) {
    const k1 = Math.min(k, k0 + KB);
    for (let j0 = 0; j0 < n; j0 += NB) {
      const j1 = Math.min(n, j0 + NB);
      for (let i = 0; i < m; i++) {
        const ci = i * n;
        const ai = i * k;
        let p = k0;
        // Four rows of B per pass: fewer loads and stores of C per flop.
        for (; p + 3 < k1; p += 4) {
          const a0 = alpha * ad[ai + p]!, a1 = alpha * ad[ai + p + 1]!, a2 = alpha * ad[ai + p + 2]!, a3 = alpha * ad[ai + p + 3]!;
          const b0 = p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
          for (let j = j0; j < j1; j++) {
            out[ci + j] += a0 * bd[b0 + j]! + a1 * bd[b1 + j]! + a2 * bd[b2 + j]! + a3 * bd[b3 + j]!;
          }
        }
        for (; p < k1; p++) {
          const av = alpha * ad[ai + p]!;
          if (av === 0) continue;
          const bp = p * n;
          for (let j = j0; j < j1; j++) out[ci + j] += av * bd[bp + j]!;
        }
      }
    }
  }
  return { rows: m, cols: n, data: out };
}

export function syrkTs<T extends F>(a: Matrix<T>): Matrix<T> {
  const { rows: n, cols: d, data } = a;
  // Accumulate the upper triangle in float64 whatever the input dtype, then mirror.
  const acc = new Float64Array(d * d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let i = 0; i < d; i++) {
      const v = data[o + i]!;
      if (v === 0) continue;
      const ci = i * d;
      for (let j = i; j < d; j++) acc[ci + j] += v * data[o + j]!;
    }
  }
  const out = alloc(data, d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = acc[i * d + j]!;
      out[i * d + j] = v;
      out[j * d + i] = v;
    }
  }
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
    const v = a.data[i * n + j]!;
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
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x]! - d[y]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  if (!Z) return { values };
  const vec = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vec[k * n + dst] = Z[src * n + k]!;
  });
  return { values, vectors: { rows: n, cols: n, data: vec } };
}

function transposeSquare(V: Float64Array, n: number): Float64Array {
  const Z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Z[j * n + i] = V[i * n + j]!;
  return Z;
}

function tred2(n: number, V: Float64Array, d: Float64Array, e: Float64Array, accumulate: boolean): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j * n + i] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = V[k * n + j]!;
          g += vkj * d[k]!;
          e[k] += vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k]! + g * d[k]!;
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  if (!accumulate) {
    // Without eigenvectors the tridiagonal's diagonal is what the reduction left on V's diagonal.
    for (let i = 0; i < n; i++) d[i] = V[i * n + i]!;
    e[0] = 0;
    return;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1]! * V[k * n + j]!;
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j]!;
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(n: number, d: Float64Array, e: Float64Array, Z: Float64Array | null): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new NumericalError('eigh: implicit QL did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m]!;
        let c = 1, c2 = c, c3 = c;
        const el1 = e[l + 1]!;
        let s = 0, s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (Z) {
            const zi = i * n, zi1 = (i + 1) * n;
            for (let k = 0; k < n; k++) {
              const hk = Z[zi1 + k]!;
              const vk = Z[zi + k]!;
              Z[zi1 + k] = s * vk + c * hk;
              Z[zi + k] = c * vk - s * hk;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
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
    let s = A[lj + j]!;
    for (let k = 0; k < j; k++) s -= L[lj + k]! * L[lj + k]!;
    if (!(s > 0)) throw new NumericalError(`cholesky: matrix is not positive definite (pivot ${j} = ${s})`);
    const ljj = Math.sqrt(s);
    L[lj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let t = A[li + j]!;
      for (let k = 0; k < j; k++) t -= L[li + k]! * L[lj + k]!;
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
      const c = l[i * n + p]!;
      if (c === 0) continue;
      const xp = p * k;
      for (let j = 0; j < k; j++) X[xi + j] -= c * X[xp + j]!;
    }
    const inv = 1 / l[i * n + i]!;
    for (let j = 0; j < k; j++) X[xi + j] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    const xi = i * k;
    for (let p = i + 1; p < n; p++) {
      const c = l[p * n + i]!;
      if (c === 0) continue;
      const xp = p * k;
      for (let j = 0; j < k; j++) X[xi + j] -= c * X[xp + j]!;
    }
    const inv = 1 / l[i * n + i]!;
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
