// Neural Collapse helpers: simplex-ETF Grams and heads, the theoretical MIR at collapse, and the
// NC1-NC3 measures of Papyan, Han and Donoho (2020) on features, labels and a linear head.
import { InputError } from '../core/errors.js';
import { linalg, type Linalg, type Matrix, type Matrix64 } from '../core/linalg/index.js';
import type { Rng } from '../core/rng.js';

/** 𝓔_C = (C/(C-1)) I - (1/(C-1)) 11ᵀ: the Gram of a simplex equiangular tight frame. */
export function etfGram(C: number): Matrix64 {
  if (!Number.isInteger(C) || C < 2) throw new InputError(`etfGram needs an integer C >= 2, got ${C}`);
  const data = new Float64Array(C * C);
  for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) data[i * C + j] = i === j ? 1 : -1 / (C - 1);
  return { rows: C, cols: C, data };
}

/** Kronecker product A ⊗ 1_{m×m}: each entry becomes an m x m block (balanced batch of m per class). */
export function blockExpand(A: Matrix, m: number): Matrix64 {
  const n = A.rows * m;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = A.data[Math.floor(i / m) * A.cols + Math.floor(j / m)];
  return { rows: n, cols: n, data };
}

/**
 * C unit vectors in R^d (d >= C) forming a simplex ETF: a random orthonormal C-frame U times
 * sqrt(C/(C-1)) (I - 11ᵀ/C). Rows are the class vectors.
 */
export function etfHead(C: number, d: number, rng: Rng): Matrix64 {
  if (!Number.isInteger(C) || C < 2) throw new InputError(`etfHead needs C >= 2, got ${C}`);
  if (d < C) throw new InputError(`etfHead needs d >= C (got d=${d}, C=${C})`);
  // Orthonormal columns U (d x C) by Gram-Schmidt on Gaussian columns, stored as C rows of length d.
  const U: Float64Array[] = [];
  for (let c = 0; c < C; c++) {
    for (;;) {
      const v = rng.fillNormal(new Float64Array(d));
      for (const u of U) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += u[k] * v[k];
        for (let k = 0; k < d; k++) v[k] -= dot * u[k];
      }
      let s = 0;
      for (let k = 0; k < d; k++) s += v[k] ** 2;
      if (s > 1e-6) {
        const inv = 1 / Math.sqrt(s);
        for (let k = 0; k < d; k++) v[k] *= inv;
        U.push(v);
        break;
      }
    }
  }
  const scale = Math.sqrt(C / (C - 1));
  const W = new Float64Array(C * d);
  for (let c = 0; c < C; c++) for (let k = 0; k < d; k++) {
    let acc = 0;
    for (let j = 0; j < C; j++) acc += ((c === j ? 1 : 0) - 1 / C) * U[j][k];
    W[c * d + k] = scale * acc;
  }
  return { rows: C, cols: d, data: W };
}

/**
 * MIR at Neural Collapse for C balanced classes:
 * 1/(C-1) + (C-2) log(C-2) / ((C-1) log(C-1)). NaN for C = 2 (the entropy there is 0).
 */
export function mirNeuralCollapse(C: number): number {
  if (!Number.isInteger(C) || C < 2) throw new InputError(`mirNeuralCollapse needs an integer C >= 2, got ${C}`);
  if (C === 2) return NaN;
  const t = C === 3 ? 0 : ((C - 2) * Math.log(C - 2)) / ((C - 1) * Math.log(C - 1));
  return 1 / (C - 1) + t;
}

/** HDR at Neural Collapse: 0 (features and head share the ETF Gram). */
export function hdrNeuralCollapse(C: number): number {
  return C === 2 ? NaN : 0;
}

export interface NcMeasures {
  /** NC1: tr(Σ_W Σ_B⁺) / C, within-class variability relative to between-class (0 at collapse). */
  readonly nc1: number;
  /** NC2 equinorm: coefficient of variation of the centred class-mean norms. */
  readonly nc2_equinorm_means: number;
  /** NC2 equinorm of the head rows (NaN without a head). */
  readonly nc2_equinorm_head: number;
  /** NC2 equiangularity: mean |cos(μ_c, μ_c') + 1/(C-1)| over pairs (0 at a simplex ETF). */
  readonly nc2_equiangular_means: number;
  readonly nc2_equiangular_head: number;
  /** NC3 self-duality: ‖W/‖W‖ - M/‖M‖‖_F with M the centred class means (0 when they coincide). */
  readonly nc3: number;
  readonly classes: number;
}

function centeredMeans(H: Matrix, labels: ArrayLike<number>, C: number): { M: Float64Array; global: Float64Array; counts: Int32Array } {
  const n = H.rows, d = H.cols;
  const M = new Float64Array(C * d), global = new Float64Array(d), counts = new Int32Array(C);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < C)) throw new InputError(`label ${y} at row ${i} is outside 0..${C - 1}`);
    counts[y]++;
    for (let k = 0; k < d; k++) M[y * d + k] += H.data[i * d + k];
  }
  for (let c = 0; c < C; c++) {
    if (counts[c] === 0) throw new InputError(`class ${c} has no samples; NC measures need every class`);
    for (let k = 0; k < d; k++) M[c * d + k] /= counts[c];
  }
  // Global mean as the mean of class means (balanced convention).
  for (let c = 0; c < C; c++) for (let k = 0; k < d; k++) global[k] += M[c * d + k] / C;
  for (let c = 0; c < C; c++) for (let k = 0; k < d; k++) M[c * d + k] -= global[k];
  return { M, global, counts };
}

function equinorm(R: Float64Array, C: number, d: number): number {
  const norms: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += R[c * d + k] ** 2;
    norms.push(Math.sqrt(s));
  }
  const mu = norms.reduce((a, b) => a + b, 0) / C;
  const sd = Math.sqrt(norms.reduce((a, b) => a + (b - mu) ** 2, 0) / C);
  return mu > 0 ? sd / mu : NaN;
}

function equiangular(R: Float64Array, C: number, d: number): number {
  let acc = 0, pairs = 0;
  const norm = (c: number): number => Math.sqrt(Array.from({ length: d }, (_, k) => R[c * d + k] ** 2).reduce((a, b) => a + b, 0));
  const ns = Array.from({ length: C }, (_, c) => norm(c));
  for (let a = 0; a < C; a++) for (let b = a + 1; b < C; b++) {
    let dot = 0;
    for (let k = 0; k < d; k++) dot += R[a * d + k] * R[b * d + k];
    acc += Math.abs(dot / (ns[a] * ns[b]) + 1 / (C - 1));
    pairs++;
  }
  return acc / pairs;
}

/**
 * NC1-NC3 for penultimate features H (n x d), integer labels in 0..C-1 and an optional head W (C x d).
 * The global mean is the mean of the class means.
 */
export function neuralCollapse(H: Matrix, labels: ArrayLike<number>, C: number, W?: Matrix, la: Linalg = linalg()): NcMeasures {
  const n = H.rows, d = H.cols;
  if (labels.length !== n) throw new InputError(`${labels.length} labels for ${n} feature rows`);
  if (W && (W.rows !== C || W.cols !== d)) throw new InputError(`head is ${W.rows}x${W.cols}, expected ${C}x${d}`);
  const { M } = centeredMeans(H, labels, C);
  // Σ_B = M^T M / C, Σ_W = (1/n) Σ (h - μ_y)(h - μ_y)^T (with μ_y uncentred).
  const { M: Mraw } = (() => {
    const raw = new Float64Array(C * d), counts = new Int32Array(C);
    for (let i = 0; i < n; i++) { const y = labels[i]; counts[y]++; for (let k = 0; k < d; k++) raw[y * d + k] += H.data[i * d + k]; }
    for (let c = 0; c < C; c++) for (let k = 0; k < d; k++) raw[c * d + k] /= counts[c];
    return { M: raw };
  })();
  const D = new Float64Array(n * d);
  for (let i = 0; i < n; i++) { const y = labels[i]; for (let k = 0; k < d; k++) D[i * d + k] = H.data[i * d + k] - Mraw[y * d + k]; }
  const SW = la.syrk({ rows: n, cols: d, data: D });
  for (let i = 0; i < SW.data.length; i++) SW.data[i] /= n;
  const SB = la.syrk({ rows: C, cols: d, data: M });
  for (let i = 0; i < SB.data.length; i++) SB.data[i] /= C;
  const eig = la.eigh(SB, { vectors: true });
  const top = Math.max(...eig.values);
  let nc1 = 0;
  for (let k = 0; k < d; k++) {
    const lam = eig.values[k];
    if (!(lam > top * 1e-10)) continue;
    // u_k^T Σ_W u_k / λ_k
    let q = 0;
    for (let a = 0; a < d; a++) {
      const ua = eig.vectors!.data[a * d + k];
      if (ua === 0) continue;
      let row = 0;
      for (let b = 0; b < d; b++) row += SW.data[a * d + b] * eig.vectors!.data[b * d + k];
      q += ua * row;
    }
    nc1 += q / lam;
  }
  nc1 /= C;
  let nc3 = NaN;
  if (W) {
    const Wd = Float64Array.from(W.data);
    const fn = (x: Float64Array): number => Math.sqrt(x.reduce((a, b) => a + b * b, 0));
    const nw = fn(Wd), nm = fn(M);
    let s = 0;
    for (let i = 0; i < Wd.length; i++) s += (Wd[i] / nw - M[i] / nm) ** 2;
    nc3 = Math.sqrt(s);
  }
  const Wd = W ? Float64Array.from(W.data) : null;
  return {
    nc1,
    nc2_equinorm_means: equinorm(M, C, d),
    nc2_equinorm_head: Wd ? equinorm(Wd, C, d) : NaN,
    nc2_equiangular_means: equiangular(M, C, d),
    nc2_equiangular_head: Wd ? equiangular(Wd, C, d) : NaN,
    nc3,
    classes: C,
  };
}
