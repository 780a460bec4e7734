// Small building blocks on tfjs: named parameter stores, a seeded initialiser, SGD with momentum
// and weight decay, and the primitive layers (linear, layer norm, exact GELU) the backbones share.
// Parameters are plain tf.Variables in a Map keyed by timm/PyTorch-style names, so weights can be
// exchanged with PyTorch checkpoints and PET modules can be kept apart from the frozen backbone.
import { tf } from './tensor.js';
import { InputError } from './errors.js';
import type { Rng } from './rng.js';

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

/** y = x W^T + b with W in PyTorch layout [out, in]; x has any leading dims. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1]!;
  const lead = x.shape.slice(0, -1);
  const x2 = x.reshape([-1, inDim]);
  let y = tf.matMul(x2, w as tf.Tensor2D, false, true);
  if (b) y = y.add(b);
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

/** SGD with momentum and L2 weight decay (PyTorch semantics), learning rate settable per step. */
export class Sgd {
  private readonly velocity = new Map<tf.Variable, tf.Variable>();
  constructor(readonly opts: SgdOptions) {}

  step(grads: ReadonlyMap<tf.Variable, tf.Tensor>, lr = this.opts.lr): void {
    tf.tidy(() => {
      for (const [v, g0] of grads) {
        let g = g0;
        if (this.opts.weightDecay > 0) g = g.add(v.mul(this.opts.weightDecay));
        let buf = this.velocity.get(v);
        if (!buf) {
          buf = tf.variable(tf.zerosLike(v), false);
          this.velocity.set(v, buf);
        }
        buf.assign(buf.mul(this.opts.momentum).add(g));
        v.assign(v.sub(buf.mul(lr)));
      }
    });
  }

  dispose(): void {
    for (const b of this.velocity.values()) b.dispose();
    this.velocity.clear();
  }
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
