// Small building blocks on tfjs: named parameter stores, a seeded initialiser, SGD with momentum
// and weight decay and Adam as one in-place pass over all parameters, and the primitive layers (linear, layer norm, exact GELU) the backbones share.
// Parameters are plain tf.Variables in a Map keyed by timm/PyTorch-style names, so weights can be
// exchanged with PyTorch checkpoints and PET modules can be kept apart from the frozen backbone.
import { tf } from './tensor.js';
import { InputError } from './errors.js';
import { nativeAddon } from './linalg/index.js';

export { softmaxCrossEntropy } from './kernels/loss.js';
export { cosineLogits, l2normalize } from './kernels/cosine.js';
import type { Rng } from './rng.js';

type NamedTensor = { name: string; tensor: tf.Tensor };

export type Params = Map<string, tf.Variable>;

/** A weight exchanged with other tools: PyTorch layout, float32. */
export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

// tf.variable(t) and v.assign(t) share t's data but leave t itself alive as a tracked tensor, so
// every helper here disposes the tensor it made the variable from: otherwise each parameter store,
// clone or restored checkpoint leaks one tensor per weight (wasm memory that never comes back).

export function variable(name: string, shape: readonly number[], data: Float32Array, trainable = true): tf.Variable {
  const t = tf.tensor(data, shape as number[], 'float32');
  const v = tf.variable(t, trainable, `${name}_${uid++}`);
  t.dispose();
  return v;
}
let uid = 0;

/** A new trainable variable holding a copy of `v`'s values. */
export function cloneVariable(v: tf.Variable, name = v.name): tf.Variable {
  const t = v.clone();
  const out = tf.variable(t, true, `${name}_${uid++}`);
  t.dispose();
  return out;
}

/** v <- data (shape defaults to v's own). */
export function assignValues(v: tf.Variable, data: Float32Array, shape: readonly number[] = v.shape): void {
  const t = tf.tensor(data, shape as number[], 'float32');
  v.assign(t);
  t.dispose();
}

export function normalInit(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}

export function constInit(n: number, v: number): Float32Array {
  return new Float32Array(n).fill(v);
}

export function getParam(p: Params, name: string): tf.Variable {
  const v = p.get(name);
  if (!v) throw new InputError(`no parameter ${name} (have ${[...p.keys()].slice(0, 8).join(', ')}${p.size > 8 ? ', ...' : ''})`);
  return v;
}

/** Copy values into a parameter store; shapes must match; unknown or missing names are errors. */
export function setParams(p: Params, map: ReadonlyMap<string, WeightTensor>, opts: { allowMissing?: readonly string[] } = {}): void {
  for (const [name, w] of map) {
    const v = p.get(name);
    if (!v) throw new InputError(`unknown weight ${name}; known: ${[...p.keys()].join(', ')}`);
    if (v.shape.length !== w.shape.length || v.shape.some((s, i) => s !== w.shape[i])) {
      throw new InputError(`weight ${name}: expected shape [${v.shape.join(', ')}], found [${w.shape.join(', ')}]`);
    }
    if (w.data.length !== v.size) throw new InputError(`weight ${name}: ${w.data.length} values for shape [${w.shape.join(', ')}]`);
    assignValues(v, w.data);
  }
  const allow = new Set(opts.allowMissing ?? []);
  const missing = [...p.keys()].filter((k) => !map.has(k) && !allow.has(k));
  if (missing.length) throw new InputError(`weights missing: ${missing.join(', ')}`);
}

/** Read parameter values back (a copy, PyTorch layout as stored). */
export function getParamValues(p: Params): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const [name, v] of p) out.set(name, { shape: v.shape.slice(), data: v.dataSync().slice() as Float32Array });
  return out;
}

/** Independent copy of a parameter store (new variables). */
export function cloneParams(p: Params): Params {
  const out: Params = new Map();
  for (const [name, v] of p) out.set(name, cloneVariable(v, name));
  return out;
}

export function disposeParams(p: Params): void {
  for (const v of p.values()) v.dispose();
}

export function countParams(p: Params): number {
  let n = 0;
  for (const v of p.values()) n += v.size;
  return n;
}

/**
 * y = act(x W^T + b) with W in PyTorch layout [out, in]; x has any leading dims. One fused kernel
 * (product, bias and activation in one output buffer; kernels/fusedMatMul.ts) whose gradient
 * computes only the gradients asked for.
 */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor, activation: 'linear' | 'relu' = 'linear'): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1]!;
  const lead = x.shape.slice(0, -1);
  const x2 = x.reshape([-1, inDim]);
  const inputs: Record<string, tf.Tensor> = { a: x2, b: w };
  if (b) inputs['bias'] = b;
  const y = tf.engine().runKernel(tf._FusedMatMul, inputs as tf.NamedTensorMap, { transposeA: false, transposeB: true, activation } as unknown as tf.NamedAttrMap) as tf.Tensor;
  return y.reshape([...lead, w.shape[0]!]);
}

/** LayerNorm over the last axis (PyTorch semantics: biased variance). */
export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const axis = x.shape.length - 1;
  const { mean, variance } = tf.moments(x, axis, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(g).add(b);
}

/** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)) (PyTorch nn.GELU default). */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1));
}

export interface SgdOptions {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

// Optimisers as one pass over all parameters: each parameter, its gradient and its state are read
// and written in place on the wasm heap (no tensors allocated, no kernels dispatched). A parameter
// whose data another tensor shares (backend refCount > 1, e.g. a tf.identity of it still alive),
// or any parameter on another backend, gets a fresh buffer through assign instead. The loops run
// compiled and vectorised in the addon (native/src/kernels.cc, float32). Without it both fall back
// to tfjs ops: JS loops over the heap measured 2x slower than tfjs's SIMD kernels.

let nativeLoops = true;
/**
 * Use the addon's compiled update loops when it has them (default), or not (for tests and
 * comparisons): an Sgd or FusedAdam made afterwards runs tfjs ops (FusedAdam through tf.train.adam).
 */
export function useNativeOptimisers(on: boolean): void {
  nativeLoops = on;
}

interface HeapBackend {
  typedArrayFromHeap(t: { shape: number[]; dtype: string; dataId: object }): Float32Array;
  refCount(dataId: object): number;
}

/** The heap backend when tfjs runs on wasm, else null. */
function heapBackend(): HeapBackend | null {
  return tf.getBackend() === 'wasm' ? (tf.backend() as unknown as HeapBackend) : null;
}

/** Read-only values of a float32 tensor: a heap view on wasm, else a copy. */
function readValues(t: tf.Tensor, hb: HeapBackend | null): Float32Array {
  if (t.dtype !== 'float32') throw new InputError(`optimiser: gradient of dtype ${t.dtype}, expected float32`);
  return hb ? hb.typedArrayFromHeap(t as unknown as { shape: number[]; dtype: string; dataId: object }) : (t.dataSync() as Float32Array);
}

/**
 * Update v's values with `update(p)`: in place on the heap where v owns its data alone, else a copy
 * assigned back. Only parameters of rank <= 2 (matrices and vectors, which reach the project's own
 * matmul kernels or elementwise ops) are written in place: tfjs-wasm's stock conv kernels keep an
 * XNNPACK operator with the filter packed, keyed by the filter's data id, so an in-place write to
 * a conv filter would leave every later forward on the stale packed copy. A fresh buffer (assign)
 * disposes the old id and with it the packed copy.
 */
function updateInPlace(v: tf.Variable, hb: HeapBackend | null, update: (p: Float32Array) => void): void {
  const info = v as unknown as { shape: number[]; dtype: string; dataId: object };
  if (hb && v.dtype === 'float32' && v.rank <= 2 && hb.refCount(info.dataId) === 1) {
    update(hb.typedArrayFromHeap(info));
    return;
  }
  const p = Float32Array.from(v.dataSync() as Float32Array);
  update(p);
  const t = tf.tensor(p, v.shape, 'float32');
  v.assign(t);
  t.dispose();
}

function checkGradShape(v: tf.Variable, g: tf.Tensor): void {
  if (g.size !== v.size) throw new InputError(`optimiser: gradient of shape [${g.shape.join(', ')}] for parameter ${v.name} of shape [${v.shape.join(', ')}]`);
}

/**
 * SGD with momentum and L2 weight decay (PyTorch semantics), learning rate settable per step: one
 * compiled pass per parameter with the addon; without it (or after useNativeOptimisers(false) at
 * construction) the same update as tensor ops, which tfjs's SIMD kernels run faster than a JS loop
 * over the heap (measured 2x).
 */
export class Sgd {
  private readonly velocity = new Map<tf.Variable, Float32Array>();
  private readonly velocityT = new Map<tf.Variable, tf.Variable>();
  private readonly compiled: boolean;
  constructor(readonly opts: SgdOptions) {
    this.compiled = nativeLoops && Boolean(nativeAddon()?.sgdUpdate);
  }

  step(grads: ReadonlyMap<tf.Variable, tf.Tensor>, lr = this.opts.lr): void {
    const { momentum, weightDecay } = this.opts;
    if (!this.compiled) {
      tf.tidy(() => {
        for (const [v, g0] of grads) {
          let g = g0;
          if (weightDecay > 0) g = g.add(v.mul(weightDecay));
          let buf = this.velocityT.get(v);
          if (!buf) {
            buf = tf.variable(tf.zerosLike(v), false);
            this.velocityT.set(v, buf);
          }
          buf.assign(buf.mul(momentum).add(g));
          v.assign(v.sub(buf.mul(lr)));
        }
      });
      return;
    }
    const hb = heapBackend();
    const native = nativeAddon()!;
    for (const [v, g0] of grads) {
      checkGradShape(v, g0);
      let buf = this.velocity.get(v);
      if (!buf) {
        buf = new Float32Array(v.size);
        this.velocity.set(v, buf);
      }
      const vel = buf;
      // The gradient view is taken in the callback: updateInPlace allocates nothing before it.
      updateInPlace(v, hb, (p) => native.sgdUpdate!(p, readValues(g0, hb), vel, lr, momentum, weightDecay));
    }
  }

  dispose(): void {
    for (const b of this.velocityT.values()) b.dispose();
    this.velocityT.clear();
    this.velocity.clear();
  }
}

export interface AdamOptions {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  /** Default: the backend's epsilon (1e-7 on wasm), as tf.train.adam. */
  readonly epsilon?: number;
}

/** Adam's moments of some variables, in their order, and the step count (FusedAdam.momentsOf / setMoments). */
export interface AdamMoments {
  readonly iterations: number;
  readonly m: readonly Float32Array[];
  readonly s: readonly Float32Array[];
}

interface StockAdam {
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  iterations_: number;
}

/**
 * Adam as a tf.Optimizer (minimize, computeGradients, applyGradients work as usual) that updates
 * every parameter in one pass and gives tf.train.adam's values bit for bit: the addon's compiled
 * loop (`adamTfjs`) repeats tf.train.adam's float32 operations in its order (its scalars rounded
 * as tfjs rounds them, its bias corrections from the same float32 running products b^t), with the
 * moments in JS Float32Arrays and the parameters written in place on the wasm heap. Moments are
 * keyed by variable name (tf.train.adam keys them by position in the list). Without the addon's
 * loop (or after useNativeOptimisers(false)) every update goes to a tf.train.adam: a scalar JS
 * loop, with its double-precision division and square root, measured 2x slower than tfjs's 14
 * SIMD kernels per parameter.
 */
export class FusedAdam extends tf.Optimizer {
  static get className(): string {
    return 'PerennialFusedAdam';
  }
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly moments = new Map<string, { m: Float32Array; s: Float32Array }>();
  private t = 0;
  /** tfjs's float32 running products beta1^accT and beta2^accT. */
  private acc = { t: 1, b1: 0, b2: 0 };
  /** The stock optimiser every update goes to when the compiled loop is unavailable. */
  private readonly stock: tf.Optimizer | null;

  constructor(opts: AdamOptions) {
    super();
    this.learningRate = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? tf.backend().epsilon();
    this.acc = { t: 1, b1: Math.fround(this.beta1), b2: Math.fround(this.beta2) };
    this.stock = nativeLoops && nativeAddon()?.adamTfjs ? null : tf.train.adam(this.learningRate, this.beta1, this.beta2, this.epsilon);
  }

  /** tf.train.adam's accBeta1 / accBeta2 at step t (1-based): float32 products, fround(b) then fround(acc * b). */
  private accAt(t: number): { b1: number; b2: number } {
    if (t < this.acc.t) this.acc = { t: 1, b1: Math.fround(this.beta1), b2: Math.fround(this.beta2) };
    const f1 = Math.fround(this.beta1), f2 = Math.fround(this.beta2);
    let { b1, b2 } = this.acc;
    for (let k = this.acc.t; k < t; k++) { b1 = Math.fround(b1 * f1); b2 = Math.fround(b2 * f2); }
    this.acc = { t, b1, b2 };
    return { b1, b2 };
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    if (this.stock) {
      this.stock.applyGradients(variableGradients);
      this.incrementIterations();
      return;
    }
    const native = nativeAddon()!;
    const list: [string, tf.Tensor | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor])
      : Object.entries(variableGradients);
    const hb = heapBackend();
    this.t++;
    const f = Math.fround;
    const acc = this.accAt(this.t);
    const b1 = f(this.beta1), a1 = f(1 - this.beta1), b2 = f(this.beta2), a2 = f(1 - this.beta2);
    const om1 = f(1 - acc.b1), om2 = f(1 - acc.b2), negLr = f(-this.learningRate), eps = f(this.epsilon);
    for (const [name, grad] of list) {
      const v = tf.engine().registeredVariables[name];
      if (!v) throw new InputError(`FusedAdam: no variable named ${name}`);
      let st = this.moments.get(name);
      if (!st) {
        st = { m: new Float32Array(v.size), s: new Float32Array(v.size) };
        this.moments.set(name, st);
      }
      if (!grad) continue;
      checkGradShape(v, grad);
      const { m, s } = st;
      updateInPlace(v, hb, (p) => native.adamTfjs!(p, readValues(grad, hb), m, s, b1, a1, b2, a2, om1, om2, negLr, eps));
    }
    this.incrementIterations();
  }

  /** Copies of the moments of `vars`, in their order (zeros for a variable not yet updated), and the step count. */
  momentsOf(vars: readonly tf.Variable[]): AdamMoments {
    if (this.stock) {
      const a = this.stock as unknown as StockAdam;
      const find = (list: StockAdam['accumulatedFirstMoment'], v: tf.Variable, kind: string): Float32Array => {
        const e = list.find((x) => x?.originalName === `${v.name}/${kind}`);
        return e ? Float32Array.from(e.variable.dataSync() as Float32Array) : new Float32Array(v.size);
      };
      return { iterations: this.iterations, m: vars.map((v) => find(a.accumulatedFirstMoment, v, 'm')), s: vars.map((v) => find(a.accumulatedSecondMoment, v, 'v')) };
    }
    const get = (v: tf.Variable) => this.moments.get(v.name);
    return {
      iterations: this.t,
      m: vars.map((v) => Float32Array.from(get(v)?.m ?? new Float32Array(v.size))),
      s: vars.map((v) => Float32Array.from(get(v)?.s ?? new Float32Array(v.size))),
    };
  }

  /**
   * Set the step count and the moments of `vars` (copies, in their order), replacing all state: e.g.
   * another network's moments (momentsOf) onto its clone. Without the compiled loop the stock
   * optimiser keys them by position: later updates must list `vars` in this order (minimize with
   * `vars` as its list does).
   */
  setMoments(vars: readonly tf.Variable[], st: AdamMoments): void {
    if (st.m.length !== vars.length || st.s.length !== vars.length || vars.some((v, i) => st.m[i]!.length !== v.size || st.s[i]!.length !== v.size)) {
      throw new InputError('FusedAdam.setMoments: moments do not match the variables');
    }
    if (!(Number.isInteger(st.iterations) && st.iterations >= 0)) throw new InputError(`FusedAdam.setMoments: iterations must be a non-negative integer, got ${st.iterations}`);
    this.iterations_ = st.iterations;
    if (this.stock) {
      const a = this.stock as unknown as StockAdam;
      for (const e of [...a.accumulatedFirstMoment, ...a.accumulatedSecondMoment]) e?.variable.dispose();
      const mk = (arrs: readonly Float32Array[], kind: string) => vars.map((v, i) => ({ originalName: `${v.name}/${kind}`, variable: tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(arrs[i]!), v.shape, 'float32'), false)) }));
      a.accumulatedFirstMoment = mk(st.m, 'm');
      a.accumulatedSecondMoment = mk(st.s, 'v');
      // tf.train.adam's accBeta before step iterations + 1.
      const acc = this.accAt(st.iterations + 1);
      tf.tidy(() => { a.accBeta1.assign(tf.scalar(acc.b1)); a.accBeta2.assign(tf.scalar(acc.b2)); });
      a.iterations_ = st.iterations;
      return;
    }
    this.t = st.iterations;
    this.moments.clear();
    vars.forEach((v, i) => this.moments.set(v.name, { m: Float32Array.from(st.m[i]!), s: Float32Array.from(st.s[i]!) }));
  }

  /** Iterations, then each variable's first and then second moments (`name/m`, `name/v`), as tf.train.adam orders them. */
  override async getWeights(): Promise<NamedTensor[]> {
    if (this.stock) return this.stock.getWeights();
    const names = [...this.moments.keys()];
    const shapeOf = (n: string): number[] => tf.engine().registeredVariables[n]?.shape ?? [this.moments.get(n)!.m.length];
    return [
      await this.saveIterations(),
      ...names.map((n) => ({ name: `${n}/m`, tensor: tf.tensor(this.moments.get(n)!.m, shapeOf(n), 'float32') })),
      ...names.map((n) => ({ name: `${n}/v`, tensor: tf.tensor(this.moments.get(n)!.s, shapeOf(n), 'float32') })),
    ];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    if (this.stock) {
      await this.stock.setWeights(weightValues);
      this.iterations_ = this.stock.iterations;
      return;
    }
    const rest = await this.extractIterations(weightValues);
    this.t = this.iterations;
    this.moments.clear();
    const half = rest.length / 2;
    for (let i = 0; i < half; i++) {
      const name = rest[i]!.name.replace(/\/m$/, '');
      this.moments.set(name, { m: Float32Array.from(rest[i]!.tensor.dataSync() as Float32Array), s: Float32Array.from(rest[i + half]!.tensor.dataSync() as Float32Array) });
    }
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  override dispose(): void {
    this.stock?.dispose();
    this.moments.clear();
  }
}

/** A FusedAdam (same arguments as tf.train.adam). */
export function fusedAdam(lr = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdam {
  return new FusedAdam({ lr, beta1, beta2, ...(epsilon === undefined ? {} : { epsilon }) });
}

/** Cosine learning rate from `lr` down to 0 over `total` steps. */
export function cosineLr(lr: number, step: number, total: number): number {
  return 0.5 * lr * (1 + Math.cos((Math.PI * step) / Math.max(1, total)));
}

/** Compute the loss and the gradients of the given variables in one pass. */
export function lossAndGrads(f: () => tf.Scalar, vars: readonly tf.Variable[]): { loss: number; grads: Map<tf.Variable, tf.Tensor> } {
  const { value, grads } = tf.variableGrads(f, vars as tf.Variable[]);
  const loss = value.dataSync()[0];
  value.dispose();
  const out = new Map<tf.Variable, tf.Tensor>();
  for (const v of vars) {
    const g = grads[v.name];
    if (g) out.set(v, g);
  }
  return { loss, grads: out };
}

export function disposeGrads(g: Map<tf.Variable, tf.Tensor>): void {
  for (const t of g.values()) t.dispose();
}

/**
 * Dispose a tfjs optimizer and everything it holds. tfjs-core's MomentumOptimizer.dispose (4.x)
 * frees its momentum scalar and accumulators but not the learning-rate scalar its SGD base keeps,
 * so each tf.train.momentum otherwise leaves one tensor behind.
 */
export function disposeOptimizer(opt: tf.Optimizer): void {
  opt.dispose();
  if (opt instanceof tf.MomentumOptimizer) (opt as unknown as { c?: tf.Tensor }).c?.dispose();
}
