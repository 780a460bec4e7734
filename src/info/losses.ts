// Differentiable matrix-information terms for tfjs training loops. Each term keeps its forward and
// its gradient here: the order-2 (Frobenius) forms are plain tensor ops, so tfjs differentiates
// them; the von Neumann entropy is a custom-gradient op over a float64 eigendecomposition with the
// spectral-function gradient dH/dK = -(1/tr K) (U diag(log μ) Uᵀ + H I), which has no
// eigenvalue-gap terms and so stays finite at the degenerate Neural Collapse spectrum.
import { InputError } from '../core/errors.js';
import { linalg } from '../core/linalg/index.js';
import { tf } from '../core/tensor.js';
import { checkOptionKeys } from '../core/options.js';

/** Rows divided by their norms (a tiny floor keeps zero rows finite). */
export function unitRows(Z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(Z, tf.sqrt(tf.add(tf.sum(tf.square(Z), 1, true), 1e-12))) as tf.Tensor2D);
}

/** Cosine Gram of a feature batch (n x n). */
export function cosineGramTf(Z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const U = unitRows(Z);
    return tf.matMul(U, U, false, true);
  });
}

/** H_2(G(Z)) = 2 log n - log ‖G‖_F² for unit-diagonal Grams. Natural log, differentiable. */
export function renyi2Entropy(Z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = Z.shape[0];
    const K = cosineGramTf(Z);
    return tf.sub(2 * Math.log(n), tf.log(tf.sum(tf.square(K)))) as tf.Scalar;
  });
}

/** H_2 of a unit-diagonal Gram K given directly. */
export function renyi2EntropyGram(K: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.sub(2 * Math.log(K.shape[0]), tf.log(tf.sum(tf.square(K)))) as tf.Scalar);
}

/**
 * Order-2 matrix mutual information of the cosine Grams of Z1 and Z2 (same rows):
 * MI_2 = log(n² ‖K1⊙K2‖_F² / (‖K1‖_F² ‖K2‖_F²)).
 */
export function mutualInformation2(Z1: tf.Tensor2D, Z2: tf.Tensor2D): tf.Scalar {
  if (Z1.shape[0] !== Z2.shape[0]) throw new InputError(`mutualInformation2: ${Z1.shape[0]} and ${Z2.shape[0]} rows`);
  return tf.tidy(() => {
    const n = Z1.shape[0];
    const K1 = cosineGramTf(Z1), K2 = cosineGramTf(Z2);
    const s1 = tf.sum(tf.square(K1)), s2 = tf.sum(tf.square(K2));
    const s12 = tf.sum(tf.mul(tf.square(K1), tf.square(K2)));
    return tf.add(2 * Math.log(n), tf.sub(tf.log(s12), tf.add(tf.log(s1), tf.log(s2)))) as tf.Scalar;
  });
}

/** Floor on normalised eigenvalues inside the von Neumann gradient (log μ diverges along null directions). */
export const VN_EPS = 1e-8;

/**
 * von Neumann entropy H(K) of a symmetric PSD matrix (natural log), as a tfjs op with the
 * spectral gradient. Forward and backward run a float64 eigendecomposition on the CPU.
 */
export function vonNeumannEntropy(K: tf.Tensor2D, eps = VN_EPS): tf.Scalar {
  const [n, m] = K.shape;
  if (n !== m) throw new InputError(`vonNeumannEntropy needs a square matrix, got ${n}x${m}`);
  const op = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = inputs[0] as tf.Tensor, save = inputs[1] as tf.GradSaveFunc;
    const data = Float64Array.from(x.dataSync());
    const { h, grad } = vonNeumannWithGradient(data, n, eps);
    save([tf.tensor2d(Float32Array.from(grad), [n, n])]);
    return {
      value: tf.scalar(h),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.mul(dy as tf.Tensor, saved[0]),
    };
  });
  return op(K) as tf.Scalar;
}

/**
 * H(K) and dH/dK in float64 for a row-major n x n symmetric PSD matrix:
 * dH/dK = -(1/tr K) (U diag(log max(μ, eps)) Uᵀ + H I).
 */
export function vonNeumannWithGradient(K: Float64Array, n: number, eps = VN_EPS): { h: number; grad: Float64Array } {
  const S = new Float64Array(n * n);
  let tr = 0;
  for (let i = 0; i < n; i++) tr += K[i * n + i];
  if (!(tr > 0)) throw new InputError(`vonNeumannEntropy: trace ${tr} is not positive`);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) S[i * n + j] = 0.5 * (K[i * n + j] + K[j * n + i]) / tr;
  const { values, vectors } = linalg().eigh({ rows: n, cols: n, data: S }, { vectors: true });
  const U = vectors!.data;
  let h = 0;
  const logMu = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const mu = values[k];
    if (mu > 0) h -= mu * Math.log(mu);
    logMu[k] = Math.log(Math.max(mu, eps));
  }
  const grad = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += U[i * n + k] * logMu[k] * U[j * n + k];
    if (i === j) s += h;
    const g = -s / tr;
    grad[i * n + j] = g;
    grad[j * n + i] = g;
  }
  return { h, grad };
}

/** von Neumann MI of the cosine Grams: H(K1) + H(K2) - H(K1⊙K2), differentiable through the custom op. */
export function mutualInformationVn(Z1: tf.Tensor2D, Z2: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const K1 = cosineGramTf(Z1), K2 = cosineGramTf(Z2);
    return tf.sub(tf.add(vonNeumannEntropy(K1), vonNeumannEntropy(K2)), vonNeumannEntropy(tf.mul(K1, K2) as tf.Tensor2D)) as tf.Scalar;
  });
}

export interface InformationLossOptions {
  /** Weight of the (unnormalised) mutual-information reward. */
  readonly lambdaMi: number;
  /** Weight of the smooth |H(features) - H(head rows)| penalty. */
  readonly lambdaHd: number;
  /** 2 (default): Frobenius form, plain tensor ops. 1: von Neumann through the custom-gradient op. */
  readonly alpha?: 1 | 2;
  /** δ in the smooth absolute value √(x² + δ²) (default 1e-3). */
  readonly delta?: number;
}

export interface InformationLossTerms {
  /** -λ_mi MI + λ_hd |H1 - H2|_δ: add it to the supervised loss. */
  readonly loss: tf.Scalar;
  readonly mi: tf.Scalar;
  readonly hDiff: tf.Scalar;
}

/**
 * The information loss of 2406.03999 for one batch: features f (n x d) and the classifier rows
 * picked by each sample's label V (n x d). Returns a function usable inside any `tf.tidy` /
 * optimizer closure.
 */
export function informationLoss(opts: InformationLossOptions): (features: tf.Tensor2D, headRows: tf.Tensor2D) => InformationLossTerms {
  checkOptionKeys(opts, ['lambdaMi', 'lambdaHd', 'alpha', 'delta'], 'informationLoss');
  const alpha = opts.alpha ?? 2;
  if (alpha !== 1 && alpha !== 2) throw new InputError(`informationLoss: alpha must be 1 or 2, got ${String(alpha)}`);
  if (!(opts.lambdaMi >= 0 && opts.lambdaHd >= 0)) throw new InputError('informationLoss: lambdaMi and lambdaHd must be >= 0');
  const delta = opts.delta ?? 1e-3;
  return (f, V) => {
    if (f.shape[0] !== V.shape[0]) throw new InputError(`informationLoss: ${f.shape[0]} features but ${V.shape[0]} head rows`);
    const K1 = cosineGramTf(f), K2 = cosineGramTf(V);
    const H = alpha === 2 ? renyi2EntropyGram : (K: tf.Tensor2D) => vonNeumannEntropy(K);
    const h1 = H(K1), h2 = H(K2);
    const h12 = H(tf.mul(K1, K2) as tf.Tensor2D);
    const mi = tf.sub(tf.add(h1, h2), h12) as tf.Scalar;
    const hDiff = tf.sqrt(tf.add(tf.square(tf.sub(h1, h2)), delta * delta)) as tf.Scalar;
    const loss = tf.add(tf.mul(-opts.lambdaMi, mi), tf.mul(opts.lambdaHd, hDiff)) as tf.Scalar;
    return { loss, mi, hDiff };
  };
}

/**
 * Cross-modal alignment loss (our reading of the proposal in 2409.16767, whose exact form is
 * unverified): for each class c present in the batch, stack the class-c features of modality A
 * and of modality B into one group and take the order-2 matrix entropy of that group's cosine
 * Gram; the loss is the mean over classes. It is low when same-class features of both
 * modalities point the same way, and it never looks at other classes.
 */
export function crossModalAlignmentLoss(za: tf.Tensor2D, zb: tf.Tensor2D, labelsA: ArrayLike<number>, labelsB: ArrayLike<number>): tf.Scalar {
  if (za.shape[1] !== zb.shape[1]) throw new InputError(`crossModalAlignmentLoss: modality widths ${za.shape[1]} and ${zb.shape[1]} differ (project them to one width first)`);
  if (labelsA.length !== za.shape[0] || labelsB.length !== zb.shape[0]) throw new InputError('crossModalAlignmentLoss: one label per row is needed for each modality');
  const groups = new Map<number, { a: number[]; b: number[] }>();
  for (let i = 0; i < labelsA.length; i++) { const c = labelsA[i]; if (!groups.has(c)) groups.set(c, { a: [], b: [] }); groups.get(c)!.a.push(i); }
  for (let i = 0; i < labelsB.length; i++) { const c = labelsB[i]; if (!groups.has(c)) groups.set(c, { a: [], b: [] }); groups.get(c)!.b.push(i); }
  const usable = [...groups.values()].filter((g) => g.a.length > 0 && g.b.length > 0);
  if (usable.length === 0) throw new InputError('crossModalAlignmentLoss: no class has rows in both modalities');
  return tf.tidy(() => {
    const na = za.shape[0], nb = zb.shape[0];
    const terms = usable.map((g) => {
      // Row selection by one-hot matmul (differentiable on every backend).
      const sa = selector(g.a, na), sb = selector(g.b, nb);
      const group = tf.concat([tf.matMul(sa, za), tf.matMul(sb, zb)], 0) as tf.Tensor2D;
      return renyi2Entropy(group);
    });
    return tf.div(tf.addN(terms), terms.length) as tf.Scalar;
  });
}

function selector(rows: readonly number[], n: number): tf.Tensor2D {
  const m = new Float32Array(rows.length * n);
  rows.forEach((r, i) => { m[i * n + r] = 1; });
  return tf.tensor2d(m, [rows.length, n]);
}
