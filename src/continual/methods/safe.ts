// SAFE (Zhao et al., NeurIPS 2024): a slow learner (session-1 PET trained with cross-entropy plus a
// transfer loss towards the frozen backbone, then frozen) and a fast learner (a PET copy trained in
// every later session with cross-entropy, feature alignment to the slow learner and
// cross-classification), each with its own RanPAC ridge head and projection; predictions mix the
// two branches' logits with entropy weights. Reports `safe` (aggregate), `safe-slow`, `safe-fast`
// from one run, and `safe-valsel` (branch or aggregate picked on validation, the released code's
// switch done without test data). With `oracleDiagnostic`, also `safe-fast-oracle` /
// `safe-oracle`: the fast head refitted on all seen training rows with the current fast features —
// a diagnostic of feature drift that replays past data, not a continual-learning method.
import type { Dataset } from '../../core/data/dataset.js';
import { InputError } from '../../core/errors.js';
import { hash32 } from '../../core/rng.js';
import { tf } from '../../core/tensor.js';
import type { PetOptions } from '../backbones/types.js';
import { frozenFeatures } from '../feature-cache.js';
import { AnalyticRidgeHead, argmaxRows, entropyAggregate, type FeatureRows } from '../heads.js';
import { cloneParams, disposeParams, getParamValues, setParams, type Params } from '../nn.js';
import {
  checkTrainOptions, cloneCosineHead, cosineLogits, createCosineHead, disposeCosineHead, extractFeatures, initRowsFromMeans,
  l2normalize, trainPet, type BatchContext, type CosineHead, type TrainOptions,
} from '../pet-train.js';
import { RidgeBranch } from './ridge-branch.js';
import { checkKnown } from './ranpac.js';
import type { ContinualLearner, LearnerCheckpoint, LearnerContext, SessionData } from './types.js';

export interface SafeOptions {
  readonly pet: PetOptions;
  readonly trainFirst: Partial<TrainOptions>;
  readonly trainLater: Partial<TrainOptions>;
  /** Random projection size of both branches' ridge heads. */
  readonly M: number;
  /** Transfer loss weights (diagonal towards 1, off-diagonal towards 0). */
  readonly lambdaDiag: number;
  readonly lambdaRdn: number;
  /** How features are normalised for the cross-correlation: per feature over the batch (Barlow Twins) or per sample (released code). */
  readonly transferNorm: 'batch' | 'sample';
  /** Fast learner: weight of the summed (1 - cos) alignment to the slow features. */
  readonly lambdaCos: number;
  /** Fast learner: weight of the cross-classification terms. */
  readonly lambdaCc: number;
  /** Aggregation grids, searched on validation data of the seen classes. */
  readonly gammaGrid: readonly number[];
  readonly logitScaleGrid: readonly number[];
  /** Share projection and statistics between branches (released code) instead of one head per branch. */
  readonly sharedAnalyticHead: boolean;
  readonly oracleDiagnostic: boolean;
}

export const SAFE_DEFAULTS: SafeOptions = {
  pet: { ssf: true },
  trainFirst: {},
  trainLater: { epochs: 3 },
  M: 2048,
  lambdaDiag: 0.01,
  lambdaRdn: 5e-5,
  transferNorm: 'batch',
  lambdaCos: 0.5,
  lambdaCc: 1,
  gammaGrid: [1, 0, 0.5, 2, 5, 10],
  logitScaleGrid: [1, 10, 30, 100],
  sharedAnalyticHead: false,
  oracleDiagnostic: false,
};

function standardise(f: tf.Tensor, mode: 'batch' | 'sample'): tf.Tensor {
  if (mode === 'sample') return l2normalize(f, -1);
  const { mean, variance } = tf.moments(f, 0, true);
  return f.sub(mean).div(tf.sqrt(variance.add(1e-5)));
}

/** SAFE's transfer loss: C = (1/B) Zs^T Zt; lambdaDiag * sum (C_ii - 1)^2 + lambdaRdn * sum_{i != j} C_ij^2. */
export function transferLoss(fs: tf.Tensor2D, ft: tf.Tensor2D, o: { lambdaDiag: number; lambdaRdn: number; transferNorm: 'batch' | 'sample' }): tf.Scalar {
  return tf.tidy(() => {
    const b = fs.shape[0];
    const c = tf.matMul(standardise(fs, o.transferNorm), standardise(ft, o.transferNorm), true, false).div(b);
    const d = fs.shape[1];
    const eye = tf.eye(d);
    const diag = c.mul(eye).sum(1);
    const onDiag = diag.sub(1).square().sum();
    const off = c.mul(tf.onesLike(eye).sub(eye)).square().sum();
    return onDiag.mul(o.lambdaDiag).add(off.mul(o.lambdaRdn)) as tf.Scalar;
  });
}

type Valsel = 'safe' | 'safe-slow' | 'safe-fast';

export class Safe implements ContinualLearner {
  readonly name = 'safe';
  readonly outputs: readonly string[];
  readonly options: SafeOptions;
  private readonly trainFirst: TrainOptions;
  private readonly trainLater: TrainOptions;
  private readonly slowPet: Params;
  private fastPet: Params | null = null;
  private slowHead: CosineHead | null = null;
  private fastHead: CosineHead | null = null;
  private readonly slowBranch: RidgeBranch;
  private readonly fastBranch: RidgeBranch;
  private agg = { gamma: 1, logitScale: 1 };
  private valsel: Valsel = 'safe';
  private readonly diag: Record<string, unknown>[] = [];
  private lastW: Float64Array | null = null;
  private readonly pastTrain: Dataset[] = [];
  private oracleHead: AnalyticRidgeHead | null = null;
  private sessionIndex = -1;

  constructor(private readonly ctx: LearnerContext, options: Partial<SafeOptions> = {}) {
    checkKnown(options, SAFE_DEFAULTS, 'safe');
    this.options = { ...SAFE_DEFAULTS, ...options };
    if (!['batch', 'sample'].includes(this.options.transferNorm)) throw new InputError(`safe.transferNorm must be "batch" or "sample", got ${JSON.stringify(this.options.transferNorm)}`);
    this.trainFirst = checkTrainOptions(this.options.trainFirst, 'safe.trainFirst');
    this.trainLater = checkTrainOptions({ ...SAFE_DEFAULTS.trainLater, ...this.options.trainLater }, 'safe.trainLater');
    this.outputs = ['safe', 'safe-slow', 'safe-fast', 'safe-valsel', ...(this.options.oracleDiagnostic ? ['safe-fast-oracle', 'safe-oracle'] : [])];
    this.slowPet = ctx.backbone.createPet(this.options.pet, ctx.rng.split('pet'));
    const d = ctx.backbone.featureDim;
    this.slowBranch = new RidgeBranch(d, this.options.M, hash32(`projection:${ctx.seed}`), ctx.numClasses);
    this.fastBranch = this.options.sharedAnalyticHead ? this.slowBranch : new RidgeBranch(d, this.options.M, hash32(`projection-fast:${ctx.seed}`), ctx.numClasses);
  }

  async fitSession(s: SessionData): Promise<void> {
    const { backbone } = this.ctx;
    const t = s.info.index;
    this.sessionIndex = t;
    const info: Record<string, unknown> = { session: t };
    if (t === 0) {
      // Slow learner: CE + transfer loss towards the frozen backbone's features, then frozen.
      this.slowHead = createCosineHead(this.ctx.numClasses, backbone.featureDim);
      initRowsFromMeans(this.slowHead, frozenFeatures(backbone, s.train, null), s.train.y, s.info.newIds);
      const o = this.options;
      const useTransfer = o.lambdaDiag > 0 || o.lambdaRdn > 0;
      info.slowLoss = trainPet({
        backbone, pet: this.slowPet, head: this.slowHead, data: s.train, seen: s.info.seen, options: this.trainFirst,
        rng: this.ctx.rng.split('slow'), label: 'safe slow learner',
        extraLoss: useTransfer ? (b: BatchContext) => transferLoss(b.f, backbone.forward(b.x, { pet: null }), o) : undefined,
      });
      this.fastPet = cloneParams(this.slowPet);
      this.fastHead = cloneCosineHead(this.slowHead);
    } else {
      info.fastLoss = this.trainFast(s);
    }
    const slowF = frozenFeatures(backbone, s.train, this.slowPet);
    info.lambdaSlow = this.slowBranch.update(slowF, s.train.y, this.ctx.rng.split(`lambda-split-slow-${t}`));
    if (this.fastBranch !== this.slowBranch) {
      const fastF = t === 0 ? slowF : extractFeatures(backbone, s.train, this.fastPet);
      info.lambdaFast = this.fastBranch.update(fastF, s.train.y, this.ctx.rng.split(`lambda-split-fast-${t}`));
    }
    if (this.options.oracleDiagnostic) this.refitOracle(s);
    this.chooseAggregation(s, info);
    this.diag.push(info);
  }

  private trainFast(s: SessionData): number[] {
    const { backbone } = this.ctx;
    const fastPet = this.fastPet!, fastHead = this.fastHead!, slowHead = this.slowHead!;
    const o = this.options;
    const prevSeen = s.info.seen - s.info.newIds.length;
    const slowClasses = this.firstSessionClasses;
    // New rows start from the fast features' class means (zero rows have no cosine direction).
    initRowsFromMeans(fastHead, extractFeatures(backbone, s.train, fastPet), s.train.y, s.info.newIds);
    const slowOld = tf.tidy(() => slowHead.weight.slice([0, 0], [slowClasses, -1]));
    const oldIdsSlow = tf.range(0, slowClasses, 1, 'int32');
    const oldIdsFast = tf.range(0, prevSeen, 1, 'int32');
    try {
      return trainPet({
        backbone, pet: fastPet, head: fastHead, data: s.train, seen: s.info.seen, options: this.trainLater,
        rng: this.ctx.rng.split(`fast-${s.info.index}`), label: `safe fast learner, session ${s.info.index + 1}`,
        extraLoss: (b: BatchContext) => {
          const fSlow = backbone.forward(b.x, { pet: this.slowPet });
          const cosSim = tf.sum(l2normalize(b.f).mul(l2normalize(fSlow)), 1);
          let loss = tf.sum(tf.sub(1, cosSim)).mul(o.lambdaCos);
          if (o.lambdaCc > 0) {
            const seen = s.info.seen;
            // The fast head must classify the slow learner's old-class rows and features ...
            const inF = tf.concat([slowOld, fSlow], 0);
            const yF = tf.concat([oldIdsSlow, b.y], 0);
            const ceF = tf.losses.softmaxCrossEntropy(tf.oneHot(yF, seen), cosineLogits(fastHead, inF, seen));
            // ... and the slow head the fast learner's old-class rows and features.
            const fastOld = fastHead.weight.slice([0, 0], [prevSeen, -1]);
            const inS = tf.concat([fastOld, b.f], 0);
            const yS = tf.concat([oldIdsFast, b.y], 0);
            const ceS = tf.losses.softmaxCrossEntropy(tf.oneHot(yS, seen), cosineLogits(slowHead, inS, seen));
            loss = loss.add(ceF.add(ceS).mul(o.lambdaCc));
          }
          return loss as tf.Scalar;
        },
      });
    } finally {
      slowOld.dispose();
      oldIdsSlow.dispose();
      oldIdsFast.dispose();
    }
  }

  private firstSessionClasses = 0;

  private refitOracle(s: SessionData): void {
    this.pastTrain.push(s.train);
    const head = new AnalyticRidgeHead(this.fastBranch.proj.outDim, this.ctx.numClasses);
    for (const ds of this.pastTrain) head.accumulate(this.fastBranch.proj.apply(this.fastFeatures(ds)), ds.y);
    head.solve(this.fastBranch.head.lambda!);
    this.oracleHead = head;
  }

  private fastFeatures(x: Dataset): FeatureRows {
    return this.sessionIndex === 0 ? frozenFeatures(this.ctx.backbone, x, this.slowPet) : extractFeatures(this.ctx.backbone, x, this.fastPet);
  }

  private branchLogits(x: Dataset, seen: number): { slow: Float32Array; fast: Float32Array; fastF: FeatureRows } {
    const slowF = frozenFeatures(this.ctx.backbone, x, this.slowPet);
    const fastF = this.fastFeatures(x);
    return { slow: this.slowBranch.logits(slowF, seen), fast: this.fastBranch.logits(fastF, seen), fastF };
  }

  private chooseAggregation(s: SessionData, info: Record<string, unknown>): void {
    if (s.info.index === 0) this.firstSessionClasses = s.info.seen;
    const seen = s.info.seen;
    const v = s.valSeen;
    const { slow, fast } = this.branchLogits(v, seen);
    const acc = (z: Float32Array): number => {
      const p = argmaxRows(z, v.n, seen);
      let c = 0;
      for (let i = 0; i < v.n; i++) if (p[i] === v.y[i]) c++;
      return c / v.n;
    };
    let best = { gamma: this.options.gammaGrid[0]!, logitScale: this.options.logitScaleGrid[0]!, acc: -1 };
    for (const logitScale of this.options.logitScaleGrid) {
      for (const gamma of this.options.gammaGrid) {
        const a = acc(entropyAggregate(fast, slow, v.n, seen, { gamma, logitScale }).logits);
        if (a > best.acc) best = { gamma, logitScale, acc: a };
      }
    }
    this.agg = { gamma: best.gamma, logitScale: best.logitScale };
    const cand: [Valsel, number][] = [['safe', best.acc], ['safe-slow', acc(slow)], ['safe-fast', acc(fast)]];
    this.valsel = cand.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    info.aggregation = { ...this.agg, valAcc: { aggregate: best.acc, slow: cand[1]![1], fast: cand[2]![1] }, valsel: this.valsel };
  }

  predict(x: Dataset, seen: number): Map<string, Float32Array> {
    const { slow, fast, fastF } = this.branchLogits(x, seen);
    const { logits, wFast } = entropyAggregate(fast, slow, x.n, seen, this.agg);
    this.lastW = wFast;
    const out = new Map<string, Float32Array>([['safe', logits], ['safe-slow', slow], ['safe-fast', fast]]);
    out.set('safe-valsel', out.get(this.valsel)!);
    if (this.options.oracleDiagnostic && this.oracleHead) {
      const zo = this.oracleHead.logits(this.fastBranch.proj.apply(fastF), seen);
      out.set('safe-fast-oracle', zo);
      out.set('safe-oracle', entropyAggregate(zo, slow, x.n, seen, this.agg).logits);
    }
    return out;
  }

  rowStatistics(): Record<string, Float64Array> {
    return this.lastW ? { wFast: this.lastW } : {};
  }

  diagnostics(): Record<string, unknown> { return { sessions: this.diag.slice() }; }

  checkpoint(): LearnerCheckpoint {
    const arrays: LearnerCheckpoint['arrays'] = new Map();
    const put = (prefix: string, p: Params | null): void => {
      if (p) for (const [k, v] of getParamValues(p)) arrays.set(`${prefix}.${k}`, { shape: [...v.shape], data: v.data });
    };
    put('slowPet', this.slowPet);
    put('fastPet', this.fastPet);
    for (const [name, h] of [['slowHead', this.slowHead], ['fastHead', this.fastHead]] as const) {
      if (h) {
        arrays.set(`${name}.weight`, { shape: [...h.weight.shape], data: h.weight.dataSync().slice() as Float32Array });
        arrays.set(`${name}.scale`, { shape: [1], data: h.scale.dataSync().slice() as Float32Array });
      }
    }
    const slow = this.slowBranch.state('branch.slow', arrays);
    const fast = this.fastBranch !== this.slowBranch ? this.fastBranch.state('branch.fast', arrays) : null;
    if (this.options.oracleDiagnostic) throw new InputError('safe: checkpoints are not supported with oracleDiagnostic (it keeps past training data)');
    return { meta: { slow, fast, agg: this.agg, valsel: this.valsel, diag: this.diag, firstSessionClasses: this.firstSessionClasses, sessionIndex: this.sessionIndex }, arrays };
  }

  restore(c: LearnerCheckpoint): void {
    const take = (prefix: string): Map<string, { shape: number[]; data: Float32Array }> => {
      const m = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [k, v] of c.arrays) if (k.startsWith(prefix + '.')) m.set(k.slice(prefix.length + 1), { shape: v.shape, data: Float32Array.from(v.data) });
      return m;
    };
    setParams(this.slowPet, take('slowPet'));
    const fast = take('fastPet');
    if (fast.size) { this.fastPet = cloneParams(this.slowPet); setParams(this.fastPet, fast); }
    for (const name of ['slowHead', 'fastHead'] as const) {
      const w = c.arrays.get(`${name}.weight`);
      if (!w) continue;
      const h = createCosineHead(this.ctx.numClasses, this.ctx.backbone.featureDim);
      h.weight.assign(tf.tensor(Float32Array.from(w.data), w.shape));
      h.scale.assign(tf.scalar(c.arrays.get(`${name}.scale`)!.data[0]!));
      if (name === 'slowHead') this.slowHead = h; else this.fastHead = h;
    }
    const m = c.meta as { slow: Record<string, unknown>; fast: Record<string, unknown> | null; agg: { gamma: number; logitScale: number }; valsel: Valsel; diag: Record<string, unknown>[]; firstSessionClasses: number; sessionIndex: number };
    this.slowBranch.restore('branch.slow', m.slow, c.arrays);
    if (m.fast && this.fastBranch !== this.slowBranch) this.fastBranch.restore('branch.fast', m.fast, c.arrays);
    this.agg = m.agg;
    this.valsel = m.valsel;
    this.diag.splice(0, this.diag.length, ...m.diag);
    this.firstSessionClasses = m.firstSessionClasses;
    this.sessionIndex = m.sessionIndex;
  }

  describe(): Record<string, unknown> { return { method: 'safe', ...this.options, trainFirst: this.trainFirst, trainLater: this.trainLater }; }

  dispose(): void {
    disposeParams(this.slowPet);
    if (this.fastPet) disposeParams(this.fastPet);
    if (this.slowHead) disposeCosineHead(this.slowHead);
    if (this.fastHead) disposeCosineHead(this.fastHead);
  }
}
