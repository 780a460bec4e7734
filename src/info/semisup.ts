// Semi-supervised learning in miniature: FreeMatch (Wang et al., ICLR 2023) as its authors'
// implementation (USB) defines it: a self-adaptive global threshold τ (EMA of the mean max
// confidence of the weak view), local thresholds (τ scaled by the EMA class probability p̃ over its
// maximum), pseudo-labels from a weak view training a strong view, and the self-adaptive fairness
// loss on the confident strong-view predictions (`fairnessLoss`). The information terms of
// 2406.03999 (on labeled rows with true labels and confident unlabeled rows with pseudo-labels)
// go on top as an option. Augmentations are the image-agnostic ones below (shift; shift, cutout,
// contrast and noise), not the paper's crop/flip and RandAugment.
import { InputError } from '../core/errors.js';
import { withDefaults } from '../core/options.js';
import { progress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { mean, std } from '../core/stats.js';
import { initTf, tf } from '../core/tensor.js';
import { subset, type Dataset } from '../core/data/index.js';
import { informationLoss } from './losses.js';
import { paired, type Paired } from './experiments.js';
import { accuracy, balancedIndices, InfoMlp, REAL_IMAGES, supervisedData, type RealImages } from './train.js';

export interface SemisupOptions {
  readonly seeds: number;
  readonly seed: number;
  readonly labelsPerClass: number;
  readonly unlabeled: number;
  readonly testSize: number;
  readonly steps: number;
  readonly batchLabeled: number;
  readonly batchUnlabeled: number;
  readonly lr: number;
  readonly lambdaU: number;
  readonly lambdaMi: number;
  readonly lambdaHd: number;
  /** Weight of the self-adaptive fairness loss (USB's ent_loss_ratio; 0 = the learner without it). */
  readonly lambdaFair: number;
  /** EMA momentum of τ, p̃ and the pseudo-label histogram h̃ (USB: 0.999 over ~10⁶ steps; scaled here to the run length). */
  readonly ema: number;
  /** Real images: Fashion-MNIST or MNIST (ignored with `synthetic`). */
  readonly dataset: RealImages;
  readonly synthetic: boolean;
}

export const SEMISUP_DEFAULTS: SemisupOptions = {
  seeds: 5, seed: 0, labelsPerClass: 10, unlabeled: 4000, testSize: 1000, steps: 600, batchLabeled: 32, batchUnlabeled: 96,
  lr: 1e-3, lambdaU: 1, lambdaMi: 0.1, lambdaHd: 0.1, lambdaFair: 0.01, ema: 0.99, dataset: 'fashion-mnist', synthetic: false,
};
export const SEMISUP_QUICK: Partial<SemisupOptions> = { seeds: 3, steps: 200, unlabeled: 2000 };

export interface SemisupResult {
  readonly data: string;
  readonly labels_per_class: number;
  readonly unlabeled: number;
  readonly variants: { name: string; error: { mean: number; std: number }; mask_rate: { mean: number; std: number }; per_seed_error: number[] }[];
  /** (+info) − baseline error, paired by seed. */
  readonly diff_error: Paired;
  readonly lambda_u: number;
  readonly lambda_fair: number;
  readonly lambda_mi: number;
  readonly lambda_hd: number;
  readonly steps: number;
  readonly seeds: number;
}

/**
 * FreeMatch's self-adaptive fairness loss, as USB's `entropy_loss`: with `probs` the softmax of
 * the strong view on the confident rows, h the histogram of their argmax (normalised), p̃ and h̃
 * the EMA class probability and pseudo-label histogram,
 *   L_f = Σ_c r_c · log(q_c + 1e−12),  r = SumNorm(p̃ / h̃),  q = SumNorm(mean(probs) / h),
 * where 1/0 is replaced by 0 and r and h carry no gradient. Minimising it maximises the cross-entropy
 * between the two modulated distributions, which pushes the batch away from collapsing onto few classes.
 */
export function fairnessLoss(probs: tf.Tensor2D, pModel: ArrayLike<number>, labelHist: ArrayLike<number>): tf.Scalar {
  const [n, C] = probs.shape;
  if (n === 0) throw new InputError('fairnessLoss: no confident rows');
  if (pModel.length !== C || labelHist.length !== C) throw new InputError(`fairnessLoss: ${C} classes but p̃ has ${pModel.length} and h̃ ${labelHist.length}`);
  const p = probs.dataSync();
  const hist = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (p[i * C + c] > p[i * C + best]) best = c;
    hist[best] += 1 / n;
  }
  const inv = (v: number): number => (v > 0 ? 1 / v : 0);
  const r = Float64Array.from(pModel, (v, c) => v * inv(labelHist[c]));
  const rSum = r.reduce((a, b) => a + b, 0);
  const rNorm = Float32Array.from(r, (v) => v / rSum);
  const scale = Float32Array.from(hist, inv);
  return tf.tidy(() => {
    const m = tf.mul(tf.mean(probs, 0), tf.tensor1d(scale));
    const q = tf.div(m, tf.sum(m));
    return tf.sum(tf.mul(tf.tensor1d(rNorm), tf.log(tf.add(q, 1e-12)))) as tf.Scalar;
  });
}

/** Shift by (dx, dy) with zero fill, optional square cutout, additive noise; images are h x w, one channel. */
function augment(x: Float32Array, h: number, w: number, rng: Rng, strength: 'weak' | 'strong'): Float32Array {
  const maxShift = strength === 'weak' ? 2 : 4;
  const dx = rng.int(2 * maxShift + 1) - maxShift, dy = rng.int(2 * maxShift + 1) - maxShift;
  const out = new Float32Array(h * w);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
    const sr = r - dy, sc = c - dx;
    if (sr >= 0 && sr < h && sc >= 0 && sc < w) out[r * w + c] = x[sr * w + sc];
  }
  if (strength === 'strong') {
    const size = Math.floor(h / 3), r0 = rng.int(h - size), c0 = rng.int(w - size);
    for (let r = r0; r < r0 + size; r++) for (let c = c0; c < c0 + size; c++) out[r * w + c] = 0;
    const contrast = rng.uniform(0.6, 1.4);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i] * contrast + 0.15 * rng.normal()));
  } else {
    for (let i = 0; i < out.length; i++) out[i] = out[i] + 0.02 * rng.normal();
  }
  return out;
}

function batchOf(ds: Dataset, idx: ArrayLike<number>, rng: Rng, strength: 'weak' | 'strong' | 'none'): tf.Tensor2D {
  const d = ds.d;
  const [h, w] = ds.shape ? [ds.shape[0], ds.shape[1]] : [0, 0];
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) {
    const row = ds.x.subarray(idx[i] * d, (idx[i] + 1) * d);
    out.set(strength === 'none' || !ds.shape ? row : augment(row, h, w, rng, strength), i * d);
  }
  return tf.tensor2d(out, [idx.length, d]);
}

function selector(rows: readonly number[], n: number): tf.Tensor2D {
  const m = new Float32Array(rows.length * n);
  rows.forEach((r, i) => { m[i * n + r] = 1; });
  return tf.tensor2d(m, [rows.length, n]);
}

export async function runSemisup(partial: Partial<SemisupOptions> = {}): Promise<SemisupResult> {
  const o = withDefaults(SEMISUP_DEFAULTS, partial, 'semisup');
  if (!REAL_IMAGES.includes(o.dataset)) throw new InputError(`semisup: --dataset must be one of ${REAL_IMAGES.join(', ')} (got ${o.dataset})`);
  if (!(o.lambdaU >= 0 && o.lambdaFair >= 0 && o.lambdaMi >= 0 && o.lambdaHd >= 0)) throw new InputError('semisup: the loss weights must be >= 0');
  await initTf();
  const data = supervisedData({ trainSize: o.unlabeled + 10 * o.labelsPerClass, testSize: o.testSize, synthetic: o.synthetic, seed: o.seed, images: true, dataset: o.dataset });
  const C = data.train.classNames.length;
  const bar = progress('info semisup', 2 * o.seeds * o.steps);
  const out: Record<string, { err: number[]; mask: number[] }> = { freematch: { err: [], mask: [] }, 'freematch+info': { err: [], mask: [] } };
  for (const variant of ['freematch', 'freematch+info'] as const) {
    const info = variant === 'freematch+info' ? informationLoss({ lambdaMi: o.lambdaMi, lambdaHd: o.lambdaHd }) : null;
    for (let s = 0; s < o.seeds; s++) {
      const rng = new Rng(o.seed + s, 'info-semisup');
      const labeledIdx = balancedIndices(data.train, o.labelsPerClass, rng.split('labeled'));
      const isLabeled = new Set(labeledIdx);
      const unl = Int32Array.from({ length: data.train.n }, (_, i) => i).filter((i) => !isLabeled.has(i));
      const L = subset(data.train, labeledIdx), U = subset(data.train, unl);
      const model = new InfoMlp({ input: data.train.d, hidden: 256, features: 64, classes: C }, rng.split('init'));
      const opt = tf.train.adam(o.lr);
      const aug = rng.split('augment'), draw = rng.split('batches');
      // USB's initial state: τ = 1/C, p̃ = h̃ = uniform.
      let tau = 1 / C;
      const pTilde = new Float64Array(C).fill(1 / C), hTilde = new Float64Array(C).fill(1 / C);
      let maskRate = 0;
      for (let step = 0; step < o.steps; step++) {
        const li = Int32Array.from({ length: o.batchLabeled }, () => draw.int(L.n));
        const ui = Int32Array.from({ length: o.batchUnlabeled }, () => draw.int(U.n));
        const ly = Int32Array.from(li, (r) => L.y[r]);
        const xl = batchOf(L, li, aug, 'weak'), xw = batchOf(U, ui, aug, 'weak'), xs = batchOf(U, ui, aug, 'strong');
        // Pseudo-labels from the weak view, outside the gradient.
        const probs = tf.tidy(() => tf.softmax(model.logits(model.features(xw))).dataSync());
        const pseudo = new Int32Array(ui.length), conf = new Float64Array(ui.length);
        const meanP = new Float64Array(C), hist = new Float64Array(C);
        for (let i = 0; i < ui.length; i++) {
          let best = 0;
          for (let c = 0; c < C; c++) { const p = probs[i * C + c]; meanP[c] += p / ui.length; if (p > probs[i * C + best]) best = c; }
          pseudo[i] = best; conf[i] = probs[i * C + best]; hist[best] += 1 / ui.length;
        }
        tau = o.ema * tau + (1 - o.ema) * mean(Array.from(conf));
        for (let c = 0; c < C; c++) { pTilde[c] = o.ema * pTilde[c] + (1 - o.ema) * meanP[c]; hTilde[c] = o.ema * hTilde[c] + (1 - o.ema) * hist[c]; }
        const maxP = Math.max(...pTilde);
        const mask = new Float32Array(ui.length);
        const confident: number[] = [];
        for (let i = 0; i < ui.length; i++) if (conf[i] >= tau * (pTilde[pseudo[i]] / maxP)) { mask[i] = 1; confident.push(i); }
        maskRate = confident.length / ui.length;
        const tl = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(ly, 'int32'), C), 'float32'));
        const tu = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(pseudo, 'int32'), C), 'float32'));
        const mt = tf.tensor1d(mask);
        const selU = confident.length > 0 && (info || o.lambdaFair > 0) ? selector(confident, ui.length) : null;
        const loss = opt.minimize(() => {
          const fl = model.features(xl);
          const fs = model.features(xs);
          const ls = model.logits(fs);
          const sup = tf.losses.softmaxCrossEntropy(tl, model.logits(fl));
          const perRow = tf.losses.softmaxCrossEntropy(tu, ls, undefined, undefined, tf.Reduction.NONE);
          let l = tf.add(sup, tf.mul(o.lambdaU, tf.mean(tf.mul(perRow, mt)))) as tf.Scalar;
          if (selU && o.lambdaFair > 0) l = tf.add(l, tf.mul(o.lambdaFair, fairnessLoss(tf.softmax(tf.matMul(selU, ls)) as tf.Tensor2D, pTilde, hTilde))) as tf.Scalar;
          if (info) {
            // Labeled rows with their labels plus confident unlabeled (strong view) rows with pseudo-labels.
            const f = selU ? tf.concat([fl, tf.matMul(selU, fs)], 0) as tf.Tensor2D : fl;
            const yAll = selU ? Int32Array.from([...ly, ...confident.map((i) => pseudo[i])]) : ly;
            const V = tf.matMul(tf.cast(tf.oneHot(tf.tensor1d(yAll, 'int32'), C), 'float32') as tf.Tensor2D, model.Wh) as tf.Tensor2D;
            l = tf.add(l, info(f, V).loss) as tf.Scalar;
          }
          return l;
        }, true, model.parameters());
        tf.dispose([loss!, xl, xw, xs, tl, tu, mt, ...(selU ? [selU] : [])]);
        bar.tick();
      }
      opt.dispose();
      out[variant].err.push(1 - accuracy(model, data.test));
      out[variant].mask.push(maskRate);
      model.dispose();
    }
  }
  bar.done();
  const ms = (xs: number[]): { mean: number; std: number } => ({ mean: mean(xs), std: std(xs) });
  return {
    data: data.source, labels_per_class: o.labelsPerClass, unlabeled: data.train.n - 10 * o.labelsPerClass, seeds: o.seeds, steps: o.steps,
    lambda_u: o.lambdaU, lambda_fair: o.lambdaFair, lambda_mi: o.lambdaMi, lambda_hd: o.lambdaHd,
    variants: Object.entries(out).map(([name, r]) => ({ name, error: ms(r.err), mask_rate: ms(r.mask), per_seed_error: r.err })),
    diff_error: paired(out['freematch+info'].err, out.freematch!.err),
  };
}
