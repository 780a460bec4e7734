// Linear mode connectivity (Frankle et al. 2020) beside the matrix-information quantities: train
// pairs of small MLPs, walk the straight line between their weights and measure, at each point,
// train loss, test loss and error, and MIR/HDR between the features of a fixed held-out batch and
// the label-selected head rows. Three kinds of pair per seed: different initialisations; the same
// initialisation with different data orders (spawned at step 0); and the same initialisation with a
// shared warm-up (same order) before the data orders split. The MLP has no batch norm, so there are
// no running statistics to recompute along the path.
import { InputError } from '../core/errors.js';
import { capSize } from '../core/limits.js';
import { withDefaults } from '../core/options.js';
import { progress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { mean, std } from '../core/stats.js';
import { initTf, tf } from '../core/tensor.js';
import { subset, type Dataset } from '../core/data/index.js';
import { paired, type Paired } from './experiments.js';
import { balancedIndices, evalInfo, InfoMlp, supervisedData, trainClassifier, type TrainOptions } from './train.js';

export interface LmcOptions {
  readonly seeds: number;
  readonly seed: number;
  readonly epochs: number;
  /** Epochs of the shared warm-up of the "warm-up" pair (part of `epochs`). */
  readonly warmupEpochs: number;
  /** Points on the path, endpoints included (>= 3). */
  readonly points: number;
  readonly trainSize: number;
  readonly testSize: number;
  /** Rows of the training set the train loss along the path is measured on. */
  readonly trainEvalSize: number;
  readonly hidden: number;
  readonly features: number;
  readonly lr: number;
  /** Held-out rows per class for MIR/HDR (fixed along the path). */
  readonly evalPerClass: number;
  /** A pair counts as linearly connected when its test-error barrier is below this (fixed in advance). */
  readonly connectedBelow: number;
  readonly synthetic: boolean;
}

export const LMC_DEFAULTS: LmcOptions = {
  seeds: 5, seed: 0, epochs: 6, warmupEpochs: 1, points: 11, trainSize: 4000, testSize: 1000, trainEvalSize: 1000,
  hidden: 128, features: 32, lr: 0.03, evalPerClass: 10, connectedBelow: 0.02, synthetic: false,
};
export const LMC_QUICK: Partial<LmcOptions> = { seeds: 2, epochs: 3, trainSize: 2000, testSize: 500, trainEvalSize: 500 };
export const LMC_PAIRS = ['different-init', 'same-init', 'warm-up'] as const;
export type LmcPairKind = (typeof LMC_PAIRS)[number];

export interface PathPoint {
  readonly alpha: number;
  readonly train_loss: number;
  readonly test_loss: number;
  readonly test_error: number;
  readonly mir: number;
  readonly hdr: number;
}

export interface PathSummary {
  /** max over α of f(α) − the chord between the endpoints (≥ 0 up to rounding). */
  readonly train_loss_barrier: number;
  readonly test_loss_barrier: number;
  readonly test_error_barrier: number;
  /** max over α of the chord − MIR(α): how far MIR falls below the straight line. */
  readonly mir_dip: number;
  /** max over α of |HDR(α) − chord|, signed at that α. */
  readonly hdr_excursion: number;
  /** MIR(0.5) − chord, HDR(0.5) − chord (midpoint change). */
  readonly mir_mid_change: number;
  readonly hdr_mid_change: number;
  /** Along the path (interior points): correlation of the train-loss excess with the MIR deficit and with the HDR excess. */
  readonly corr_loss_mir_deficit: number;
  readonly corr_loss_hdr_excess: number;
  /** Whether the largest MIR deficit sits within one point of the largest train-loss excess. */
  readonly mir_dip_at_barrier: boolean;
  readonly connected: boolean;
}

export interface LmcPair extends PathSummary {
  readonly kind: LmcPairKind;
  readonly seed: number;
  readonly path: PathPoint[];
}

export interface LmcResult {
  readonly data: string;
  readonly alphas: number[];
  readonly pairs: LmcPair[];
  /** Per kind: mean and std over seeds of each summary. */
  readonly by_kind: { kind: LmcPairKind; train_loss_barrier: MeanStd; test_error_barrier: MeanStd; mir_dip: MeanStd; hdr_excursion: MeanStd; mir_mid_change: MeanStd; hdr_mid_change: MeanStd; corr_loss_mir_deficit: MeanStd; connected: number }[];
  /** Paired by seed: different-init minus warm-up. */
  readonly diff_different_vs_warmup: { test_error_barrier: Paired; mir_dip: Paired };
  /** The paper's question across all pairs. */
  readonly answer: {
    readonly pairs: number;
    readonly connected: number;
    /** Spearman rank correlation over pairs between the train-loss barrier and the MIR dip (and |HDR excursion|). */
    readonly spearman_barrier_mir_dip: number;
    readonly spearman_barrier_hdr_excursion: number;
    /** Mean over pairs of the along-path correlation (loss excess vs MIR deficit). */
    readonly mean_path_corr_loss_mir: number;
    readonly mean_path_corr_loss_hdr: number;
    /** Fraction of pairs with a positive train-loss barrier (> 0.01) whose MIR dip peaks within one point of it. */
    readonly mir_dip_at_barrier_fraction: number;
    /** ROC AUC of the MIR dip (and |HDR excursion|) as a score for "not connected" (0.5 = chance; NaN if one class is empty). */
    readonly auc_mir_dip_not_connected: number;
    readonly auc_hdr_excursion_not_connected: number;
  };
  readonly connected_below: number;
  readonly epochs: number;
  readonly warmup_epochs: number;
  readonly seeds: number;
}

interface MeanStd { readonly mean: number; readonly std: number }
const ms = (xs: readonly number[]): MeanStd => { const f = xs.filter(Number.isFinite); return { mean: mean(f), std: std(f) }; };

/** Mean softmax cross-entropy and error rate of `model` on `ds` (batched). */
export function lossAndError(model: InfoMlp, ds: Dataset, batch = 1000): { loss: number; error: number } {
  let lossSum = 0, wrong = 0;
  for (let s = 0; s < ds.n; s += batch) {
    const n = Math.min(batch, ds.n - s);
    const x = tf.tensor2d(ds.x.subarray(s * ds.d, (s + n) * ds.d), [n, ds.d]);
    const y = ds.y.subarray(s, s + n);
    const logp = tf.tidy(() => tf.logSoftmax(model.logits(model.features(x))).dataSync());
    x.dispose();
    const C = model.shape.classes;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logp[i * C + c] > logp[i * C + best]) best = c;
      if (best !== y[i]) wrong++;
      lossSum -= logp[i * C + y[i]];
    }
  }
  return { loss: lossSum / ds.n, error: wrong / ds.n };
}

/** Weights (1 − α)·a + α·b, tensor by tensor; α = 0 and α = 1 give a and b exactly. */
export function interpolate(a: readonly Float32Array[], b: readonly Float32Array[], alpha: number): Float32Array[] {
  if (a.length !== b.length) throw new InputError(`interpolate: ${a.length} and ${b.length} tensors`);
  return a.map((t, i) => {
    const u = b[i];
    if (u.length !== t.length) throw new InputError(`interpolate: tensor ${i} has ${t.length} and ${u.length} values`);
    const out = new Float32Array(t.length);
    for (let k = 0; k < t.length; k++) out[k] = (1 - alpha) * t[k] + alpha * u[k];
    return out;
  });
}

export interface PathData { readonly train: Dataset; readonly test: Dataset; readonly evalIdx: ArrayLike<number> }

/** Evaluate `points` equally spaced points on the line from `a` to `b`, loading each into `model`. */
export function evaluatePath(model: InfoMlp, a: readonly Float32Array[], b: readonly Float32Array[], d: PathData, points: number): PathPoint[] {
  if (!(Number.isInteger(points) && points >= 3)) throw new InputError(`lmc: --points must be an integer >= 3 (got ${points})`);
  const out: PathPoint[] = [];
  for (let k = 0; k < points; k++) {
    const alpha = k / (points - 1);
    model.load(interpolate(a, b, alpha));
    const tr = lossAndError(model, d.train), te = lossAndError(model, d.test);
    const info = evalInfo(model, d.test, d.evalIdx);
    out.push({ alpha, train_loss: tr.loss, test_loss: te.loss, test_error: te.error, mir: info.mir, hdr: info.hdr });
  }
  return out;
}

/** Values minus the straight line between the first and last value. */
function excess(v: readonly number[]): number[] {
  const n = v.length - 1;
  return v.map((x, k) => x - ((1 - k / n) * v[0] + (k / n) * v[n]));
}
function argmax(v: readonly number[]): number { let b = 0; v.forEach((x, i) => { if (x > v[b]) b = i; }); return b; }

export function pearson(x: readonly number[], y: readonly number[]): number {
  const keep = x.map((_, i) => i).filter((i) => Number.isFinite(x[i]) && Number.isFinite(y[i]));
  if (keep.length < 3) return NaN;
  const xs = keep.map((i) => x[i]), ys = keep.map((i) => y[i]);
  const mx = mean(xs), my = mean(ys);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < xs.length; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2; syy += (ys[i] - my) ** 2; }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}
function ranks(v: readonly number[]): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
  const r = new Array<number>(v.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) r[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}
export function spearman(x: readonly number[], y: readonly number[]): number {
  const keep = x.map((_, i) => i).filter((i) => Number.isFinite(x[i]) && Number.isFinite(y[i]));
  return pearson(ranks(keep.map((i) => x[i])), ranks(keep.map((i) => y[i])));
}
/** ROC AUC of `score` for the positive class (ties count one half); NaN when a class is empty. */
export function rocAuc(score: readonly number[], positive: readonly boolean[]): number {
  const pos = score.filter((s, i) => positive[i] && Number.isFinite(s)), neg = score.filter((s, i) => !positive[i] && Number.isFinite(s));
  if (pos.length === 0 || neg.length === 0) return NaN;
  let w = 0;
  for (const p of pos) for (const q of neg) w += p > q ? 1 : p === q ? 0.5 : 0;
  return w / (pos.length * neg.length);
}

/** Barriers, MIR/HDR changes and their along-path agreement for one path. */
export function summarisePath(path: readonly PathPoint[], connectedBelow: number): PathSummary {
  const exTrain = excess(path.map((p) => p.train_loss)), exTest = excess(path.map((p) => p.test_loss)), exErr = excess(path.map((p) => p.test_error));
  const mirDef = excess(path.map((p) => p.mir)).map((v) => -v), hdrEx = excess(path.map((p) => p.hdr));
  const mid = (path.length - 1) / 2;
  const at = (v: number[]): number => (Number.isInteger(mid) ? v[mid] : (v[Math.floor(mid)] + v[Math.ceil(mid)]) / 2);
  const interior = (v: number[]): number[] => v.slice(1, -1);
  const hdrArg = argmax(hdrEx.map((v) => (Number.isFinite(v) ? Math.abs(v) : -Infinity)));
  const errBarrier = Math.max(...exErr);
  return {
    train_loss_barrier: Math.max(...exTrain), test_loss_barrier: Math.max(...exTest), test_error_barrier: errBarrier,
    mir_dip: Math.max(...mirDef.map((v) => (Number.isFinite(v) ? v : -Infinity))), hdr_excursion: hdrEx[hdrArg],
    mir_mid_change: -at(mirDef), hdr_mid_change: at(hdrEx),
    corr_loss_mir_deficit: pearson(interior(exTrain), interior(mirDef)), corr_loss_hdr_excess: pearson(interior(exTrain), interior(hdrEx)),
    mir_dip_at_barrier: Math.abs(argmax(mirDef.map((v) => (Number.isFinite(v) ? v : -Infinity))) - argmax(exTrain)) <= 1,
    connected: errBarrier < connectedBelow,
  };
}

/** Train the three pairs of one seed and evaluate their paths. */
async function seedPairs(o: LmcOptions, data: { train: Dataset; test: Dataset; trainEval: Dataset }, s: number, tick: () => void): Promise<LmcPair[]> {
  const rng = new Rng(o.seed + s, 'info-lmc');
  const shape = { input: data.train.d, hidden: o.hidden, features: o.features, classes: data.train.classNames.length };
  const evalIdx = balancedIndices(data.test, o.evalPerClass, rng.split('eval'));
  const base: Partial<TrainOptions> = { lr: o.lr, scheduleEpochs: o.epochs };
  const trainNet = async (init: Rng, order: Rng, from?: readonly Float32Array[], startEpoch = 0, epochs = o.epochs): Promise<Float32Array[]> => {
    const m = new InfoMlp(shape, init);
    if (from) m.load(from);
    await trainClassifier(m, data.train, { ...base, epochs, scheduleStartEpoch: startEpoch }, order, () => tick());
    const w = m.snapshot();
    m.dispose();
    return w;
  };
  const initA = rng.split('init-a'), initB = rng.split('init-b');
  const ends: Record<LmcPairKind, [Float32Array[], Float32Array[]]> = {
    'different-init': [await trainNet(initA.split('x'), rng.split('order-a')), await trainNet(initB.split('x'), rng.split('order-b'))],
    'same-init': [await trainNet(initA.split('x'), rng.split('order-a')), await trainNet(initA.split('x'), rng.split('order-b'))],
    'warm-up': [[], []],
  };
  // Shared warm-up: one run with one order, then two continuations with different orders.
  const w0 = o.warmupEpochs > 0 ? await trainNet(initA.split('x'), rng.split('order-warm'), undefined, 0, o.warmupEpochs) : new InfoMlp(shape, initA.split('x')).snapshot();
  ends['warm-up'] = [
    await trainNet(initA.split('x'), rng.split('order-a'), w0, o.warmupEpochs, o.epochs - o.warmupEpochs),
    await trainNet(initA.split('x'), rng.split('order-b'), w0, o.warmupEpochs, o.epochs - o.warmupEpochs),
  ];
  const probe = new InfoMlp(shape, new Rng(0, 'lmc-probe'));
  const out: LmcPair[] = [];
  try {
    for (const kind of LMC_PAIRS) {
      const path = evaluatePath(probe, ends[kind][0], ends[kind][1], { train: data.trainEval, test: data.test, evalIdx }, o.points);
      out.push({ kind, seed: o.seed + s, path, ...summarisePath(path, o.connectedBelow) });
    }
  } finally {
    probe.dispose();
  }
  return out;
}

export async function runLmc(partial: Partial<LmcOptions> = {}): Promise<LmcResult> {
  const o = withDefaults(LMC_DEFAULTS, partial, 'lmc');
  if (!(o.seeds >= 1 && o.epochs >= 1)) throw new InputError('lmc: need --seeds >= 1 and --epochs >= 1');
  if (!(o.warmupEpochs >= 0 && o.warmupEpochs < o.epochs)) throw new InputError(`lmc: --warmup-epochs must be in 0..${o.epochs - 1} (got ${o.warmupEpochs})`);
  capSize('points', o.points, 1001, 'lmc --points');
  capSize('seeds', o.seeds, 100, 'lmc --seeds');
  await initTf();
  const data = supervisedData({ trainSize: o.trainSize, testSize: o.testSize, synthetic: o.synthetic, seed: o.seed });
  const evalRows = Math.min(o.trainEvalSize, data.train.n);
  const trainEval = subset(data.train, Int32Array.from({ length: evalRows }, (_, i) => i));
  // Epochs trained per seed: two pairs from scratch plus the warm-up and its two continuations.
  const bar = progress('info lmc', o.seeds * (4 * o.epochs + o.warmupEpochs + 2 * (o.epochs - o.warmupEpochs)));
  const pairs: LmcPair[] = [];
  for (let s = 0; s < o.seeds; s++) pairs.push(...await seedPairs(o, { ...data, trainEval }, s, () => bar.tick()));
  bar.done();
  const of = (k: LmcPairKind): LmcPair[] => pairs.filter((p) => p.kind === k);
  const barrier = pairs.map((p) => p.train_loss_barrier);
  const withBarrier = pairs.filter((p) => p.train_loss_barrier > 0.01);
  const notConnected = pairs.map((p) => !p.connected);
  const result: LmcResult = {
    data: data.source, alphas: Array.from({ length: o.points }, (_, k) => k / (o.points - 1)), pairs,
    by_kind: LMC_PAIRS.map((kind) => {
      const ps = of(kind);
      const f = (key: keyof PathSummary): MeanStd => ms(ps.map((p) => p[key] as number));
      return {
        kind, train_loss_barrier: f('train_loss_barrier'), test_error_barrier: f('test_error_barrier'), mir_dip: f('mir_dip'), hdr_excursion: f('hdr_excursion'),
        mir_mid_change: f('mir_mid_change'), hdr_mid_change: f('hdr_mid_change'), corr_loss_mir_deficit: f('corr_loss_mir_deficit'), connected: ps.filter((p) => p.connected).length,
      };
    }),
    diff_different_vs_warmup: {
      test_error_barrier: paired(of('different-init').map((p) => p.test_error_barrier), of('warm-up').map((p) => p.test_error_barrier)),
      mir_dip: paired(of('different-init').map((p) => p.mir_dip), of('warm-up').map((p) => p.mir_dip)),
    },
    answer: {
      pairs: pairs.length, connected: pairs.filter((p) => p.connected).length,
      spearman_barrier_mir_dip: spearman(barrier, pairs.map((p) => p.mir_dip)),
      spearman_barrier_hdr_excursion: spearman(barrier, pairs.map((p) => Math.abs(p.hdr_excursion))),
      mean_path_corr_loss_mir: ms(pairs.map((p) => p.corr_loss_mir_deficit)).mean,
      mean_path_corr_loss_hdr: ms(pairs.map((p) => p.corr_loss_hdr_excess)).mean,
      mir_dip_at_barrier_fraction: withBarrier.length ? withBarrier.filter((p) => p.mir_dip_at_barrier).length / withBarrier.length : NaN,
      auc_mir_dip_not_connected: rocAuc(pairs.map((p) => p.mir_dip), notConnected),
      auc_hdr_excursion_not_connected: rocAuc(pairs.map((p) => Math.abs(p.hdr_excursion)), notConnected),
    },
    connected_below: o.connectedBelow, epochs: o.epochs, warmup_epochs: o.warmupEpochs, seeds: o.seeds,
  };
  explainNonFinite(result);
  return result;
}

const REASONS: Record<string, string> = {
  mir: 'undefined: a feature row of the evaluation batch is all zero (dead ReLUs), so its direction is undefined',
  hdr: 'undefined: a feature row of the evaluation batch is all zero (dead ReLUs), so its direction is undefined',
  auc_mir_dip_not_connected: 'undefined: every pair is connected, or none is',
  auc_hdr_excursion_not_connected: 'undefined: every pair is connected, or none is',
  mir_dip_at_barrier_fraction: 'undefined: no pair has a train-loss barrier above 0.01',
};
/** Give every non-finite number of the result its reason (the record holds none bare). */
function explainNonFinite(v: unknown): void {
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) { v.forEach(explainNonFinite); return; }
  const obj = v as Record<string, unknown>;
  for (const [k, x] of Object.entries(obj)) {
    if (typeof x === 'number' && !Number.isFinite(x)) {
      obj.reasons ??= {};
      (obj.reasons as Record<string, string>)[k] = REASONS[k] ?? 'undefined: too few finite values (a path with undefined MIR/HDR, or a constant series)';
    } else explainNonFinite(x);
  }
}
