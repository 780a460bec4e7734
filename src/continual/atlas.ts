// ATLAS (Adapter-Based Multi-Modal Continual Learning with a Two-Stage Learning Strategy, arXiv
// 2410.10923; official code lihong2303/ATLAS) on a feature-level stand-in, task-incremental:
//   - a frozen backbone (a fixed random fusion MLP over [image features; caption features]);
//   - one bottleneck adapter A_k(h) = U_k SiLU(D_k h) (its residual part) per upstream task, frozen after its task, plus a
//     key per adapter; each task has its own head;
//   - stage 1, experience-based learning: learned queries q_k (one per earlier adapter) weight the
//     frozen adapters: c_k = attention of q_k over the tokens [q_k; h + A_k(h)] (no projections; the
//     adapter's full output, skip included, as in the official code), w_k = (cos(c_k, key_k) + 1) / 2,
//     out = h + sum_k w_k A_k(h) (the skip path appears once, explicitly);
//     only the queries and the head train;
//   - stage 2, novel knowledge expansion: a new adapter with its own query and key joins the mix; it,
//     its query/key and the head train with the task loss + orthoWeight * mean((Q Q^T - I)^2) / (n d)
//     over the stacked queries and keys.
// Stand-in (the paper uses ViLT on image-text data; everything here is synthetic): a latent vector z
// (standard normal) defines binary attributes: "quadratic" ones q_j = [(u_j . z)(v_j . z) > 0] (an
// XOR of two half-spaces: a small nonlinear detector, not linearly readable) and "linear" ones
// s_j = [w_j . z > 0]. Modality A = "image" features, a fixed random tanh map of z plus noise;
// modality B = a "caption" that names attribute values (a fixed random word vector per attribute
// value, summed, tanh, plus noise). Classes are attribute combinations, so tasks share structure
// only where they share attributes: each downstream task is built to be related to exactly one
// upstream task and unrelated to the other two (see DOWNSTREAM). Match and entailment tasks (does
// the caption describe the image? which named attribute is wrong? like visual entailment) need
// both modalities; image tasks see the image with the caption zeroed.
import { tf } from '../core/tensor.js';
import { InputError } from '../core/errors.js';
import { withDefaults } from '../core/options.js';
import { Rng } from '../core/rng.js';
import { mean, std } from '../core/stats.js';
import { variable } from '../core/nn.js';
import type { Dataset } from '../core/data/dataset.js';
import type { Scenario, SessionInfo } from './scenario.js';
import { runEngine, type SeedStream, type StreamSource } from './trainer.js';
import { ATLAS_ORTHO0, outputsOf, type AtlasStreamInfo } from './methods/atlas-learner.js';

export interface AtlasOptions {
  readonly latentDim: number;
  readonly modalityDim: number;
  readonly hiddenDim: number;
  readonly bottleneck: number;
  /** Upstream training rows per class (per label for match tasks). */
  readonly upstreamPerClass: number;
  readonly testPerClass: number;
  /** Low-shot downstream rows per class (16-32 in the method note; per label for match tasks). */
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
  latentDim: 8, modalityDim: 32, hiddenDim: 64, bottleneck: 16,
  upstreamPerClass: 200, testPerClass: 100, shots: 16,
  lr: 1e-2, queryLrScale: 10, upstreamEpochs: 60, downstreamSteps: 100, batchSize: 128,
  orthoWeight: 0.1, imageNoise: 0.1, captionNoise: 0.3,
});

export function atlasOptions(o: Partial<AtlasOptions> = {}): AtlasOptions {
  const r = withDefaults(ATLAS_DEFAULTS, o, 'ATLAS options');
  for (const [k, v] of Object.entries(r)) if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new InputError(`ATLAS option ${k} must be a finite number >= 0, got ${v}`);
  for (const k of ['latentDim', 'modalityDim', 'hiddenDim', 'bottleneck', 'upstreamPerClass', 'testPerClass', 'shots', 'batchSize'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 1) throw new InputError(`ATLAS option ${k} must be an integer >= 1, got ${r[k]}`);
  }
  if (r.latentDim < 2) throw new InputError(`ATLAS option latentDim must be >= 2, got ${r.latentDim}`);
  return Object.freeze(r);
}

/**
 * Task kinds: classify attribute combinations from the image; decide whether the caption matches the
 * image (match / mismatch); or say which named attribute the caption gets wrong, if any ("entail":
 * class 0 = caption right, class 1 + i = attribute i wrong; a 3-way entailment-like label).
 */
export type TaskKind = 'image-cls' | 'match' | 'entail';

export interface TaskSpec {
  readonly name: string;
  readonly kind: TaskKind;
  /** Attributes: `q<j>` (quadratic) or `s<j>` (linear). image-cls: one class per value combination; match: the attributes the caption names. */
  readonly attrs: readonly string[];
  /** Downstream tasks: the upstream task built to be related. */
  readonly related?: string;
}

export interface TaskData {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly outputs: number;
}

const UP_IMAGE_A: TaskSpec = { name: 'up-image-A', kind: 'image-cls', attrs: ['q0', 'q1'] };
const UP_IMAGE_B: TaskSpec = { name: 'up-image-B', kind: 'image-cls', attrs: ['q2', 'q3'] };
const UP_MATCH_C: TaskSpec = { name: 'up-entail-C', kind: 'entail', attrs: ['q4', 's3'] };

/** Multimodal-first and unimodal-first upstream orders over the same three tasks. */
export const UPSTREAM: Record<'multimodal-first' | 'unimodal-first', readonly TaskSpec[]> = {
  'multimodal-first': [UP_MATCH_C, UP_IMAGE_A, UP_IMAGE_B],
  'unimodal-first': [UP_IMAGE_A, UP_IMAGE_B, UP_MATCH_C],
};

/**
 * Each downstream task is built to be related to one upstream task: the image tasks reuse one
 * quadratic attribute of it and add a new linear one; the match task asks the binary question
 * (caption right or not) about the attribute pair of the 3-way upstream entailment task.
 */
export const DOWNSTREAM: readonly TaskSpec[] = [
  { name: 'down-image-A', kind: 'image-cls', attrs: ['q0', 's0'], related: 'up-image-A' },
  { name: 'down-image-B', kind: 'image-cls', attrs: ['q3', 's1'], related: 'up-image-B' },
  { name: 'down-match-C', kind: 'match', attrs: ['q4', 's3'], related: 'up-entail-C' },
];

function parseAttr(a: string): { quad: boolean; j: number } {
  const m = /^([qs])(\d+)$/.exec(a);
  if (!m) throw new InputError(`ATLAS attribute ${JSON.stringify(a)}: expected q<j> or s<j>`);
  return { quad: m[1] === 'q', j: Number(m[2]) };
}

/** The stand-in world: attribute directions, the two fixed modality maps and the frozen fusion backbone. */
export class AtlasWorld {
  private readonly U: Float32Array;
  private readonly V: Float32Array;
  private readonly Wl: Float32Array;
  private readonly Ma: Float32Array;
  /** Caption word vectors: attribute (quadratic first, then linear) x value (0/1) x modalityDim. */
  private readonly words: Float32Array;
  readonly backbone: { W1: Float32Array; b1: Float32Array };
  static readonly QUAD = 8;
  static readonly LIN = 4;

  constructor(readonly o: AtlasOptions, seed: number) {
    const r = new Rng(seed, 'atlas-world');
    const L = o.latentDim, M = o.modalityDim, Q = AtlasWorld.QUAD, S = AtlasWorld.LIN;
    this.U = r.split('U').fillNormal(new Float32Array(Q * L), 1);
    this.V = r.split('V').fillNormal(new Float32Array(Q * L), 1);
    this.Wl = r.split('Wl').fillNormal(new Float32Array(S * L), 1);
    this.Ma = r.split('Ma').fillNormal(new Float32Array(M * L), 1 / Math.sqrt(L));
    this.words = r.split('words').fillNormal(new Float32Array((Q + S) * 2 * M), 1);
    this.backbone = {
      W1: r.split('W1').fillNormal(new Float32Array(o.hiddenDim * 2 * M), 1 / Math.sqrt(2 * M)),
      b1: r.split('b1').fillNormal(new Float32Array(o.hiddenDim), 0.1),
    };
  }

  /** Value (0/1) of attribute `a` at latent z. */
  attr(a: string, z: Float32Array): number {
    const { quad, j } = parseAttr(a);
    const L = this.o.latentDim;
    if (quad) {
      if (j >= AtlasWorld.QUAD) throw new InputError(`ATLAS attribute ${a}: at most ${AtlasWorld.QUAD} quadratic attributes`);
      let u = 0, v = 0;
      for (let k = 0; k < L; k++) { u += this.U[j * L + k] * z[k]; v += this.V[j * L + k] * z[k]; }
      return u * v > 0 ? 1 : 0;
    }
    if (j >= AtlasWorld.LIN) throw new InputError(`ATLAS attribute ${a}: at most ${AtlasWorld.LIN} linear attributes`);
    let s = 0;
    for (let k = 0; k < L; k++) s += this.Wl[j * L + k] * z[k];
    return s > 0 ? 1 : 0;
  }

  private image(z: Float32Array, rng: Rng, out: Float32Array, at: number): void {
    const { latentDim: L, modalityDim: M } = this.o;
    for (let i = 0; i < M; i++) {
      let s = 0;
      for (let k = 0; k < L; k++) s += this.Ma[i * L + k] * z[k];
      out[at + i] = Math.tanh(s) + this.o.imageNoise * rng.normal();
    }
  }

  private caption(attrs: readonly string[], bits: readonly number[], rng: Rng, out: Float32Array, at: number): void {
    const M = this.o.modalityDim;
    const rows = attrs.map((a, i) => { const p = parseAttr(a); return ((p.quad ? p.j : AtlasWorld.QUAD + p.j) * 2 + bits[i]) * M; });
    const scale = 1 / Math.sqrt(attrs.length);
    for (let i = 0; i < M; i++) {
      let s = 0;
      for (const r of rows) s += this.words[r + i];
      out[at + i] = Math.tanh(s * scale) + this.o.captionNoise * rng.normal();
    }
  }

  /**
   * `perClass` rows per class of a task ([image; caption], 2 * modalityDim; zeros for an absent
   * modality). image-cls: class = attribute bits read as a binary number, rows drawn by rejection;
   * match: half the rows name the image's own attribute values (label 1), half flip one (label 0);
   * entail: class 0 names the image's own values, class 1 + i flips attribute i.
   */
  sample(task: TaskSpec, perClass: number, rng: Rng): TaskData {
    const { latentDim: L, modalityDim: M } = this.o;
    const d = 2 * M, k = task.attrs.length;
    const outputs = task.kind === 'match' ? 2 : task.kind === 'entail' ? 1 + k : 1 << k;
    const n = perClass * outputs;
    const x = new Float32Array(n * d), y = new Int32Array(n);
    const z = new Float32Array(L);
    const draw = (): number[] => { for (let i = 0; i < L; i++) z[i] = rng.normal(); return task.attrs.map((a) => this.attr(a, z)); };
    let r = 0;
    for (let c = 0; c < outputs; c++) {
      for (let s = 0; s < perClass; s++, r++) {
        if (task.kind === 'image-cls') {
          let bits = draw();
          for (let tries = 0; bits.reduce((v, b) => 2 * v + b, 0) !== c; tries++) {
            if (tries > 10000) throw new InputError(`ATLAS task ${task.name}: class ${c} too rare to sample`);
            bits = draw();
          }
          this.image(z, rng, x, r * d);
        } else {
          const bits = draw();
          if (task.kind === 'match' && c === 0) { const f = rng.int(k); bits[f] = 1 - bits[f]; }
          if (task.kind === 'entail' && c > 0) bits[c - 1] = 1 - bits[c - 1];
          this.image(z, rng, x, r * d);
          this.caption(task.attrs, bits, rng, x, r * d + M);
        }
        y[r] = c;
      }
    }
    return { x, y, n, outputs };
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

  /**
   * w = (cos(c, key) + 1) / 2 with c the attention of q over the tokens [q; a] (per row). `a` is the
   * adapter's full output A(h) = h + U SiLU(D h), as in the method note and the official code (its
   * Adapter returns x + input, and that is what the query attends over); only the weighted sum makes
   * the skip path explicit.
   */
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
      const a = AtlasModel.adapterOut(h, this.bank[k]);
      const w = AtlasModel.mixWeight(m.queries!.slice([i, 0], [1, this.o.hiddenDim]).reshape([this.o.hiddenDim]) as tf.Tensor1D, h.add(a), this.bank[k].key);
      weights.push(w);
      out = out.add(a.mul(w.reshape([-1, 1]))) as tf.Tensor2D;
    });
    if (m.own !== null) {
      const ad = this.bank[m.own];
      const a = AtlasModel.adapterOut(h, ad);
      if (m.plainAdapter) out = out.add(a) as tf.Tensor2D;
      else {
        const w = AtlasModel.mixWeight(m.ownQuery!.reshape([this.o.hiddenDim]) as tf.Tensor1D, h.add(a), ad.key);
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

export function trainableCount(vars: readonly tf.Variable[]): number {
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
        const pick = (vs: tf.Variable[]): { name: string; tensor: tf.Tensor }[] => vs.filter((v) => grads[v.name]).map((v) => ({ name: v.name, tensor: grads[v.name] }));
        const ga = pick(vars), gq = pick(queryVars);
        if (ga.length) optA.applyGradients(ga);
        if (gq.length) optQ.applyGradients(gq);
      });
    }
  } finally {
    X.dispose(); Y.dispose(); optA.dispose(); optQ.dispose();
  }
}

export function accuracy(model: AtlasModel, m: AtlasTaskModel, data: TaskData, o: AtlasOptions): { acc: number; logits: Float32Array; meanWeights: number[]; rowStdWeights: number[] } {
  return tf.tidy(() => {
    const { logits, weights } = model.forward(m, tf.tensor2d(data.x, [data.n, 2 * o.modalityDim]));
    const pred = tf.argMax(logits, 1).dataSync();
    let c = 0;
    for (let i = 0; i < data.n; i++) if (pred[i] === data.y[i]) c++;
    return {
      acc: (100 * c) / data.n, logits: logits.dataSync() as Float32Array, meanWeights: weights.map((w) => tf.mean(w).dataSync()[0]),
      rowStdWeights: weights.map((w) => Math.sqrt(tf.moments(w).variance.dataSync()[0])),
    };
  });
}

function newHead(outputs: number, H: number): { W: tf.Variable; b: tf.Variable } {
  return { W: variable('atlas.head.W', [outputs, H], new Float32Array(outputs * H)), b: variable('atlas.head.b', [outputs], new Float32Array(outputs)) };
}

function newQueries(n: number, H: number, rng: Rng): tf.Variable {
  return variable('atlas.queries', [n, H], rng.fillNormal(new Float32Array(n * H), 1 / Math.sqrt(H)));
}

/** Train one task with a variant; the task's own adapter (scratch, atlas) joins the bank. */
export function trainTask(model: AtlasModel, spec: TaskSpec, data: TaskData, variant: AtlasVariant, steps: number, o: AtlasOptions, rng: Rng, orthoWeight: number):
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
    const ad = model.bank[own];
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
  const ad = model.bank[own];
  const ownQuery = newQueries(1, H, rng.split('own-query'));
  const m: AtlasTaskModel = { task: spec, uses: upstream, queries, own, ownQuery, head, backbone: null, plainAdapter: false };
  const keys = [...upstream.map((k) => model.bank[k].key), ad.key];
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
  /** Mean mixing weight (over test rows) per upstream adapter (experience / atlas), in bank order. */
  readonly mix_weights?: number[];
  /** Spread of each weight over the test rows (0: the gate ignores the input, a learned constant). */
  readonly mix_weights_row_std?: number[];
  /** The upstream adapters `mix_weights` refers to, by task name (bank order). */
  readonly mix_adapters?: string[];
  /** The upstream task this downstream task was built to be related to. */
  readonly related?: string;
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
  /** Paired over seeds, per order and downstream task: variant accuracy minus scratch accuracy. */
  readonly paired_vs_scratch: { order: string; task: string; variant: AtlasVariant; diff_mean: number; diff_std: number; wins: number; n: number }[];
  /**
   * Stage-1 mixing weights per order, downstream task and variant (experience / atlas): mean over seeds
   * of each upstream adapter's mean weight, the adapter built to be related, and in how many seeds
   * the related adapter had the largest weight.
   */
  readonly gate: { order: string; task: string; variant: AtlasVariant; related: string | null; weights: Record<string, number>; related_largest: number; n: number }[];
  readonly options: AtlasOptions;
  readonly stand_in: string;
}

export const ATLAS_STAND_IN = 'synthetic feature-level stand-in: a latent z defines binary attributes (quadratic: XOR of two half-spaces; linear: one half-space); image = fixed random tanh map of z + noise; caption = sum of fixed random word vectors naming attribute values, tanh, + noise; classes = attribute combinations; each downstream task shares one quadratic attribute with one upstream task (built to be related) and adds a new linear one; backbone = fixed random tanh fusion MLP over [image; caption] (not pretrained); no ViLT, no real image-text data';

/**
 * The multimodal task stream (a scenario kind of the trainer): the upstream tasks of `order`, then
 * the downstream tasks, each a session with its own label range (task-incremental); training rows
 * and test rows drawn from the seed's world.
 */
export function atlasSource(o: AtlasOptions, order: keyof typeof UPSTREAM): StreamSource {
  const specs = [...UPSTREAM[order], ...DOWNSTREAM];
  const nUp = UPSTREAM[order].length;
  const outputs = specs.map(outputsOf);
  const total = outputs.reduce((a, b) => a + b, 0);
  return {
    dataset: 'atlas-stand-in', split: order, numClasses: total, backbone: null, description: { kind: 'multimodal-tasks', order, options: o },
    seed(seed: number): SeedStream {
      const world = new AtlasWorld(o, seed);
      const rng = new Rng(seed, `atlas-${order}`);
      const d = 2 * o.modalityDim;
      const join = (parts: TaskData[], name: string): Dataset => {
        const n = parts.reduce((a, p) => a + p.n, 0);
        const x = new Float32Array(n * d), y = new Int32Array(n);
        let r = 0, off = 0;
        parts.forEach((p, j) => { x.set(p.x, r * d); for (let i = 0; i < p.n; i++) y[r + i] = off + p.y[i]; r += p.n; off += outputs[j]; });
        return { x, y, n, d, classNames: specs.flatMap((sp, j) => Array.from({ length: outputs[j] }, (_, c) => `${sp.name}:${c}`)), source: `${name}[seed ${seed}, ${order}]` };
      };
      const train = join(specs.map((sp, j) => world.sample(sp, j < nUp ? o.upstreamPerClass : o.shots, rng.split(`${sp.name}-train`))), 'atlas-train');
      const test = join(specs.map((sp) => world.sample(sp, o.testPerClass, new Rng(seed, `atlas-test-${sp.name}`))), 'atlas-test');
      const sessions: SessionInfo[] = [];
      const group = new Int32Array(total);
      let start = 0;
      specs.forEach((_sp, j) => {
        const ids = Array.from({ length: outputs[j] }, (_, k) => start + k);
        ids.forEach((k) => (group[k] = j));
        start += outputs[j];
        sessions.push({ index: j, newIds: ids, originalClasses: ids, seen: start });
      });
      const scenario: Scenario = {
        options: { numClasses: total, base: outputs[0], increment: 0, classOrderSeed: seed, fixedOrder: true },
        classOrder: Array.from({ length: total }, (_, k) => k), sessions, groupOf: (id) => group[id] ?? -1,
      };
      const val: Dataset = { ...train, x: new Float32Array(0), y: new Int32Array(0), n: 0 };
      const info: AtlasStreamInfo = { world, order, specs, upstream: nUp, options: o };
      return { scenario, train, val, test, taskIncremental: true, learnerInfo: info as unknown as Record<string, unknown> };
    },
  };
}

/** One seed and order through the trainer: upstream tasks with ATLAS, then each downstream task with every variant. */
export async function runAtlasSeed(o: AtlasOptions, seed: number, order: keyof typeof UPSTREAM, variants: readonly AtlasVariant[], withOrthoAblation: boolean):
  Promise<{ runs: AtlasRunEntry[]; before: number[]; after: number[]; identical: boolean; ablation: AtlasResult['ortho_ablation'] }> {
  const r = await runEngine(atlasSource(o, order), { split: order, seeds: [seed], methods: ['atlas'], methodOptions: { atlas: { variants: [...variants], orthoAblation: withOrthoAblation } } });
  const diag = (r.diagnostics[`seed-${seed}`] as Record<string, { trainable: Record<string, Record<string, number>>; mix: Record<string, Record<string, Record<string, unknown>>>; upstream_identical: boolean }>).atlas;
  const nUp = UPSTREAM[order].length;
  const acc = (out: string, t: number, j: number): number => r.runs.find((e) => e.method === out)!.acc_matrix[t][j];
  const last = nUp + DOWNSTREAM.length - 1;
  const anyOut = variants[0] ?? ATLAS_ORTHO0;
  const before = UPSTREAM[order].map((_s, j) => acc(anyOut, j, j));
  const after = UPSTREAM[order].map((_s, j) => acc(anyOut, last, j));
  const runs: AtlasRunEntry[] = [];
  const ablation: AtlasResult['ortho_ablation'] = [];
  DOWNSTREAM.forEach((spec, i) => {
    const g = nUp + i;
    for (const variant of variants) {
      runs.push({
        seed, task: spec.name, variant, acc: acc(variant, g, g), trainable_params: diag.trainable[spec.name][variant], order,
        ...(diag.mix[spec.name]?.[variant] ?? {}),
        ...(spec.related ? { related: spec.related } : {}),
      } as AtlasRunEntry);
    }
    if (withOrthoAblation) {
      ablation.push({ seed, order, task: spec.name, ortho: 0, acc: acc(ATLAS_ORTHO0, g, g) });
      if (variants.includes('atlas')) ablation.push({ seed, order, task: spec.name, ortho: o.orthoWeight, acc: acc('atlas', g, g) });
    }
  });
  return { runs, before, after, identical: diag.upstream_identical, ablation };
}

export async function runAtlas(o: AtlasOptions, seeds: readonly number[], opts: { orders?: readonly (keyof typeof UPSTREAM)[]; orthoAblation?: boolean; onSeed?: (seed: number, order: string) => void } = {}): Promise<AtlasResult> {
  const orders = opts.orders ?? ['multimodal-first', 'unimodal-first'];
  const variants: AtlasVariant[] = ['scratch', 'experience', 'atlas', 'full_ft'];
  const runs: AtlasRunEntry[] = [];
  const before: number[][] = [], after: number[][] = [];
  const ablation: AtlasResult['ortho_ablation'] = [];
  let identical = true;
  for (const seed of seeds) {
    for (const order of orders) {
      const r = await runAtlasSeed(o, seed, order, variants, opts.orthoAblation ?? true);
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
    summary.push({ order, task: spec.name, variant, acc_mean: mean(accs), acc_std: accs.length > 1 ? std(accs) : 0, n: rs.length, trainable_params: rs[0].trainable_params });
  }
  const colMean = (m: number[][]): number[] => m[0].map((_, j) => mean(m.map((r) => r[j])));
  return {
    runs, upstream_acc_before: colMean(before), upstream_acc_after: colMean(after), upstream_tasks: UPSTREAM[orders[0]].map((t) => t.name),
    upstream_identical: identical, orders: [...orders], ortho_ablation: ablation, summary,
    paired_vs_scratch: pairedVsScratch(runs), gate: gateSummary(runs), options: o, stand_in: ATLAS_STAND_IN,
  };
}

/** Paired differences to the scratch adapter (same seed, order and task). */
export function pairedVsScratch(runs: readonly AtlasRunEntry[]): AtlasResult['paired_vs_scratch'] {
  const out: AtlasResult['paired_vs_scratch'] = [];
  const keys = [...new Set(runs.map((r) => `${r.order}\u0000${r.task}`))];
  for (const key of keys) {
    const [order, task] = key.split('\u0000') as [string, string];
    for (const variant of ['experience', 'atlas', 'full_ft'] as const) {
      const d: number[] = [];
      for (const r of runs) {
        if (r.order !== order || r.task !== task || r.variant !== variant) continue;
        const base = runs.find((b) => b.order === order && b.task === task && b.seed === r.seed && b.variant === 'scratch');
        if (base) d.push(r.acc - base.acc);
      }
      if (d.length) out.push({ order, task, variant, diff_mean: mean(d), diff_std: d.length > 1 ? std(d) : 0, wins: d.filter((v) => v > 0).length, n: d.length });
    }
  }
  return out;
}

/** Mean stage-1 weight per upstream adapter and how often the related adapter got the largest weight. */
export function gateSummary(runs: readonly AtlasRunEntry[]): AtlasResult['gate'] {
  const out: AtlasResult['gate'] = [];
  const groups = new Map<string, AtlasRunEntry[]>();
  for (const r of runs) {
    if (!r.mix_weights || !r.mix_adapters) continue;
    const k = `${r.order}\u0000${r.task}\u0000${r.variant}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const rs of groups.values()) {
    const first = rs[0];
    const weights: Record<string, number> = {};
    for (const name of first.mix_adapters!) weights[name] = mean(rs.map((r) => r.mix_weights![r.mix_adapters!.indexOf(name)]));
    const related = first.related ?? null;
    const largest = rs.filter((r) => {
      if (!related) return false;
      const i = r.mix_adapters!.indexOf(related);
      return i >= 0 && r.mix_weights!.every((w, k) => k === i || w < r.mix_weights![i]);
    }).length;
    out.push({ order: first.order, task: first.task, variant: first.variant, related, weights, related_largest: largest, n: rs.length });
  }
  return out;
}
