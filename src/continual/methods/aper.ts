// APER (Zhou et al., "Revisiting class-incremental learning with pre-trained models: generalizability
// and adaptivity are all you need", IJCV 2024; called ADAM in its first version): in the first
// session only, a parameter-efficient module (SSF by default) is tuned with a cosine head on that
// session's data, then frozen; every session then adds class prototypes (SimpleCIL's rule: mean
// embedding, cosine) on the concatenation [frozen backbone features; adapted features]. The frozen
// half keeps the pretrained model's generalisation, the adapted half the first session's domain.
// `aper-adapted` (prototypes on the adapted features alone) is reported beside it as the ablation
// that separates the concatenation from the adaptation.
import type { Dataset } from '../../core/data/dataset.js';
import { InputError } from '../../core/errors.js';
import { disposeParams, getParamValues, setParams, type Params } from '../../core/nn.js';
import type { PetOptions } from '../backbones/types.js';
import { frozenFeatures } from '../feature-cache.js';
import { PrototypeHead, type FeatureRows } from '../heads.js';
import { checkTrainOptions, createCosineHead, disposeCosineHead, initRowsFromMeans, trainPet, type TrainOptions } from '../pet-train.js';
import { checkKnown } from './ranpac.js';
import type { ContinualLearner, LearnerCheckpoint, LearnerContext, SessionData } from './types.js';

export interface AperOptions {
  /** The PET module tuned in the first session (the paper's variants: adapter, SSF, VPT; SSF here as in RanPAC and SAFE). */
  readonly pet: PetOptions;
  readonly train: Partial<TrainOptions>;
}

export const APER_DEFAULTS: AperOptions = { pet: { ssf: true }, train: {} };

/** Row-wise concatenation [a | b] of two feature sets of the same rows. */
export function concatFeatures(a: FeatureRows, b: FeatureRows): FeatureRows {
  if (a.n !== b.n) throw new InputError(`concatFeatures: ${a.n} and ${b.n} rows`);
  const d = a.d + b.d;
  const x = new Float32Array(a.n * d);
  for (let i = 0; i < a.n; i++) {
    x.set(a.x.subarray(i * a.d, (i + 1) * a.d), i * d);
    x.set(b.x.subarray(i * b.d, (i + 1) * b.d), i * d + a.d);
  }
  return { x, n: a.n, d };
}

export class Aper implements ContinualLearner {
  readonly name = 'aper';
  readonly outputs = ['aper', 'aper-adapted'] as const;
  readonly options: AperOptions;
  private readonly train: TrainOptions;
  private readonly pet: Params;
  private readonly head: PrototypeHead;
  private readonly adaptedHead: PrototypeHead;
  private adapted = false;
  private readonly diag: Record<string, unknown>[] = [];

  constructor(private readonly ctx: LearnerContext, options: Partial<AperOptions> = {}) {
    checkKnown(options, APER_DEFAULTS, 'aper');
    this.options = { ...APER_DEFAULTS, ...options };
    this.train = checkTrainOptions(this.options.train, 'aper.train');
    this.pet = ctx.backbone.createPet(this.options.pet, ctx.rng.split('pet'));
    if (this.pet.size === 0) throw new InputError('aper: options.pet enables no PET module; APER needs one to adapt (SimpleCIL is APER without it)');
    this.head = new PrototypeHead(2 * ctx.backbone.featureDim, ctx.numClasses);
    this.adaptedHead = new PrototypeHead(ctx.backbone.featureDim, ctx.numClasses);
  }

  /** [frozen; adapted] features of `ds` (both halves cached: the PET no longer changes after session 1). */
  features(ds: Dataset): FeatureRows {
    if (!this.adapted) throw new InputError('aper: no session fitted yet');
    const { backbone } = this.ctx;
    return concatFeatures(frozenFeatures(backbone, ds, null), frozenFeatures(backbone, ds, this.pet));
  }

  async fitSession(s: SessionData): Promise<void> {
    const { backbone } = this.ctx;
    const info: Record<string, unknown> = { session: s.info.index };
    if (!this.adapted) {
      const head = createCosineHead(this.ctx.numClasses, backbone.featureDim);
      try {
        initRowsFromMeans(head, frozenFeatures(backbone, s.train, null), s.train.y, s.info.newIds);
        info.adaptLoss = trainPet({ backbone, pet: this.pet, head, data: s.train, seen: s.info.seen, options: this.train, rng: this.ctx.rng.split('adapt'), label: 'aper adaptation' });
      } finally {
        // The cosine head only serves the tuning; prediction uses prototypes.
        disposeCosineHead(head);
      }
      this.adapted = true;
    }
    this.head.accumulate(this.features(s.train), s.train.y);
    this.adaptedHead.accumulate(frozenFeatures(backbone, s.train, this.pet), s.train.y);
    this.diag.push(info);
  }

  predict(x: Dataset, seen: number): Map<string, Float32Array> {
    return new Map([['aper', this.head.logits(this.features(x), seen)], ['aper-adapted', this.adaptedHead.logits(frozenFeatures(this.ctx.backbone, x, this.pet), seen)]]);
  }

  diagnostics(): Record<string, unknown> { return { sessions: this.diag.slice() }; }

  checkpoint(): LearnerCheckpoint {
    const arrays: LearnerCheckpoint['arrays'] = new Map();
    for (const [k, v] of getParamValues(this.pet)) arrays.set(`pet.${k}`, { shape: [...v.shape], data: v.data });
    const st = this.head.state();
    arrays.set('sums', { shape: [st.sums.length], data: st.sums });
    arrays.set('counts', { shape: [st.counts.length], data: st.counts });
    const sa = this.adaptedHead.state();
    arrays.set('adapted.sums', { shape: [sa.sums.length], data: sa.sums });
    arrays.set('adapted.counts', { shape: [sa.counts.length], data: sa.counts });
    return { meta: { adapted: this.adapted, diag: this.diag }, arrays };
  }

  restore(c: LearnerCheckpoint): void {
    const pet = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, v] of c.arrays) if (k.startsWith('pet.')) pet.set(k.slice(4), { shape: v.shape, data: Float32Array.from(v.data) });
    setParams(this.pet, pet);
    const sums = c.arrays.get('sums'), counts = c.arrays.get('counts');
    if (!sums || !counts) throw new InputError('aper checkpoint: prototype sums or counts missing');
    this.head.restore({ sums: Float64Array.from(sums.data), counts: Float64Array.from(counts.data) });
    const as = c.arrays.get('adapted.sums'), ac = c.arrays.get('adapted.counts');
    if (!as || !ac) throw new InputError('aper checkpoint: adapted prototype sums or counts missing');
    this.adaptedHead.restore({ sums: Float64Array.from(as.data), counts: Float64Array.from(ac.data) });
    this.adapted = c.meta.adapted === true;
    this.diag.splice(0, this.diag.length, ...((c.meta.diag as Record<string, unknown>[] | undefined) ?? []));
  }

  describe(): Record<string, unknown> {
    return { method: 'aper', head: 'cosine prototypes on [frozen; adapted] features', adaptation: 'first session only, then frozen', pet: this.options.pet, train: this.train };
  }

  dispose(): void { disposeParams(this.pet); }
}
