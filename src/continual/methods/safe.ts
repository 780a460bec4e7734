// SAFE (Zhao et al., NeurIPS 2024): a slow learner (session-1 PET trained with cross-entropy plus a
// transfer loss towards the frozen backbone, then frozen) and a fast learner (a PET copy trained in
// every later session with cross-entropy, feature alignment to the slow learner and
// cross-classification), each with its own RanPAC ridge head and projection; predictions mix the
// two branches' logits with entropy weights. Reports `safe` (aggregate), `safe-slow`, `safe-fast`
// from one run, and `safe-valsel` (branch or aggregate picked on validation, the released code's
// switch done without test data). With `oracleDiagnostic`, also `safe-fast-oracle` /
// `safe-oracle`: the fast head refitted on all seen training rows with the current fast features —
// a diagnostic of feature drift that replays past data, not a continual-learning method.
// With `driftCompensation`, also `safe-dc` / `safe-fast-dc`: the fast head rebuilt each session from
// per-class feature moments carried through an affine drift map fitted on the session's own rows
// (no replay; see drift.ts), and the ablation `safe-fast-gauss` (same rebuild, moments not carried).
import type { Dataset } from '../../core/data/dataset.js';
import { InputError } from '../../core/errors.js';
import { hash32 } from '../../core/rng.js';
import { tf } from '../../core/tensor.js';
import type { PetOptions } from '../backbones/types.js';
import { frozenFeatures } from '../feature-cache.js';
import { AnalyticRidgeHead, argmaxRows, entropyAggregate, type FeatureRows } from '../heads.js';
import { assignValues, cloneParams, disposeParams, getParamValues, setParams, type Params } from '../../core/nn.js';
import {
  checkTrainOptions, cloneCosineHead, cosineLogits, createCosineHead, disposeCosineHead, extractFeatures, initRowsFromMeans,
  l2normalize, labelCrossEntropy, trainPet, type BatchContext, type CosineHead, type TrainOptions,
} from '../pet-train.js';
import { RidgeBranch } from '../parts/ridge-branch.js';
import { checkKnown } from './ranpac.js';
import { ClassMoments, accumulateFromMoments, fitDriftMap } from '../parts/drift.js';
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
  /** Add the drift-compensated fast head (`safe-dc`, `safe-fast-dc`) and its ablation (`safe-fast-gauss`). */
  readonly driftCompensation: boolean;
  /** Gaussian draws per old class when rebuilding the projected ridge statistics from moments. */
  readonly dcSamplesPerClass: number;
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
  driftCompensation: false,
  dcSamplesPerClass: 512,
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
  // Drift compensation: moments carried through the drift maps (dc) and as learned (raw, ablation).
  private momDc: ClassMoments | null = null;
  private momRaw: ClassMoments | null = null;
  private dcHead: AnalyticRidgeHead | null = null;
  private gaussHead: AnalyticRidgeHead | null = null;
  private aggDc = { gamma: 1, logitScale: 1 };

  constructor(private readonly ctx: LearnerContext, options: Partial<SafeOptions> = {}) {
    checkKnown(options, SAFE_DEFAULTS, 'safe');
    this.options = { ...SAFE_DEFAULTS, ...options };
    if (!['batch', 'sample'].includes(this.options.transferNorm)) throw new InputError(`safe.transferNorm must be "batch" or "sample", got ${JSON.stringify(this.options.transferNorm)}`);
    this.trainFirst = checkTrainOptions(this.options.trainFirst, 'safe.trainFirst');
    this.trainLater = checkTrainOptions({ ...SAFE_DEFAULTS.trainLater, ...this.options.trainLater }, 'safe.trainLater');
    this.outputs = [
      'safe', 'safe-slow', 'safe-fast', 'safe-valsel',
      ...(this.options.driftCompensation ? ['safe-dc', 'safe-fast-dc', 'safe-fast-gauss'] : []),
      ...(this.options.oracleDiagnostic ? ['safe-fast-oracle', 'safe-oracle'] : []),
    ];
    if (!(Number.isInteger(this.options.dcSamplesPerClass) && this.options.dcSamplesPerClass > 0)) throw new InputError(`safe.dcSamplesPerClass must be a positive integer, got ${this.options.dcSamplesPerClass}`);
    if (this.options.driftCompensation && this.options.sharedAnalyticHead) throw new InputError('safe: driftCompensation needs a separate fast head (sharedAnalyticHead: false)');
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
    }
    const preF = t > 0 ? extractFeatures(backbone, s.train, this.fastPet) : null;
    if (t > 0) info.fastLoss = this.trainFast(s, preF!);
    const slowF = frozenFeatures(backbone, s.train, this.slowPet);
    info.lambdaSlow = this.slowBranch.update(slowF, s.train.y, this.ctx.rng.split(`lambda-split-slow-${t}`));
    if (this.fastBranch !== this.slowBranch) {
      const fastF = t === 0 ? slowF : extractFeatures(backbone, s.train, this.fastPet);
      info.lambdaFast = this.fastBranch.update(fastF, s.train.y, this.ctx.rng.split(`lambda-split-fast-${t}`));
      if (this.options.driftCompensation) this.updateDriftCompensation(s, preF, fastF, info);
    }
    if (this.options.oracleDiagnostic) this.refitOracle(s);
    this.chooseAggregation(s, info);
    this.diag.push(info);
  }

  /**
   * Carry the old classes' fast-feature moments through the drift map fitted on this session's rows
   * (features before vs after this session's fast training), store the new classes' moments, and
   * rebuild the fast ridge statistics: actual rows for the new classes, moments for the old ones.
   */
  private updateDriftCompensation(s: SessionData, preF: FeatureRows | null, fastF: FeatureRows, info: Record<string, unknown>): void {
    const t0 = performance.now();
    const d = this.ctx.backbone.featureDim, C = this.ctx.numClasses;
    this.momDc ??= new ClassMoments(d, C);
    this.momRaw ??= new ClassMoments(d, C);
    const old = Array.from({ length: s.info.seen - s.info.newIds.length }, (_, c) => c);
    if (preF) {
      const map = fitDriftMap(preF, fastF);
      this.momDc.transport(map, old);
      info.driftResidualShare = map.residualShare;
    }
    this.momDc.set(fastF, s.train.y);
    this.momRaw.set(fastF, s.train.y);
    if (s.info.index === 0) { this.dcHead = null; this.gaussHead = null; info.dcSeconds = (performance.now() - t0) / 1000; return; }
    const proj = this.fastBranch.proj;
    const hNew = proj.apply(fastF);
    const build = (mom: ClassMoments): AnalyticRidgeHead => {
      const head = new AnalyticRidgeHead(proj.outDim, C);
      head.accumulate(hNew, s.train.y);
      // The same draws for both heads (one stream name), so dc and its ablation differ only by the transport.
      accumulateFromMoments(head, proj, mom, old, this.options.dcSamplesPerClass, this.ctx.rng.split(`dc-samples-${s.info.index}`));
      head.solve(this.fastBranch.head.lambda!);
      return head;
    };
    this.dcHead = build(this.momDc);
    this.gaussHead = build(this.momRaw);
    info.dcSeconds = (performance.now() - t0) / 1000;
  }

  private trainFast(s: SessionData, preF: FeatureRows): number[] {
    const { backbone } = this.ctx;
    const fastPet = this.fastPet!, fastHead = this.fastHead!, slowHead = this.slowHead!;
    const o = this.options;
    const prevSeen = s.info.seen - s.info.newIds.length;
    const slowClasses = this.firstSessionClasses;
    // New rows start from the fast features' class means (zero rows have no cosine direction).
    initRowsFromMeans(fastHead, preF, s.train.y, s.info.newIds);
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
            const ceF = labelCrossEntropy(yF, seen, cosineLogits(fastHead, inF, seen));
            // ... and the slow head the fast learner's old-class rows and features.
            const fastOld = fastHead.weight.slice([0, 0], [prevSeen, -1]);
            const inS = tf.concat([fastOld, b.f], 0);
            const yS = tf.concat([oldIdsFast, b.y], 0);
            const ceS = labelCrossEntropy(yS, seen, cosineLogits(slowHead, inS, seen));
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

  /** The drift-compensated fast logits and the ablation's (the plain fast logits before session 2). */
  private dcLogits(x: Dataset, seen: number, fast: Float32Array): { dc: Float32Array; gauss: Float32Array } {
    if (!this.dcHead || !this.gaussHead) return { dc: fast, gauss: fast };
    const h = this.fastBranch.proj.apply(this.fastFeatures(x));
    return { dc: this.dcHead.logits(h, seen), gauss: this.gaussHead.logits(h, seen) };
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
    let best = { gamma: this.options.gammaGrid[0], logitScale: this.options.logitScaleGrid[0], acc: -1 };
    for (const logitScale of this.options.logitScaleGrid) {
      for (const gamma of this.options.gammaGrid) {
        const a = acc(entropyAggregate(fast, slow, v.n, seen, { gamma, logitScale }).logits);
        if (a > best.acc) best = { gamma, logitScale, acc: a };
      }
    }
    this.agg = { gamma: best.gamma, logitScale: best.logitScale };
    const cand: [Valsel, number][] = [['safe', best.acc], ['safe-slow', acc(slow)], ['safe-fast', acc(fast)]];
    this.valsel = cand.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    info.aggregation = { ...this.agg, valAcc: { aggregate: best.acc, slow: cand[1][1], fast: cand[2][1] }, valsel: this.valsel };
    if (this.options.driftCompensation) {
      const { dc } = this.dcLogits(v, seen, fast);
      let bestDc = { gamma: this.options.gammaGrid[0], logitScale: this.options.logitScaleGrid[0], acc: -1 };
      for (const logitScale of this.options.logitScaleGrid) {
        for (const gamma of this.options.gammaGrid) {
          const a = acc(entropyAggregate(dc, slow, v.n, seen, { gamma, logitScale }).logits);
          if (a > bestDc.acc) bestDc = { gamma, logitScale, acc: a };
        }
      }
      this.aggDc = { gamma: bestDc.gamma, logitScale: bestDc.logitScale };
      info.aggregationDc = { ...this.aggDc, valAcc: { aggregate: bestDc.acc, fast: acc(dc) } };
    }
  }

  predict(x: Dataset, seen: number): Map<string, Float32Array> {
    const { slow, fast, fastF } = this.branchLogits(x, seen);
    const { logits, wFast } = entropyAggregate(fast, slow, x.n, seen, this.agg);
    this.lastW = wFast;
    const out = new Map<string, Float32Array>([['safe', logits], ['safe-slow', slow], ['safe-fast', fast]]);
    out.set('safe-valsel', out.get(this.valsel)!);
    if (this.options.driftCompensation) {
      const { dc, gauss } = this.dcLogits(x, seen, fast);
      out.set('safe-fast-dc', dc);
      out.set('safe-fast-gauss', gauss);
      out.set('safe-dc', entropyAggregate(dc, slow, x.n, seen, this.aggDc).logits);
    }
    if (this.options.oracleDiagnostic && this.oracleHead) {
      const zo = this.oracleHead.logits(this.fastBranch.proj.apply(fastF), seen);
      out.set('safe-fast-oracle', zo);
      out.set('safe-oracle', entropyAggregate(zo, slow, x.n, seen, this.agg).logits);
    }
    return out;
  }

  readonly statisticOutputs = { wFast: 'safe' } as const;

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
    const dc: Record<string, unknown> = { aggDc: this.aggDc };
    for (const [name, m] of [['momDc', this.momDc], ['momRaw', this.momRaw]] as const) {
      if (!m) continue;
      arrays.set(`${name}.counts`, { shape: [m.numClasses], data: m.counts });
      arrays.set(`${name}.means`, { shape: [m.numClasses, m.d], data: m.means });
      arrays.set(`${name}.covs`, { shape: [m.numClasses, m.d, m.d], data: m.covs });
    }
    for (const [name, h] of [['dcHead', this.dcHead], ['gaussHead', this.gaussHead]] as const) {
      if (!h) continue;
      arrays.set(`${name}.G`, { shape: [h.dim, h.dim], data: h.G.data });
      arrays.set(`${name}.Q`, { shape: [h.dim, h.numClasses], data: h.Q.data });
      dc[`${name}Lambda`] = h.lambda;
    }
    return { meta: { slow, fast, agg: this.agg, valsel: this.valsel, diag: this.diag, firstSessionClasses: this.firstSessionClasses, sessionIndex: this.sessionIndex, dc }, arrays };
  }

  restore(c: LearnerCheckpoint): void {
    const take = (prefix: string): Map<string, { shape: number[]; data: Float32Array }> => {
      const m = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [k, v] of c.arrays) if (k.startsWith(prefix + '.')) m.set(k.slice(prefix.length + 1), { shape: v.shape, data: Float32Array.from(v.data) });
      return m;
    };
    setParams(this.slowPet, take('slowPet'));
    const fast = take('fastPet');
    if (fast.size) {
      if (this.fastPet) disposeParams(this.fastPet);
      const p = cloneParams(this.slowPet);
      setParams(p, fast);
      this.fastPet = p;
    }
    for (const name of ['slowHead', 'fastHead'] as const) {
      const w = c.arrays.get(`${name}.weight`);
      if (!w) continue;
      const h = createCosineHead(this.ctx.numClasses, this.ctx.backbone.featureDim);
      assignValues(h.weight, Float32Array.from(w.data), w.shape);
      assignValues(h.scale, Float32Array.from(c.arrays.get(`${name}.scale`)!.data.subarray(0, 1)), []);
      const old = name === 'slowHead' ? this.slowHead : this.fastHead;
      if (old) disposeCosineHead(old);
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
    const dc = (c.meta as { dc?: Record<string, unknown> }).dc;
    if (dc) {
      this.aggDc = dc.aggDc as { gamma: number; logitScale: number };
      const d = this.ctx.backbone.featureDim, C = this.ctx.numClasses;
      for (const name of ['momDc', 'momRaw'] as const) {
        const counts = c.arrays.get(`${name}.counts`);
        if (!counts) continue;
        const mom = new ClassMoments(d, C);
        mom.counts.set(counts.data);
        mom.means.set(c.arrays.get(`${name}.means`)!.data);
        mom.covs.set(c.arrays.get(`${name}.covs`)!.data);
        if (name === 'momDc') this.momDc = mom; else this.momRaw = mom;
      }
      for (const name of ['dcHead', 'gaussHead'] as const) {
        const G = c.arrays.get(`${name}.G`);
        if (!G) continue;
        const h = new AnalyticRidgeHead(this.fastBranch.proj.outDim, C);
        h.G.data.set(G.data);
        h.Q.data.set(c.arrays.get(`${name}.Q`)!.data);
        h.solve(dc[`${name}Lambda`] as number);
        if (name === 'dcHead') this.dcHead = h; else this.gaussHead = h;
      }
    }
  }

  describe(): Record<string, unknown> { return { method: 'safe', ...this.options, trainFirst: this.trainFirst, trainLater: this.trainLater }; }

  dispose(): void {
    disposeParams(this.slowPet);
    if (this.fastPet) disposeParams(this.fastPet);
    if (this.slowHead) disposeCosineHead(this.slowHead);
    if (this.fastHead) disposeCosineHead(this.fastHead);
  }
}
