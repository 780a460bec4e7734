// ATLAS behind the learner interface, on the task-incremental multimodal stream (`atlasSource` in
// atlas.ts): the upstream sessions train one adapter each (the first plain, later ones with ATLAS's
// two stages) into the bank; every downstream session trains each variant (scratch, experience,
// atlas, full_ft, and atlas without the orthogonality penalty for the ablation) on the same upstream
// bank. The trainer scores each seen task's test rows with that task's model (`predictTask`).
import type { tf } from '../../core/tensor.js';
import { InputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { Dataset } from '../../core/data/dataset.js';
import { withDefaults } from '../../core/options.js';
import { AtlasModel, accuracy, atlasOptions, trainTask, type AtlasOptions, type AtlasTaskModel, type AtlasVariant, type AtlasWorld, type TaskSpec } from '../atlas.js';
import type { ContinualLearner, LearnerCheckpoint, LearnerContext, SessionData } from './types.js';
import type { LearnerFamily } from '../registry.js';

/** What the multimodal stream hands the learner. */
export interface AtlasStreamInfo {
  readonly world: AtlasWorld;
  readonly order: string;
  readonly specs: readonly TaskSpec[];
  readonly upstream: number;
  readonly options: AtlasOptions;
}

export const ATLAS_LEARNER_DEFAULTS = Object.freeze({ variants: ['scratch', 'experience', 'atlas', 'full_ft'] as string[], orthoAblation: true });

/** The output of the ablation run (ATLAS with orthogonality weight 0). */
export const ATLAS_ORTHO0 = 'atlas-ortho0';

interface VariantModel { readonly model: AtlasTaskModel; readonly own: AtlasModel['bank'][number] | null; readonly trainable: number }

export class AtlasLearner implements ContinualLearner {
  readonly name = 'atlas';
  readonly outputs: readonly string[];
  private readonly info: AtlasStreamInfo;
  private readonly o: AtlasOptions;
  private readonly model: AtlasModel;
  private readonly rng: Rng;
  private readonly variants: AtlasVariant[];
  private readonly keep: tf.Variable[] = [];
  private readonly up: AtlasTaskModel[] = [];
  private readonly down = new Map<number, Map<string, VariantModel>>();
  private readonly before = new Map<number, Float32Array>();
  private readonly mix: Record<string, Record<string, { mix_weights: number[]; mix_weights_row_std: number[]; mix_adapters: string[] }>> = {};
  private identical = true;
  private session = -1;

  constructor(ctx: LearnerContext, options: Record<string, unknown>) {
    const info = ctx.streamInfo as AtlasStreamInfo | undefined;
    if (!info || !info.world) throw new InputError('atlas runs on the multimodal task stream (atlasSource), not on this stream');
    const opts = withDefaults(ATLAS_LEARNER_DEFAULTS, options, 'atlas');
    const known: AtlasVariant[] = ['scratch', 'experience', 'atlas', 'full_ft'];
    for (const v of opts.variants) if (!known.includes(v as AtlasVariant)) throw new InputError(`atlas: unknown variant ${JSON.stringify(v)}; known: ${known.join(', ')}`);
    this.variants = opts.variants as AtlasVariant[];
    this.info = info;
    this.o = atlasOptions(info.options);
    this.model = new AtlasModel(info.world, this.o);
    this.rng = new Rng(ctx.seed, `atlas-${info.order}`);
    this.outputs = [...this.variants, ...(opts.orthoAblation ? [ATLAS_ORTHO0] : [])];
  }

  async fitSession(s: SessionData): Promise<void> {
    const t = s.info.index, lo = s.info.newIds[0], hi = s.info.seen;
    this.session = t;
    const spec = this.info.specs[t];
    const tr = { x: s.train.x, y: s.train.y.map((v) => v - lo), n: s.train.n, outputs: hi - lo };
    const o = this.o, model = this.model;
    if (t < this.info.upstream) {
      const steps = Math.ceil((o.upstreamEpochs * tr.n) / o.batchSize);
      const r = trainTask(model, spec, tr, model.bank.length ? 'atlas' : 'scratch', steps, o, this.rng.split(spec.name), o.orthoWeight);
      this.keep.push(...r.disposables);
      this.up.push(r.model);
      return;
    }
    const upBank = this.info.upstream;
    const models = new Map<string, VariantModel>();
    const train = (out: string, variant: AtlasVariant, rng: Rng, ortho: number): void => {
      // Every variant sees the same upstream bank: adapters added by other downstream runs are set aside while it trains.
      const extra = model.bank.splice(upBank);
      const r = trainTask(model, spec, tr, variant, o.downstreamSteps, o, rng, ortho);
      models.set(out, { model: r.model, own: r.model.own !== null ? model.bank[r.model.own] : null, trainable: r.trainable });
      model.bank.push(...extra);
      this.keep.push(...r.disposables);
    };
    for (const v of this.variants) train(v, v, this.rng.split(`${spec.name}-${v}`), o.orthoWeight);
    if (this.outputs.includes(ATLAS_ORTHO0)) train(ATLAS_ORTHO0, 'atlas', this.rng.split(`${spec.name}-atlas`), 0);
    this.down.set(t, models);
    await Promise.resolve();
  }

  predict(_x: Dataset, _seen: number): Map<string, Float32Array> {
    throw new InputError('atlas is task-incremental: the trainer scores it task by task (predictTask)');
  }

  predictTask(x: Dataset, task: number, seen: number): Map<string, Float32Array> {
    const s = this.info.specs[task];
    if (!s) throw new InputError(`atlas: no task ${task}`);
    const lo = this.info.specs.slice(0, task).reduce((n, sp) => n + outputsOf(sp), 0), k = outputsOf(s);
    const data = { x: x.x, y: new Int32Array(x.n), n: x.n, outputs: k };
    const place = (logits: Float32Array): Float32Array => {
      const z = new Float32Array(x.n * seen).fill(-Infinity);
      for (let i = 0; i < x.n; i++) for (let c = 0; c < k; c++) z[i * seen + lo + c] = logits[i * k + c];
      return z;
    };
    const out = new Map<string, Float32Array>();
    const last = this.session === this.info.specs.length - 1;
    if (task < this.info.upstream) {
      const ev = accuracy(this.model, this.up[task], data, this.o);
      if (this.session === task) this.before.set(task, ev.logits);
      if (last) {
        const a = this.before.get(task)!, b = ev.logits;
        if (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) this.identical = false;
      }
      const z = place(ev.logits);
      for (const o of this.outputs) out.set(o, z);
      return out;
    }
    const upBank = this.info.upstream;
    for (const [name, vm] of this.down.get(task)!) {
      // The bank as it was when this variant trained: the upstream adapters, then its own.
      const saved = this.model.bank.splice(upBank);
      if (vm.own) this.model.bank.push(vm.own);
      const ev = accuracy(this.model, vm.model, data, this.o);
      this.model.bank.splice(upBank);
      this.model.bank.push(...saved);
      if (this.session === task && (name === 'experience' || name === 'atlas')) {
        (this.mix[s.name] ??= {})[name] = { mix_weights: ev.meanWeights.slice(0, upBank), mix_weights_row_std: ev.rowStdWeights.slice(0, upBank), mix_adapters: this.model.bank.slice(0, upBank).map((a) => a.task) };
      }
      out.set(name, place(ev.logits));
    }
    return out;
  }

  diagnostics(): Record<string, unknown> {
    const trainable: Record<string, Record<string, number>> = {};
    for (const [t, models] of this.down) for (const [name, vm] of models) (trainable[this.info.specs[t].name] ??= {})[name] = vm.trainable;
    return { trainable, mix: this.mix, upstream_identical: this.identical };
  }

  checkpoint(): LearnerCheckpoint {
    throw new InputError('atlas keeps no checkpoints (a seed runs in seconds); run it without a checkpoint folder');
  }

  restore(_c: LearnerCheckpoint): void {
    throw new InputError('atlas keeps no checkpoints');
  }

  describe(): Record<string, unknown> { return { method: 'atlas', order: this.info.order, variants: this.variants, ...this.o }; }

  dispose(): void {
    for (const v of this.keep) v.dispose();
    this.keep.length = 0;
    this.model.dispose();
  }
}

/** Outputs (classes) of a task: image tasks one per attribute combination, match 2, entail 1 + attributes. */
export function outputsOf(spec: TaskSpec): number {
  return spec.kind === 'match' ? 2 : spec.kind === 'entail' ? 1 + spec.attrs.length : 1 << spec.attrs.length;
}

/** `atlas` (on the multimodal task stream; it reports one output per variant). */
export const ATLAS_FAMILY: LearnerFamily = {
  name: 'atlas',
  matches: (m) => m === 'atlas',
  check: () => undefined,
  make: (ctx, _methods, options) => new AtlasLearner(ctx, options),
};
