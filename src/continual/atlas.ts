// ATLAS (Adapter-Based Multi-Modal Continual Learning with a Two-Stage Learning Strategy, arXiv
// 2410.10923; official code lihong2303/ATLAS) on a feature-level stand-in, task-incremental:
//   - a frozen backbone (a fixed random fusion MLP over [image features; caption features]);
//   - one bottleneck adapter A_k(h) = U_k SiLU(D_k h) per upstream task, frozen after its task, plus a
//     key per adapter; each task has its own head;
//   - stage 1, experience-based learning: learned queries q_k (one per earlier adapter) weight the
//     frozen adapters: c_k = attention of q_k over the tokens [q_k; A_k(h)] (no projections),
//     w_k = (cos(c_k, key_k) + 1) / 2, out = h + sum_k w_k A_k(h) (the skip path appears once, explicitly);
//     only the queries and the head train;
//   - stage 2, novel knowledge expansion: a new adapter with its own query and key joins the mix; it,
//     its query/key and the head train with the task loss + orthoWeight * mean((Q Q^T - I)^2) / (n d)
//     over the stacked queries and keys.
// Stand-ins (the paper uses ViLT on image-text data): modality A = "image" features from a fixed
// random map of a class latent; modality B = a "caption" vector, a fixed random embedding of the class
// (or, for mismatched pairs, of another class). Multimodal tasks (match / mismatch, like visual
// entailment) need both; unimodal tasks see one modality with the other zeroed.
import { tf } from '../core/tensor.js';
import { InputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { mean, std } from '../core/stats.js';
import { variable } from './nn.js';

export interface AtlasOptions {
  readonly latentDim: number;
  readonly modalityDim: number;
  readonly hiddenDim: number;
  readonly bottleneck: number;
  readonly classes: number;
  readonly upstreamPerClass: number;
  readonly testPerClass: number;
  /** Low-shot downstream rows per class (16-32 in the method note). */
  readonly shots: number;
  readonly lr: number;
  /** Learning-rate multiplier of the queries (the paper uses x100 over its adapter rate). */
  readonly queryLrScale: number;
  readonly upstreamEpochs: number;
  readonly downstreamSteps: number;
  readonly batchSize: number;
  readonly orthoWeight: number;
  readonly imageNoise: number;
  readonly captionNoise: number;
}

export const ATLAS_DEFAULTS: AtlasOptions = Object.freeze({
  latentDim: 16, modalityDim: 32, hiddenDim: 64, bottleneck: 16, classes: 20,
  upstreamPerClass: 100, testPerClass: 100, shots: 16,
  lr: 3e-3, queryLrScale: 10, upstreamEpochs: 20, downstreamSteps: 100, batchSize: 128,
  orthoWeight: 0.1, imageNoise: 1.2, captionNoise: 0.6,
});

export function atlasOptions(o: Partial<AtlasOptions> = {}): AtlasOptions {
  const known = new Set(Object.keys(ATLAS_DEFAULTS));
  const bad = Object.keys(o).filter((k) => !known.has(k));
  if (bad.length) throw new InputError(`unknown ATLAS option(s) ${bad.join(', ')}; known: ${[...known].join(', ')}`);
  const r = { ...ATLAS_DEFAULTS, ...o };
  for (const [k, v] of Object.entries(r)) if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new InputError(`ATLAS option ${k} must be a finite number >= 0, got ${v}`);
  if (r.classes < 20) throw new InputError(`ATLAS needs at least 20 classes (10 upstream, 10 downstream), got ${r.classes}`);
  return Object.freeze(r);
}

/** Task kinds: classify from the image only, from the caption only, from both, or decide match/mismatch. */
export type TaskKind = 'image-cls' | 'caption-cls' | 'mm-cls' | 'match';

export interface TaskSpec {
  readonly name: string;
  readonly kind: TaskKind;
  readonly classes: readonly number[];
}

export interface TaskData {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly outputs: number;
}

/** Multimodal-first and unimodal-first upstream orders over the same three tasks; downstream tasks on unseen classes. */
export const UPSTREAM: Record<'multimodal-first' | 'unimodal-first', readonly TaskSpec[]> = {
  'multimodal-first': [
    { name: 'up-match', kind: 'match', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    { name: 'up-image-a', kind: 'image-cls', classes: [0, 1, 2, 3, 4] },
    { name: 'up-image-b', kind: 'image-cls', classes: [5, 6, 7, 8, 9] },
  ],
  'unimodal-first': [
    { name: 'up-image-a', kind: 'image-cls', classes: [0, 1, 2, 3, 4] },
    { name: 'up-image-b', kind: 'image-cls', classes: [5, 6, 7, 8, 9] },
    { name: 'up-match', kind: 'match', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
  ],
};

export const DOWNSTREAM: readonly TaskSpec[] = [
  { name: 'down-image', kind: 'image-cls', classes: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19] },
  { name: 'down-match', kind: 'match', classes: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19] },
  { name: 'down-mm', kind: 'mm-cls', classes: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19] },
];

/** The stand-in world: class latents, the two fixed modality maps and the frozen fusion backbone. */
export class AtlasWorld {
  readonly proto: Float32Array;
  readonly captionEmb: Float32Array;
  private readonly Ma: Float32Array;
  private readonly Mb: Float32Array;
  readonly backbone: { W1: Float32Array; b1: Float32Array };

  constructor(readonly o: AtlasOptions, seed: number) {
    const r = new Rng(seed, 'atlas-world');
    const L = o.latentDim, M = o.modalityDim;
    this.proto = r.split('proto').fillNormal(new Float32Array(o.classes * L), 1);
    this.captionEmb = r.split('caption').fillNormal(new Float32Array(o.classes * L), 1);
    // The caption of a class is a fixed function of its latent (so "matching" is a generic skill).
    for (let c = 0; c < o.classes; c++) for (let k = 0; k < L; k++) this.captionEmb[c * L + k] = 0.7 * this.proto[c * L + k]! + 0.3 * this.captionEmb[c * L + k]!;
    this.Ma = r.split('Ma').fillNormal(new Float32Array(M * L), 1 / Math.sqrt(L));
    this.Mb = r.split('Mb').fillNormal(new Float32Array(M * L), 1 / Math.sqrt(L));
    this.backbone = {
      W1: r.split('W1').fillNormal(new Float32Array(o.hiddenDim * 2 * M), 1 / Math.sqrt(2 * M)),
      b1: r.split('b1').fillNormal(new Float32Array(o.hiddenDim), 0.1),
    };
  }

  private image(c: number, rng: Rng, out: Float32Array, at: number): void {
    const { latentDim: L, modalityDim: M } = this.o;
    const z = new Float32Array(L);
    for (let k = 0; k < L; k++) z[k] = this.proto[c * L + k]! + this.o.imageNoise * rng.normal();
    for (let i = 0; i < M; i++) { let s = 0; for (let k = 0; k < L; k++) s += this.Ma[i * L + k]! * z[k]!; out[at + i] = Math.tanh(s); }
  }

  private caption(c: number, rng: Rng, out: Float32Array, at: number): void {
    const { latentDim: L, modalityDim: M } = this.o;
    for (let i = 0; i < M; i++) {
      let s = 0;
      for (let k = 0; k < L; k++) s += this.Mb[i * L + k]! * this.captionEmb[c * L + k]!;
      out[at + i] = Math.tanh(s) + this.o.captionNoise * rng.normal();
    }
  }

  /** `perClass` rows per class of a task: [image; caption] inputs (2 * modalityDim), zeros for an absent modality. */
  sample(task: TaskSpec, perClass: number, rng: Rng): TaskData {
    const M = this.o.modalityDim, d = 2 * M;
    const K = task.classes.length;
    const n = perClass * K;
    const x = new Float32Array(n * d), y = new Int32Array(n);
    let r = 0;
    for (let ci = 0; ci < K; ci++) {
      const c = task.classes[ci]!;
      for (let s = 0; s < perClass; s++, r++) {
        if (task.kind === 'image-cls') { this.image(c, rng, x, r * d); y[r] = ci; }
        else if (task.kind === 'caption-cls') { this.caption(c, rng, x, r * d + M); y[r] = ci; }
        else if (task.kind === 'mm-cls') { this.image(c, rng, x, r * d); this.caption(c, rng, x, r * d + M); y[r] = ci; }
        else {
          // match: half the rows pair the image with its own caption (1), half with another class's (0).
          const match = s % 2 === 0;
          const other = match ? c : task.classes[(ci + 1 + rng.int(K - 1)) % K]!;
          this.image(c, rng, x, r * d); this.caption(other, rng, x, r * d + M); y[r] = match ? 1 : 0;
        }
      }
    }
    return { x, y, n, outputs: task.kind === 'match' ? 2 : K };
  }
}

interface Adapter { readonly D: tf.Variable; readonly U: tf.Variable; readonly key: tf.Variable; readonly task: string }

export interface AtlasTaskModel {
  readonly task: TaskSpec;
  /** Indices of the bank adapters this task mixes (frozen). */
  readonly uses: readonly number[];
  readonly queries: tf.Variable | null;
  /** The task's own adapter index in the bank (stage 2), or null. */
  readonly own: number | null;
  readonly ownQuery: tf.Variable | null;
  readonly head: { W: tf.Variable; b: tf.Variable };
  /** Fine-tuned backbone copy (full fine-tuning only). */
  readonly backbone: { W1: tf.Variable; b1: tf.Variable } | null;
  /** Fixed weight 1 for the own adapter (the "scratch" baseline). */
  readonly plainAdapter: boolean;
}

export type AtlasVariant = 'scratch' | 'experience' | 'atlas' | 'full_ft';

/** The adapter bank, the frozen backbone and the per-task models. */
export class AtlasModel {
  readonly bank: Adapter[] = [];
  private readonly W1: tf.Tensor2D;
  private readonly b1: tf.Tensor1D;

  constructor(readonly world: AtlasWorld, readonly o: AtlasOptions) {
    const { hiddenDim: H, modalityDim: M } = o;
    this.W1 = tf.tensor2d(world.backbone.W1, [H, 2 * M]);
    this.b1 = tf.tensor1d(world.backbone.b1);
  }

  backboneParams(): number { return this.W1.size + this.b1.size; }

  hidden(x: tf.Tensor2D, bb: { W1: tf.Tensor; b1: tf.Tensor } | null): tf.Tensor2D {
    const W1 = bb?.W1 ?? this.W1, b1 = bb?.b1 ?? this.b1;
    return tf.tanh(tf.matMul(x, W1 as tf.Tensor2D, false, true).add(b1)) as tf.Tensor2D;
  }

  static adapterOut(h: tf.Tensor2D, a: Adapter): tf.Tensor2D {
    const u = tf.matMul(h, a.D as unknown as tf.Tensor2D, false, true);
    return tf.matMul(u.mul(tf.sigmoid(u)), a.U as unknown as tf.Tensor2D, false, true) as tf.Tensor2D;
  }

  /** w = (cos(c, key) + 1) / 2 with c the attention of q over [q; a] (per row). */
  static mixWeight(q: tf.Tensor1D, a: tf.Tensor2D, key: tf.Tensor): tf.Tensor1D {
    const d = q.shape[0];
    const n = a.shape[0];
    const sqq = tf.sum(q.mul(q)).div(Math.sqrt(d)).reshape([1, 1]).tile([n, 1]);
    const sqa = tf.matMul(a, q.reshape([d, 1])).div(Math.sqrt(d));
    const att = tf.softmax(tf.concat([sqq, sqa], 1), 1);
    const c = att.slice([0, 0], [n, 1]).mul(q.reshape([1, d])).add(att.slice([0, 1], [n, 1]).mul(a));
    const cos = tf.matMul(c, key.reshape([d, 1])).reshape([n]).div(tf.norm(c, 2, 1).mul(tf.norm(key)).add(1e-8));
    return cos.add(1).div(2) as tf.Tensor1D;
  }

  /** Logits of a task model, and the mean mixing weight of each used adapter (diagnostics). */
  forward(m: AtlasTaskModel, x: tf.Tensor2D): { logits: tf.Tensor2D; weights: tf.Tensor1D[] } {
    const h = this.hidden(x, m.backbone);
    let out: tf.Tensor2D = h;
    const weights: tf.Tensor1D[] = [];
    m.uses.forEach((k, i) => {
      const a = AtlasModel.adapterOut(h, this.bank[k]!);
      const w = AtlasModel.mixWeight(m.queries!.slice([i, 0], [1, this.o.hiddenDim]).reshape([this.o.hiddenDim]) as tf.Tensor1D, a, this.bank[k]!.key);
      weights.push(w);
      out = out.add(a.mul(w.reshape([-1, 1]))) as tf.Tensor2D;
    });
    if (m.own !== null) {
      const ad = this.bank[m.own]!;
      const a = AtlasModel.adapterOut(h, ad);
      if (m.plainAdapter) out = out.add(a) as tf.Tensor2D;
      else {
        const w = AtlasModel.mixWeight(m.ownQuery!.reshape([this.o.hiddenDim]) as tf.Tensor1D, a, ad.key);
        weights.push(w);
        out = out.add(a.mul(w.reshape([-1, 1]))) as tf.Tensor2D;
      }
    }
    return { logits: tf.matMul(out, m.head.W as unknown as tf.Tensor2D, false, true).add(m.head.b) as tf.Tensor2D, weights };
  }

  newAdapter(task: string, rng: Rng): number {
    const { hiddenDim: H, bottleneck: r } = this.o;
    this.bank.push({
      task,
      D: variable(`atlas.${task}.D`, [r, H], rng.split('D').fillNormal(new Float32Array(r * H), 1 / Math.sqrt(H))),
      U: variable(`atlas.${task}.U`, [H, r], rng.split('U').fillNormal(new Float32Array(H * r), 0.01 / Math.sqrt(r))),
      key: variable(`atlas.${task}.key`, [H], rng.split('key').fillNormal(new Float32Array(H), 1 / Math.sqrt(H))),
    });
    return this.bank.length - 1;
  }

  dispose(): void {
    this.W1.dispose(); this.b1.dispose();
    for (const a of this.bank) { a.D.dispose(); a.U.dispose(); a.key.dispose(); }
  }
}

/** Orthogonality penalty mean((Q Q^T - I)^2) / (n d) over stacked rows Q (n x d). */
export function orthoPenalty(Q: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [n, d] = Q.shape;
    return tf.mean(tf.square(tf.matMul(Q, Q, false, true).sub(tf.eye(n)))).div(n * d) as tf.Scalar;
  });
}

function trainableCount(vars: readonly tf.Variable[]): number {
  return vars.reduce((s, v) => s + v.size, 0);
}

/** Train `vars` (and the query group at a scaled rate) on a task with Adam; minibatches drawn from `rng`. */
function fit(model: AtlasModel, m: AtlasTaskModel, data: TaskData, vars: tf.Variable[], queryVars: tf.Variable[], steps: number, o: AtlasOptions, rng: Rng, ortho: (() => tf.Scalar) | null): void {
  const optA = tf.train.adam(o.lr), optQ = tf.train.adam(o.lr * o.queryLrScale);
  const d = 2 * o.modalityDim;
  const X = tf.tensor2d(data.x, [data.n, d]);
  const Y = tf.oneHot(tf.tensor1d(data.y, 'int32'), data.outputs);
  try {
    for (let s = 0; s < steps; s++) {
      tf.tidy(() => {
        let xb: tf.Tensor2D = X, yb: tf.Tensor = Y;
        if (data.n > o.batchSize) {
          const idx = Int32Array.from({ length: o.batchSize }, () => rng.int(data.n));
          const it = tf.tensor1d(idx, 'int32');
          xb = tf.gather(X, it) as tf.Tensor2D; yb = tf.gather(Y, it);
        }
        const all = [...vars, ...queryVars];
        const { grads } = tf.variableGrads(() => {
          const { logits } = model.forward(m, xb);
          let loss = tf.losses.softmaxCrossEntropy(yb, logits) as tf.Scalar;
          if (ortho) loss = loss.add(ortho().mul(o.orthoWeight)) as tf.Scalar;
          return loss;
        }, all);
        const pick = (vs: tf.Variable[]): { name: string; tensor: tf.Tensor }[] => vs.filter((v) => grads[v.name]).map((v) => ({ name: v.name, tensor: grads[v.name]! }));
        const ga = pick(vars), gq = pick(queryVars);
        if (ga.length) optA.applyGradients(ga);
        if (gq.length) optQ.applyGradients(gq);
      });
    }
  } finally {
    X.dispose(); Y.dispose(); optA.dispose(); optQ.dispose();
  }
}

function accuracy(model: AtlasModel, m: AtlasTaskModel, data: TaskData, o: AtlasOptions): { acc: number; logits: Float32Array; meanWeights: number[] } {
  return tf.tidy(() => {
    const { logits, weights } = model.forward(m, tf.tensor2d(data.x, [data.n, 2 * o.modalityDim]));
    const pred = tf.argMax(logits, 1).dataSync();
    let c = 0;
    for (let i = 0; i < data.n; i++) if (pred[i] === data.y[i]) c++;
    return { acc: (100 * c) / data.n, logits: logits.dataSync() as Float32Array, meanWeights: weights.map((w) => tf.mean(w).dataSync()[0]!) };
  });
}

function newHead(outputs: number, H: number): { W: tf.Variable; b: tf.Variable } {
  return { W: variable('atlas.head.W', [outputs, H], new Float32Array(outputs * H)), b: variable('atlas.head.b', [outputs], new Float32Array(outputs)) };
}

function newQueries(n: number, H: number, rng: Rng): tf.Variable {
  return variable('atlas.queries', [n, H], rng.fillNormal(new Float32Array(n * H), 1 / Math.sqrt(H)));
}

/** Train one task with a variant; the task's own adapter (scratch, atlas) joins the bank. */
function trainTask(model: AtlasModel, spec: TaskSpec, data: TaskData, variant: AtlasVariant, steps: number, o: AtlasOptions, rng: Rng, orthoWeight: number):
  { model: AtlasTaskModel; trainable: number; disposables: tf.Variable[] } {
  const H = o.hiddenDim;
  const head = newHead(data.outputs, H);
  const upstream = model.bank.map((_, k) => k);
  if (variant === 'full_ft') {
    const bb = { W1: variable('atlas.W1', [H, 2 * o.modalityDim], model.world.backbone.W1), b1: variable('atlas.b1', [H], model.world.backbone.b1) };
    const m: AtlasTaskModel = { task: spec, uses: [], queries: null, own: null, ownQuery: null, head, backbone: bb, plainAdapter: false };
    const vars = [bb.W1, bb.b1, head.W, head.b];
    fit(model, m, data, vars, [], steps, o, rng.split('fit'), null);
    return { model: m, trainable: trainableCount(vars), disposables: vars };
  }
  if (variant === 'scratch') {
    const own = model.newAdapter(spec.name, rng.split('adapter'));
    const ad = model.bank[own]!;
    const m: AtlasTaskModel = { task: spec, uses: [], queries: null, own, ownQuery: null, head, backbone: null, plainAdapter: true };
    const vars = [ad.D, ad.U, head.W, head.b];
    fit(model, m, data, vars, [], steps, o, rng.split('fit'), null);
    return { model: m, trainable: trainableCount(vars), disposables: [head.W, head.b] };
  }
  // Stage 1: queries over the frozen bank + head.
  const queries = upstream.length ? newQueries(upstream.length, H, rng.split('queries')) : null;
  const stage1: AtlasTaskModel = { task: spec, uses: upstream, queries, own: null, ownQuery: null, head, backbone: null, plainAdapter: false };
  if (queries) fit(model, stage1, data, [head.W, head.b], [queries], steps, o, rng.split('stage1'), null);
  if (variant === 'experience') {
    if (!queries) throw new InputError('experience-based learning needs at least one earlier adapter');
    return { model: stage1, trainable: trainableCount([queries, head.W, head.b]), disposables: [queries, head.W, head.b] };
  }
  // Stage 2: a new adapter with its own query and key; orthogonality over stacked queries and keys.
  const own = model.newAdapter(spec.name, rng.split('adapter'));
  const ad = model.bank[own]!;
  const ownQuery = newQueries(1, H, rng.split('own-query'));
  const m: AtlasTaskModel = { task: spec, uses: upstream, queries, own, ownQuery, head, backbone: null, plainAdapter: false };
  const keys = [...upstream.map((k) => model.bank[k]!.key), ad.key];
  const ortho = (): tf.Scalar => orthoPenalty(tf.concat([...(queries ? [queries] : []), ownQuery, ...keys.map((k) => k.reshape([1, H]))], 0) as tf.Tensor2D);
  const vars = [ad.D, ad.U, head.W, head.b];
  fit(model, m, data, vars, [ownQuery, ad.key], steps, o, rng.split('stage2'), orthoWeight > 0 ? ortho : null);
  const trainable = trainableCount([...vars, ownQuery, ad.key]) + (queries ? queries.size : 0);
  return { model: m, trainable, disposables: [head.W, head.b, ownQuery, ...(queries ? [queries] : [])] };
}

export interface AtlasRunEntry {
  readonly seed: number;
  readonly task: string;
  readonly variant: AtlasVariant;
  readonly acc: number;
  readonly trainable_params: number;
  readonly order: string;
  /** Mean mixing weight per upstream adapter (experience / atlas), in bank order. */
  readonly mix_weights?: number[];
}

export interface AtlasResult {
  readonly runs: AtlasRunEntry[];
  /** Mean over seeds (first order) of each upstream task's test accuracy right after its training. */
  readonly upstream_acc_before: number[];
  /** The same after every downstream task was added. */
  readonly upstream_acc_after: number[];
  readonly upstream_tasks: string[];
  /** Upstream logits bit-identical before and after, for every seed and order. */
  readonly upstream_identical: boolean;
  readonly orders: string[];
  readonly ortho_ablation: { seed: number; order: string; task: string; ortho: number; acc: number }[];
  readonly summary: { order: string; task: string; variant: AtlasVariant; acc_mean: number; acc_std: number; n: number; trainable_params: number }[];
  readonly options: AtlasOptions;
  readonly stand_in: string;
}

export const ATLAS_STAND_IN = 'feature-level stand-in: image = fixed random map of a class latent + noise; caption = fixed random embedding of the class (a function of its latent) + noise; backbone = fixed random tanh fusion MLP over [image; caption] (not pretrained); no ViLT, no real image-text data';

/** One seed and order: upstream tasks with ATLAS, then each downstream task with every variant. */
export function runAtlasSeed(o: AtlasOptions, seed: number, order: keyof typeof UPSTREAM, variants: readonly AtlasVariant[], withOrthoAblation: boolean):
  { runs: AtlasRunEntry[]; before: number[]; after: number[]; identical: boolean; ablation: AtlasResult['ortho_ablation'] } {
  const world = new AtlasWorld(o, seed);
  const rng = new Rng(seed, `atlas-${order}`);
  const model = new AtlasModel(world, o);
  const keep: tf.Variable[] = [];
  const runs: AtlasRunEntry[] = [];
  const ablation: AtlasResult['ortho_ablation'] = [];
  try {
    const ups = UPSTREAM[order];
    const upModels: AtlasTaskModel[] = [], upTests: TaskData[] = [], before: number[] = [], beforeLogits: Float32Array[] = [];
    for (const spec of ups) {
      const tr = world.sample(spec, o.upstreamPerClass, rng.split(`${spec.name}-train`));
      const te = world.sample(spec, o.testPerClass, new Rng(seed, `atlas-test-${spec.name}`));
      const steps = Math.ceil((o.upstreamEpochs * tr.n) / o.batchSize);
      const r = trainTask(model, spec, tr, model.bank.length ? 'atlas' : 'scratch', steps, o, rng.split(spec.name), o.orthoWeight);
      keep.push(...r.disposables);
      const ev = accuracy(model, r.model, te, o);
      upModels.push(r.model); upTests.push(te); before.push(ev.acc); beforeLogits.push(ev.logits);
    }
    const upBank = model.bank.length;
    for (const spec of DOWNSTREAM) {
      const tr = world.sample(spec, spec.kind === 'match' ? 2 * o.shots : o.shots, rng.split(`${spec.name}-train`));
      const te = world.sample(spec, o.testPerClass, new Rng(seed, `atlas-test-${spec.name}`));
      for (const variant of variants) {
        // Every variant sees the same upstream bank: adapters added by other downstream runs are set
        // aside while it trains and is scored, then kept (so the upstream check covers them too).
        const extra = model.bank.splice(upBank);
        const r = trainTask(model, spec, tr, variant, o.downstreamSteps, o, rng.split(`${spec.name}-${variant}`), o.orthoWeight);
        const ev = accuracy(model, r.model, te, o);
        model.bank.push(...extra);
        runs.push({ seed, task: spec.name, variant, acc: ev.acc, trainable_params: r.trainable, order, ...(variant === 'experience' || variant === 'atlas' ? { mix_weights: ev.meanWeights.slice(0, upBank) } : {}) });
        keep.push(...r.disposables);
      }
      if (withOrthoAblation) {
        const extra = model.bank.splice(upBank);
        const r = trainTask(model, spec, tr, 'atlas', o.downstreamSteps, o, rng.split(`${spec.name}-atlas`), 0);
        ablation.push({ seed, order, task: spec.name, ortho: 0, acc: accuracy(model, r.model, te, o).acc });
        model.bank.push(...extra);
        const atlasRun = runs.find((e) => e.task === spec.name && e.variant === 'atlas');
        if (atlasRun) ablation.push({ seed, order, task: spec.name, ortho: o.orthoWeight, acc: atlasRun.acc });
        keep.push(...r.disposables);
      }
    }
    const after: number[] = [];
    let identical = true;
    upModels.forEach((m, i) => {
      const ev = accuracy(model, m, upTests[i]!, o);
      after.push(ev.acc);
      const a = beforeLogits[i]!, b = ev.logits;
      if (a.length !== b.length || a.some((v, k) => !Object.is(v, b[k]))) identical = false;
    });
    return { runs, before, after, identical, ablation };
  } finally {
    for (const v of keep) v.dispose();
    model.dispose();
  }
}

export function runAtlas(o: AtlasOptions, seeds: readonly number[], opts: { orders?: readonly (keyof typeof UPSTREAM)[]; orthoAblation?: boolean; onSeed?: (seed: number, order: string) => void } = {}): AtlasResult {
  const orders = opts.orders ?? ['multimodal-first', 'unimodal-first'];
  const variants: AtlasVariant[] = ['scratch', 'experience', 'atlas', 'full_ft'];
  const runs: AtlasRunEntry[] = [];
  const before: number[][] = [], after: number[][] = [];
  const ablation: AtlasResult['ortho_ablation'] = [];
  let identical = true;
  for (const seed of seeds) {
    for (const order of orders) {
      const r = runAtlasSeed(o, seed, order, variants, opts.orthoAblation ?? true);
      runs.push(...r.runs);
      ablation.push(...r.ablation);
      identical &&= r.identical;
      if (order === orders[0]) { before.push(r.before); after.push(r.after); }
      opts.onSeed?.(seed, order);
    }
  }
  const summary: AtlasResult['summary'] = [];
  for (const order of orders) for (const spec of DOWNSTREAM) for (const variant of variants) {
    const rs = runs.filter((r) => r.order === order && r.task === spec.name && r.variant === variant);
    if (!rs.length) continue;
    const accs = rs.map((r) => r.acc);
    summary.push({ order, task: spec.name, variant, acc_mean: mean(accs), acc_std: accs.length > 1 ? std(accs) : 0, n: rs.length, trainable_params: rs[0]!.trainable_params });
  }
  const colMean = (m: number[][]): number[] => m[0]!.map((_, j) => mean(m.map((r) => r[j]!)));
  return {
    runs, upstream_acc_before: colMean(before), upstream_acc_after: colMean(after), upstream_tasks: UPSTREAM[orders[0]!].map((t) => t.name),
    upstream_identical: identical, orders: [...orders], ortho_ablation: ablation, summary, options: o, stand_in: ATLAS_STAND_IN,
  };
}
