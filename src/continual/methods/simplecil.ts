// SimpleCIL (Zhou et al., IJCV 2024): frozen backbone, nothing trained; class prototypes are mean
// embeddings, prediction is the nearest prototype by cosine.
import type { Dataset } from '../../core/data/dataset.js';
import { InputError } from '../../core/errors.js';
import { frozenFeatures } from '../feature-cache.js';
import { PrototypeHead } from '../heads.js';
import type { ContinualLearner, LearnerCheckpoint, LearnerContext, SessionData } from './types.js';

export type SimpleCilOptions = Record<string, never>;

export class SimpleCil implements ContinualLearner {
  readonly name = 'simplecil';
  readonly outputs = ['simplecil'] as const;
  private readonly head: PrototypeHead;

  constructor(private readonly ctx: LearnerContext, readonly options: SimpleCilOptions = {}) {
    const unknown = Object.keys(options);
    if (unknown.length) throw new InputError(`simplecil: unknown option(s) ${unknown.join(', ')}; it takes none`);
    this.head = new PrototypeHead(ctx.backbone.featureDim, ctx.numClasses);
  }

  async fitSession(s: SessionData): Promise<void> {
    this.head.accumulate(frozenFeatures(this.ctx.backbone, s.train, null), s.train.y);
  }

  predict(x: Dataset, seen: number): Map<string, Float32Array> {
    return new Map([['simplecil', this.head.logits(frozenFeatures(this.ctx.backbone, x, null), seen)]]);
  }

  diagnostics(): Record<string, unknown> { return {}; }

  checkpoint(): LearnerCheckpoint {
    const st = this.head.state();
    return { meta: {}, arrays: new Map([['sums', { shape: [st.sums.length], data: st.sums }], ['counts', { shape: [st.counts.length], data: st.counts }]]) };
  }

  restore(c: LearnerCheckpoint): void {
    this.head.restore({ sums: c.arrays.get('sums')!.data as Float64Array, counts: c.arrays.get('counts')!.data as Float64Array });
  }

  describe(): Record<string, unknown> { return { method: 'simplecil', head: 'cosine prototypes', backbone: 'frozen, no PET' }; }
  dispose(): void {}
}
