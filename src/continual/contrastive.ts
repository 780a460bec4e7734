// Co2L's building blocks: the asymmetric supervised contrastive loss, instance-wise relation
// distillation (IRD), the two-view augmentation (random crop with padding, horizontal flip, Gaussian
// noise) and the class-balanced fixed-size replay buffer. Losses are tfjs ops (differentiable); each
// has a plain-JS reference in the tests.
import { tf } from '../core/tensor.js';
import { InputError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';

export interface SupConOptions {
  /** Temperature tau (Co2L: 0.5). */
  readonly tau: number;
  /** Co2L scales the loss by tau / tauBase (tauBase 0.07): about 7 at tau = 0.5. */
  readonly tauBase: number;
}

const BIG = 1e9;

/**
 * Asymmetric SupCon over V views (rows of `z`, l2-normalised): anchors only where `isAnchor` is 1,
 * contrasted against all other views; positives = other views of the same label. Like Co2L's code,
 * the per-anchor losses are averaged over ALL V rows (non-anchors contribute 0) and multiplied by
 * tau/tauBase. Returns the scaled loss; the unscaled one is scaled * tauBase / tau.
 */
export function asymSupCon(z: tf.Tensor2D, labels: Int32Array, isAnchor: Uint8Array, opts: SupConOptions): tf.Scalar {
  const V = z.shape[0];
  if (labels.length !== V || isAnchor.length !== V) throw new InputError(`asymSupCon: ${V} rows but ${labels.length} labels and ${isAnchor.length} anchor flags`);
  if (!(opts.tau > 0 && opts.tauBase > 0)) throw new InputError(`asymSupCon: tau and tauBase must be positive, got ${opts.tau}, ${opts.tauBase}`);
  // Positive mask (same label, not self) and anchor weights, built once in JS.
  const pos = new Float32Array(V * V);
  const w = new Float32Array(V);
  for (let i = 0; i < V; i++) {
    if (!isAnchor[i]) continue;
    let np = 0;
    for (let j = 0; j < V; j++) if (j !== i && labels[j] === labels[i]) { pos[i * V + j] = 1; np++; }
    // An anchor with no positive contributes 0 (PyTorch's code would give NaN; batches here always pair views).
    if (np > 0) { w[i] = 1 / np; }
  }
  return tf.tidy(() => {
    const sim = tf.matMul(z, z, false, true).div(opts.tau);
    const logits = sim.sub(tf.eye(V).mul(BIG));
    const logProb = tf.logSoftmax(logits, 1);
    // -(1/|P(i)|) sum_p log p(i, p), per anchor; then mean over all V rows; then tau/tauBase.
    const perRow = tf.sum(tf.mul(logProb, tf.tensor2d(pos, [V, V])), 1).mul(tf.tensor1d(w));
    return tf.neg(tf.sum(perRow)).div(V).mul(opts.tau / opts.tauBase) as tf.Scalar;
  });
}

export interface IrdOptions {
  /** Temperature of the current model's relations (Co2L: 0.2). */
  readonly kappaStar: number;
  /** Temperature of the frozen previous model's relations (Co2L: 0.01). */
  readonly kappa: number;
}

/**
 * Instance-wise relation distillation: p_ij = softmax_{j != i}(z_i . z_j / temperature) for the
 * current model (kappaStar) and the frozen past model (kappa); L = mean_i sum_{j != i} -p^past_ij log p^cur_ij.
 * `zPast` carries no gradient (the caller computes it outside the tape or it is a constant).
 */
export function ird(zCur: tf.Tensor2D, zPast: tf.Tensor2D, opts: IrdOptions): tf.Scalar {
  const V = zCur.shape[0];
  if (zPast.shape[0] !== V) throw new InputError(`ird: current has ${V} rows, past has ${zPast.shape[0]}`);
  if (!(opts.kappa > 0 && opts.kappaStar > 0)) throw new InputError(`ird: temperatures must be positive, got kappaStar=${opts.kappaStar}, kappa=${opts.kappa}`);
  return tf.tidy(() => {
    const mask = tf.eye(V).mul(BIG);
    const logCur = tf.logSoftmax(tf.matMul(zCur, zCur, false, true).div(opts.kappaStar).sub(mask), 1);
    const pPast = tf.softmax(tf.matMul(zPast, zPast, false, true).div(opts.kappa).sub(mask), 1);
    // The diagonal of pPast is exactly 0 (exp(-1e9)), so it drops out of the sum.
    return tf.neg(tf.mean(tf.sum(tf.mul(pPast, logCur.maximum(-BIG / 10)), 1))) as tf.Scalar;
  });
}

export interface AugmentOptions {
  /** Zero padding of the random crop (pixels). */
  readonly pad: number;
  /** Horizontal flip probability. */
  readonly flipProb: number;
  /** Standard deviation of the additive Gaussian noise. */
  readonly noiseStd: number;
}

export const CO2L_AUGMENT: AugmentOptions = { pad: 2, flipProb: 0.5, noiseStd: 0.05 };

/**
 * One augmented view of `rows` images (h x w x c, flattened) taken from `x` at the given row indices:
 * random crop of the zero-padded image back to h x w, horizontal flip, additive Gaussian noise.
 */
export function augmentBatch(x: Float32Array, idx: ArrayLike<number>, shape: readonly [number, number, number], rng: Rng, opts: AugmentOptions = CO2L_AUGMENT): Float32Array {
  const [h, w, c] = shape;
  const d = h * w * c;
  const n = idx.length;
  const out = new Float32Array(n * d);
  const P = opts.pad;
  for (let r = 0; r < n; r++) {
    const src = idx[r] * d, dst = r * d;
    const oy = rng.int(2 * P + 1) - P, ox = rng.int(2 * P + 1) - P;
    const flip = rng.next() < opts.flipProb;
    for (let yy = 0; yy < h; yy++) {
      const sy = yy + oy;
      if (sy < 0 || sy >= h) continue;
      for (let xx = 0; xx < w; xx++) {
        const sx0 = xx + ox;
        if (sx0 < 0 || sx0 >= w) continue;
        const tx = flip ? w - 1 - xx : xx;
        for (let ch = 0; ch < c; ch++) out[dst + (yy * w + tx) * c + ch] = x[src + (sy * w + sx0) * c + ch];
      }
    }
    if (opts.noiseStd > 0) for (let k = 0; k < d; k++) out[dst + k] = out[dst + k] + opts.noiseStd * rng.normal();
  }
  return out;
}

/**
 * Class-balanced fixed-size buffer (Co2L's rule): after each task keep capacity / seenClasses rows per
 * class, chosen at random (old classes from the previous buffer, new ones from the task's data), the
 * remainder spread one row each over classes in label order. Returns indices into `pool` where
 * `pool` = previous buffer rows followed by the task's rows, with `labels` their labels.
 */
export function balancedBufferIndices(labels: Int32Array, capacity: number, rng: Rng): number[] {
  if (!(Number.isInteger(capacity) && capacity >= 0)) throw new InputError(`buffer capacity must be a non-negative integer, got ${capacity}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    let l = byClass.get(c);
    if (!l) byClass.set(c, (l = []));
    l.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  if (classes.length === 0 || capacity === 0) return [];
  const base = Math.floor(capacity / classes.length);
  let extra = capacity - base * classes.length;
  const out: number[] = [];
  for (const c of classes) {
    const rows = byClass.get(c)!;
    const want = Math.min(rows.length, base + (extra > 0 ? 1 : 0));
    if (extra > 0) extra--;
    const perm = rng.split(`class-${c}`).permutation(rows.length);
    for (let k = 0; k < want; k++) out.push(rows[perm[k]]);
  }
  return out.sort((a, b) => a - b);
}
