// Training a PET module and a cosine head on top of a frozen backbone: the one training loop the
// methods share (RanPAC phase 1, SAFE's slow and fast learners, backbone pretraining). Extra loss
// terms are passed in as functions, so the loop reads top to bottom for every method.
import { checkOptionKeys } from '../core/options.js';
import { tf } from '../core/tensor.js';
import { InputError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { Dataset } from '../core/data/dataset.js';
import { progress } from '../core/progress.js';
import type { Backbone } from './backbones/types.js';
import { Sgd, assignValues, cloneVariable, cosineLr, cosineLogits as cosineLogitsOf, disposeGrads, l2normalize, lossAndGrads, softmaxCrossEntropy, variable, type Params } from '../core/nn.js';
import type { FeatureRows } from './heads.js';

export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

export const DEFAULT_TRAIN: TrainOptions = { epochs: 5, batchSize: 48, lr: 0.01, momentum: 0.9, weightDecay: 5e-4 };

const TRAIN_KEYS = Object.keys(DEFAULT_TRAIN);
export function checkTrainOptions(o: Partial<TrainOptions>, where: string): TrainOptions {
  checkOptionKeys(o, TRAIN_KEYS, where);
  const r = { ...DEFAULT_TRAIN, ...o };
  if (!Number.isInteger(r.epochs) || r.epochs < 0) throw new InputError(`${where}.epochs must be a non-negative integer, got ${r.epochs}`);
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) throw new InputError(`${where}.batchSize must be a positive integer, got ${r.batchSize}`);
  if (!(r.lr > 0)) throw new InputError(`${where}.lr must be positive, got ${r.lr}`);
  return r;
}

/** A cosine classifier: logits = scale * cos(f, w_c); rows for classes not yet trained are zero. */
export interface CosineHead {
  readonly weight: tf.Variable;
  readonly scale: tf.Variable;
}

export function createCosineHead(numClasses: number, dim: number, scaleInit = 10): CosineHead {
  return {
    weight: variable('cosine.weight', [numClasses, dim], new Float32Array(numClasses * dim)),
    scale: variable('cosine.scale', [], new Float32Array([scaleInit])),
  };
}

export function cloneCosineHead(h: CosineHead): CosineHead {
  return { weight: cloneVariable(h.weight), scale: cloneVariable(h.scale) };
}

export function disposeCosineHead(h: CosineHead): void {
  h.weight.dispose();
  h.scale.dispose();
}

export { l2normalize };

/** Cosine logits over classes [0, seen): inputs [N, d] -> [N, seen] (core/nn's fused kernel where it runs). */
export function cosineLogits(head: CosineHead, f: tf.Tensor, seen: number, weight: tf.Tensor = head.weight): tf.Tensor2D {
  return cosineLogitsOf(f, weight, head.scale, seen);
}

/** Mean softmax cross-entropy of logits [N, seen] against integer labels y (one kernel each way on wasm). */
export function labelCrossEntropy(y: tf.Tensor, seen: number, logits: tf.Tensor): tf.Scalar {
  // A cast, not oneHot's dtype argument: the wasm OneHot kernel writes int32 values whatever the dtype.
  return softmaxCrossEntropy(tf.cast(tf.oneHot(y, seen), 'float32'), logits);
}

/** Initialise head rows of `ids` to the normalised class means of `feats` (rows that start at zero learn slowly under cosine). */
export function initRowsFromMeans(head: CosineHead, feats: FeatureRows, y: Int32Array, ids: readonly number[]): void {
  const d = feats.d;
  const w = head.weight.dataSync().slice() as Float32Array;
  for (const c of ids) {
    const m = new Float64Array(d);
    let n = 0;
    for (let i = 0; i < feats.n; i++) if (y[i] === c) { n++; for (let k = 0; k < d; k++) m[k] += feats.x[i * d + k]; }
    if (n === 0) continue;
    let nn = 0;
    for (let k = 0; k < d; k++) nn += m[k] ** 2;
    const inv = 1 / Math.max(Math.sqrt(nn), 1e-12);
    for (let k = 0; k < d; k++) w[c * d + k] = m[k] * inv;
  }
  assignValues(head.weight, w);
}

export interface BatchContext {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor1D;
  /** Features of the batch under the PET being trained. */
  readonly f: tf.Tensor2D;
  readonly logits: tf.Tensor2D;
}

export interface TrainSpec {
  readonly backbone: Backbone;
  /** PET parameters being trained (may be empty: head only). */
  readonly pet: Params;
  readonly head: CosineHead;
  /** Train the backbone's own weights too (pretraining). */
  readonly trainBackbone?: boolean;
  readonly data: Dataset;
  /** Logits cover classes [0, seen). */
  readonly seen: number;
  readonly options: TrainOptions;
  /** Extra loss terms added to cross-entropy (each gets the batch context). */
  readonly extraLoss?: (ctx: BatchContext) => tf.Scalar;
  readonly rng: Rng;
  readonly label: string;
}

/** Mini-batch SGD with momentum and a cosine schedule; returns the mean loss per epoch. */
export function trainPet(spec: TrainSpec): number[] {
  const { backbone, pet, head, data, seen, options: o } = spec;
  const vars: tf.Variable[] = [...pet.values()].filter((v) => v.trainable);
  vars.push(head.weight, head.scale);
  if (spec.trainBackbone) vars.push(...[...backbone.params.values()].filter((v) => v.trainable));
  const opt = new Sgd({ lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  const steps = Math.ceil(data.n / o.batchSize);
  const total = steps * o.epochs;
  const prog = progress(spec.label, total);
  const losses: number[] = [];
  let step = 0;
  try {
    for (let e = 0; e < o.epochs; e++) {
      const perm = spec.rng.split(`epoch-${e}`).permutation(data.n);
      let sum = 0;
      for (let s = 0; s < steps; s++) {
        const idx = perm.subarray(s * o.batchSize, Math.min(data.n, (s + 1) * o.batchSize));
        const xb = new Float32Array(idx.length * data.d), yb = new Int32Array(idx.length);
        for (let i = 0; i < idx.length; i++) { xb.set(data.x.subarray(idx[i] * data.d, (idx[i] + 1) * data.d), i * data.d); yb[i] = data.y[idx[i]]; }
        const x = tf.tensor2d(xb, [idx.length, data.d]);
        const y = tf.tensor1d(yb, 'int32');
        const { loss, grads } = lossAndGrads(() => {
          const f = backbone.forward(x, { pet, training: spec.trainBackbone ?? false });
          const logits = cosineLogits(head, f, seen);
          let l = labelCrossEntropy(y, seen, logits);
          if (spec.extraLoss) l = l.add(spec.extraLoss({ x, y, f, logits })) as tf.Scalar;
          return l;
        }, vars);
        if (!Number.isFinite(loss)) throw new InputError(`${spec.label}: loss became ${loss} at epoch ${e}; lower the learning rate`);
        opt.step(grads, cosineLr(o.lr, step, total));
        backbone.commitBatchStats?.();
        disposeGrads(grads);
        x.dispose();
        y.dispose();
        sum += loss;
        step++;
        prog.tick();
      }
      losses.push(sum / steps);
    }
  } finally {
    opt.dispose();
    prog.done(losses.length ? `loss ${losses[losses.length - 1].toFixed(3)}` : undefined);
  }
  return losses;
}

/** Features of all rows under a PET (or the plain backbone), in chunks. */
export function extractFeatures(backbone: Backbone, data: { x: Float32Array; n: number; d: number }, pet: Params | null, chunk = 1000): FeatureRows {
  const out = new Float32Array(data.n * backbone.featureDim);
  for (let s = 0; s < data.n; s += chunk) {
    const m = Math.min(chunk, data.n - s);
    const f = tf.tidy(() => backbone.forward(tf.tensor2d(data.x.subarray(s * data.d, (s + m) * data.d), [m, data.d]), { pet }));
    out.set(f.dataSync() as Float32Array, s * backbone.featureDim);
    f.dispose();
  }
  return { x: out, n: data.n, d: backbone.featureDim };
}
