// The supervised miniatures: training dynamics with and without the information loss (A3),
// label smoothing (A6) and magnitude pruning with fine-tuning (A7). Each reports means and
// spreads over seeds with the plain cross-entropy baseline beside the variants.
import { InputError } from '../core/errors.js';
import { withDefaults } from '../core/options.js';
import { progress } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { mean, std, t975 } from '../core/stats.js';
import { initTf, tf } from '../core/tensor.js';
import { measureFeatures } from './metrics.js';
import { accuracy, balancedIndices, featureMatrix, InfoMlp, InfoTracker, supervisedData, trainClassifier, type SupervisedData, type TrainOptions } from './train.js';

export interface SupervisedOptions {
  readonly seeds: number;
  readonly seed: number;
  readonly epochs: number;
  readonly trainSize: number;
  readonly testSize: number;
  readonly hidden: number;
  readonly features: number;
  readonly synthetic: boolean;
  /** Information-loss weights for the "+info" variant (fixed, not tuned on test). */
  readonly lambdaMi: number;
  readonly lambdaHd: number;
  /** Evaluation batch: this many held-out samples per class, fixed across epochs. */
  readonly evalPerClass: number;
  readonly lr: number;
}

export const SUPERVISED_DEFAULTS: SupervisedOptions = {
  seeds: 5, seed: 0, epochs: 12, trainSize: 6000, testSize: 2000, hidden: 128, features: 32, synthetic: false,
  lambdaMi: 0.1, lambdaHd: 0.1, evalPerClass: 10, lr: 0.03,
};
export const SUPERVISED_QUICK: Partial<SupervisedOptions> = { seeds: 3, epochs: 5, trainSize: 2000, testSize: 1000 };

export function supervisedOptions(partial: Partial<SupervisedOptions>): SupervisedOptions {
  const o = withDefaults(SUPERVISED_DEFAULTS, partial, 'supervised');
  if (!(o.seeds >= 1 && o.epochs >= 1)) throw new InputError('need seeds >= 1 and epochs >= 1');
  return Object.freeze(o);
}

export interface Band { readonly mean: number[]; readonly std: number[] }
function band(perSeed: number[][]): Band {
  const T = perSeed[0].length;
  const col = (t: number): number[] => perSeed.map((r) => r[t]).filter((v) => Number.isFinite(v));
  return { mean: Array.from({ length: T }, (_, t) => mean(col(t))), std: Array.from({ length: T }, (_, t) => std(col(t))) };
}

export interface Paired { readonly mean: number; readonly std: number; readonly ci95: [number, number]; readonly n: number; readonly reasons?: { ci95?: string; mean?: string } }
/** Mean paired difference (a - b, per seed) with a Student-t 95% interval (NaN bounds for one pair). */
export function paired(a: readonly number[], b: readonly number[]): Paired {
  if (a.length !== b.length) throw new InputError(`paired: ${a.length} and ${b.length} values`);
  const d = a.map((v, i) => v - b[i]).filter((v) => Number.isFinite(v));
  const t = d.length > 1 ? t975(d.length - 1) : NaN;
  const m = mean(d), s = std(d), h = d.length > 1 ? (t * s) / Math.sqrt(d.length) : NaN;
  const reasons = d.length === 0 ? { ci95: 'no finite pair', mean: 'no finite pair' } : d.length === 1 ? { ci95: 'one pair: no interval' } : null;
  return { mean: m, std: s, ci95: [m - h, m + h], n: d.length, ...(reasons ? { reasons } : {}) };
}

export interface VariantCurves {
  readonly name: string;
  readonly test_acc: Band;
  readonly mir: Band;
  readonly hdr: Band;
  readonly final_acc: number[];
  readonly final_mir: number[];
  readonly final_hdr: number[];
}

async function runVariant(data: SupervisedData, o: SupervisedOptions, name: string, train: Partial<TrainOptions>, bar: { tick(): void }): Promise<VariantCurves> {
  const acc: number[][] = [], mirs: number[][] = [], hdrs: number[][] = [];
  for (let s = 0; s < o.seeds; s++) {
    const rng = new Rng(o.seed + s, 'info-supervised');
    const evalIdx = balancedIndices(data.test, o.evalPerClass, rng.split('eval'));
    const model = new InfoMlp({ input: data.train.d, hidden: o.hidden, features: o.features, classes: data.train.classNames.length }, rng.split('init'));
    const tracker = new InfoTracker({ evalBatches: evalIdx, every: 1 });
    await trainClassifier(model, data.train, { epochs: o.epochs, lr: o.lr, ...train }, rng.split('order'), (st) => {
      tracker.maybe(model, data.test, st.epoch);
      bar.tick();
    });
    model.dispose();
    acc.push(tracker.log.map((e) => e.accuracy)); mirs.push(tracker.log.map((e) => e.mir)); hdrs.push(tracker.log.map((e) => e.hdr));
  }
  return { name, test_acc: band(acc), mir: band(mirs), hdr: band(hdrs), final_acc: acc.map((r) => r.at(-1)!), final_mir: mirs.map((r) => r.at(-1)!), final_hdr: hdrs.map((r) => r.at(-1)!) };
}

export interface DynamicsResult {
  readonly data: string;
  readonly epochs: number[];
  readonly variants: VariantCurves[];
  /** +info minus plain CE, final test accuracy, paired by seed. */
  readonly acc_diff: Paired;
  readonly lambda_mi: number;
  readonly lambda_hd: number;
  readonly seeds: number;
}

/** A3: accuracy, MIR and HDR per epoch for plain CE and CE + information loss, over seeds. */
export async function runDynamics(partial: Partial<SupervisedOptions> = {}): Promise<DynamicsResult> {
  const o = supervisedOptions(partial);
  await initTf();
  const data = supervisedData({ trainSize: o.trainSize, testSize: o.testSize, synthetic: o.synthetic, seed: o.seed });
  const bar = progress('info dynamics', 2 * o.seeds * o.epochs);
  const ce = await runVariant(data, o, 'ce', {}, bar);
  const info = await runVariant(data, o, 'ce+info', { lambdaMi: o.lambdaMi, lambdaHd: o.lambdaHd }, bar);
  bar.done();
  return {
    data: data.source, epochs: Array.from({ length: o.epochs }, (_, i) => i + 1), variants: [ce, info],
    acc_diff: paired(info.final_acc, ce.final_acc), lambda_mi: o.lambdaMi, lambda_hd: o.lambdaHd, seeds: o.seeds,
  };
}

export interface LabelSmoothingResult {
  readonly data: string;
  readonly eps: number[];
  readonly variants: VariantCurves[];
  /** Each ε > 0 minus ε = 0, paired by seed: accuracy, MIR, HDR at the end. */
  readonly diffs: { eps: number; acc: Paired; mir: Paired; hdr: Paired }[];
  readonly seeds: number;
}

/** A6: label smoothing ε ∈ {0, 0.1, 0.2}; accuracy, MIR and HDR with paired differences to ε = 0. */
export async function runLabelSmoothing(partial: Partial<SupervisedOptions> = {}, eps: readonly number[] = [0, 0.1, 0.2]): Promise<LabelSmoothingResult> {
  const o = supervisedOptions(partial);
  if (eps[0] !== 0) throw new InputError('label smoothing: the first ε must be 0 (the baseline)');
  await initTf();
  const data = supervisedData({ trainSize: o.trainSize, testSize: o.testSize, synthetic: o.synthetic, seed: o.seed });
  const bar = progress('info label-smoothing', eps.length * o.seeds * o.epochs);
  const variants: VariantCurves[] = [];
  for (const e of eps) variants.push(await runVariant(data, o, `eps=${e}`, { labelSmoothing: e }, bar));
  bar.done();
  const base = variants[0];
  return {
    data: data.source, eps: [...eps], variants, seeds: o.seeds,
    diffs: variants.slice(1).map((v, i) => ({ eps: eps[i + 1], acc: paired(v.final_acc, base.final_acc), mir: paired(v.final_mir, base.final_mir), hdr: paired(v.final_hdr, base.final_hdr) })),
  };
}

export interface PruningResult {
  readonly data: string;
  readonly sparsity: number[];
  /** Accuracy of the dense model, per seed. */
  readonly dense_acc: number[];
  /** Per sparsity: accuracy after fine-tuning and MIR between features before and after pruning (mean, std over seeds). */
  readonly acc: { mean: number; std: number }[];
  readonly acc_no_finetune: { mean: number; std: number }[];
  readonly mir_before_after: { mean: number; std: number }[];
  readonly hdr_before_after: { mean: number; std: number }[];
  readonly finetune_epochs: number;
  readonly seeds: number;
}

function magnitudeMask(w: tf.Variable, sparsity: number): tf.Tensor2D {
  const v = w.dataSync();
  const mags = Float64Array.from(v, Math.abs).sort();
  const k = Math.floor(sparsity * mags.length);
  const thr = k > 0 ? mags[k - 1] : -1;
  const m = new Float32Array(v.length);
  let kept = 0;
  for (let i = 0; i < v.length; i++) if (Math.abs(v[i]) > thr) { m[i] = 1; kept++; }
  void kept;
  return tf.tensor2d(m, w.shape as [number, number]);
}

/** A7: magnitude pruning (per layer, W1 and W2) to each sparsity plus fine-tuning; MIR between the features before and after. */
export async function runPruning(partial: Partial<SupervisedOptions> = {}, sparsity: readonly number[] = [0.5, 0.7, 0.9], finetuneEpochs = 2): Promise<PruningResult> {
  const o = supervisedOptions(partial);
  await initTf();
  const data = supervisedData({ trainSize: o.trainSize, testSize: o.testSize, synthetic: o.synthetic, seed: o.seed });
  const bar = progress('info pruning', o.seeds * (o.epochs + sparsity.length * finetuneEpochs));
  const dense: number[] = [];
  const accs = sparsity.map(() => [] as number[]), accs0 = sparsity.map(() => [] as number[]);
  const mirs = sparsity.map(() => [] as number[]), hdrs = sparsity.map(() => [] as number[]);
  for (let s = 0; s < o.seeds; s++) {
    const rng = new Rng(o.seed + s, 'info-supervised');
    const evalIdx = balancedIndices(data.test, o.evalPerClass, rng.split('eval'));
    const model = new InfoMlp({ input: data.train.d, hidden: o.hidden, features: o.features, classes: data.train.classNames.length }, rng.split('init'));
    await trainClassifier(model, data.train, { epochs: o.epochs, lr: o.lr }, rng.split('order'), () => bar.tick());
    dense.push(accuracy(model, data.test));
    const before = featureMatrix(model, data.test, evalIdx);
    const snap = model.snapshot();
    for (let k = 0; k < sparsity.length; k++) {
      model.load(snap);
      model.masks = { W1: magnitudeMask(model.W1, sparsity[k]), W2: magnitudeMask(model.W2, sparsity[k]) };
      accs0[k].push(accuracy(model, data.test));
      await trainClassifier(model, data.train, { epochs: finetuneEpochs, lr: o.lr / 3 }, rng.split(`finetune-${k}`), () => bar.tick());
      accs[k].push(accuracy(model, data.test));
      const after = featureMatrix(model, data.test, evalIdx);
      try {
        const m = measureFeatures(before, after);
        mirs[k].push(m.mir!); hdrs[k].push(m.hdr!);
      } catch { mirs[k].push(NaN); hdrs[k].push(NaN); }
      tf.dispose([model.masks.W1, model.masks.W2]);
      model.masks = null;
    }
    model.dispose();
  }
  bar.done();
  const ms = (xs: number[]): { mean: number; std: number } => ({ mean: mean(xs.filter(Number.isFinite)), std: std(xs.filter(Number.isFinite)) });
  return {
    data: data.source, sparsity: [...sparsity], dense_acc: dense, acc: accs.map(ms), acc_no_finetune: accs0.map(ms),
    mir_before_after: mirs.map(ms), hdr_before_after: hdrs.map(ms), finetune_epochs: finetuneEpochs, seeds: o.seeds,
  };
}
