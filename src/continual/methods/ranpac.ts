// RanPAC (McDonnell et al., NeurIPS 2023): phase 1 trains a PET module and a cosine head on the
// first session only, then freezes them; phase 2, every session, projects features with a fixed
// random ReLU map to M dimensions, accumulates G = H^T H and Q = H^T Y, chooses the ridge lambda on
// an 80/20 split of the session's training features and solves by Cholesky. One learner reports
// several projection sizes from the same phase-1 model (default: `ranpac` M=2048, `ranpac-m0` M=0).
import { checkOptionKeys } from '../../core/options.js';
import type { Dataset } from '../../core/data/dataset.js';
import { InputError } from '../../core/errors.js';
import { hash32 } from '../../core/rng.js';
import type { PetOptions } from '../backbones/types.js';
import { frozenFeatures } from '../feature-cache.js';
import { getParamValues, setParams, disposeParams, type Params } from '../../core/nn.js';
import { checkTrainOptions, createCosineHead, disposeCosineHead, initRowsFromMeans, trainPet, type TrainOptions } from '../pet-train.js';
import { RidgeBranch } from '../parts/ridge-branch.js';
import type { ContinualLearner, LearnerCheckpoint, LearnerContext, SessionData } from './types.js';

export interface RanpacOptions {
  readonly pet: PetOptions;
  readonly train: Partial<TrainOptions>;
  /** Output name -> projection size M (0: ridge on the raw features). */
  readonly projections: Readonly<Record<string, number>>;
  /** Skip phase 1 (no PET tuning): ridge on the plain frozen backbone. */
  readonly firstSessionAdaptation: boolean;
}

export const RANPAC_DEFAULTS: RanpacOptions = {
  pet: { ssf: true },
  train: {},
  projections: { ranpac: 2048, 'ranpac-m0': 0 },
  firstSessionAdaptation: true,
};

/** An unknown option key is an error naming the learner, the key and the known ones (core's check). */
export function checkKnown(o: object, defaults: object, where: string): void {
  checkOptionKeys(o, Object.keys(defaults), where);
}

export class Ranpac implements ContinualLearner {
  readonly name = 'ranpac';
  readonly outputs: readonly string[];
  readonly options: RanpacOptions;
  private readonly train: TrainOptions;
  private readonly pet: Params;
  private readonly branches = new Map<string, RidgeBranch>();
  private readonly diag: Record<string, unknown>[] = [];

  constructor(private readonly ctx: LearnerContext, options: Partial<RanpacOptions> = {}) {
    checkKnown(options, RANPAC_DEFAULTS, 'ranpac');
    this.options = { ...RANPAC_DEFAULTS, ...options };
    this.train = checkTrainOptions(this.options.train, 'ranpac.train');
    this.outputs = Object.keys(this.options.projections);
    if (this.outputs.length === 0) throw new InputError('ranpac.projections must name at least one output');
    this.pet = ctx.backbone.createPet(this.options.pet, ctx.rng.split('pet'));
    for (const [name, M] of Object.entries(this.options.projections)) {
      this.branches.set(name, new RidgeBranch(ctx.backbone.featureDim, M, hash32(`projection:${ctx.seed}`), ctx.numClasses));
    }
  }

  async fitSession(s: SessionData): Promise<void> {
    const { backbone } = this.ctx;
    const t = s.info.index;
    let losses: number[] = [];
    if (t === 0 && this.options.firstSessionAdaptation && this.pet.size > 0) {
      const head = createCosineHead(this.ctx.numClasses, backbone.featureDim);
      initRowsFromMeans(head, frozenFeatures(backbone, s.train, null), s.train.y, s.info.newIds);
      losses = trainPet({ backbone, pet: this.pet, head, data: s.train, seen: s.info.seen, options: this.train, rng: this.ctx.rng.split('phase1'), label: 'ranpac phase 1' });
      disposeCosineHead(head);
    }
    const feats = frozenFeatures(backbone, s.train, this.activePet());
    const lambdas: Record<string, number> = {};
    for (const [name, b] of this.branches) lambdas[name] = b.update(feats, s.train.y, this.ctx.rng.split(`lambda-split-${t}`));
    this.diag.push({ session: t, lambda: lambdas, ...(losses.length ? { phase1Loss: losses } : {}) });
  }

  private activePet(): Params | null {
    return this.options.firstSessionAdaptation && this.pet.size > 0 ? this.pet : null;
  }

  predict(x: Dataset, seen: number): Map<string, Float32Array> {
    const feats = frozenFeatures(this.ctx.backbone, x, this.activePet());
    const out = new Map<string, Float32Array>();
    for (const [name, b] of this.branches) out.set(name, b.logits(feats, seen));
    return out;
  }

  diagnostics(): Record<string, unknown> { return { sessions: this.diag.slice() }; }

  checkpoint(): LearnerCheckpoint {
    const arrays: LearnerCheckpoint['arrays'] = new Map();
    for (const [k, v] of getParamValues(this.pet)) arrays.set(`pet.${k}`, { shape: [...v.shape], data: v.data });
    const branches: Record<string, unknown> = {};
    for (const [name, b] of this.branches) branches[name] = b.state(`branch.${name}`, arrays);
    return { meta: { branches, diag: this.diag }, arrays };
  }

  restore(c: LearnerCheckpoint): void {
    const pet = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, v] of c.arrays) if (k.startsWith('pet.')) pet.set(k.slice(4), { shape: v.shape, data: Float32Array.from(v.data) });
    setParams(this.pet, pet);
    const metas = c.meta.branches as Record<string, Record<string, unknown>>;
    for (const [name, b] of this.branches) b.restore(`branch.${name}`, metas[name], c.arrays);
    this.diag.splice(0, this.diag.length, ...(c.meta.diag as Record<string, unknown>[]));
  }

  describe(): Record<string, unknown> { return { method: 'ranpac', ...this.options, train: this.train }; }

  dispose(): void { disposeParams(this.pet); }
}
