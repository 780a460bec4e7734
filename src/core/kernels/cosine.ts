// Cosine-classifier logits as one wasm kernel forward and one backward:
//   PerennialCosineLogits      logits[i, c] = s * <f_i / |f_i|, w_c / |w_c|>, c < seen
//   PerennialCosineLogitsGrad  df, dw (rows from `seen` on get zero) and ds
// with |v| = max(sqrt(sum v^2), 1e-12), as l2-normalise-then-matMul does. Composed from tfjs ops that
// is two normalisations (abs, square, sum, sqrt, maximum, divide each), a slice, a product and a
// scale: about 15 kernels forward and 30 backward, each with its dispatch and a saved-tensor clone,
// which in SAFE's SSF step at batch 48 cost more than the head's arithmetic by far. The loops here
// accumulate in float64 and round once, so values differ from the composed ops at float32 rounding.
// One difference beyond rounding: a row of zeros gets the gradient dv / 1e-12 here, where the
// composed ops give NaN (the gradient of sqrt at 0).
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerOwnKernels } from './register.js';
import { engineKernelsEnabled } from './engine.js';

const BACKEND = 'wasm';
export const COSINE_LOGITS = 'PerennialCosineLogits';
export const COSINE_LOGITS_GRAD = 'PerennialCosineLogitsGrad';
const EPS = 1e-12;

type Inputs = { f: TensorInfo; w: TensorInfo; scale: TensorInfo };
type Args<I> = { inputs: I; backend: BackendWasm; attrs: NamedAttrMap };

function dims(f: TensorInfo, w: TensorInfo, scale: TensorInfo, seen: number, what: string): { n: number; d: number; rows: number } {
  const ok = f.dtype === 'float32' && w.dtype === 'float32' && scale.dtype === 'float32' && f.shape.length === 2 && w.shape.length === 2 &&
    scale.shape.length === 0 && f.shape[1] === w.shape[1];
  if (!ok) throw new Error(`${what}: needs float32 f [n, d], w [C, d] and a scalar scale, got ${f.dtype} [${f.shape}], ${w.dtype} [${w.shape}], ${scale.dtype} [${scale.shape}]`);
  const rows = w.shape[0]!;
  if (!(Number.isInteger(seen) && seen >= 1 && seen <= rows)) throw new Error(`${what}: seen must be 1-${rows}, got ${seen}`);
  return { n: f.shape[0]!, d: f.shape[1]!, rows };
}

/** 1 / max(|v_r|, eps) for each of `count` rows of length d. */
function inverseNorms(v: Float32Array, count: number, d: number): Float64Array {
  const inv = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    let s = 0;
    for (let k = 0, o = r * d; k < d; k++) s += v[o + k] * v[o + k];
    inv[r] = 1 / Math.max(Math.sqrt(s), EPS);
  }
  return inv;
}

/** cos[i * seen + c] = <f_i, w_c> / (|f_i| |w_c|), in float64. */
function cosines(f: Float32Array, w: Float32Array, n: number, d: number, seen: number, invF: Float64Array, invW: Float64Array): Float64Array {
  const cos = new Float64Array(n * seen);
  for (let i = 0; i < n; i++) {
    const fo = i * d;
    for (let c = 0; c < seen; c++) {
      let s = 0;
      for (let k = 0, wo = c * d; k < d; k++) s += f[fo + k] * w[wo + k];
      cos[i * seen + c] = s * invF[i] * invW[c];
    }
  }
  return cos;
}

const forward = ((args: Args<Inputs>): TensorInfo => {
  const { f, w, scale } = args.inputs, backend = args.backend;
  const seen = args.attrs.seen as number;
  const { n, d } = dims(f, w, scale, seen, COSINE_LOGITS);
  const out = backend.makeOutput([n, seen], 'float32');
  // Views after makeOutput: allocating may grow (and so replace) the wasm heap.
  const h = (t: TensorInfo): Float32Array => backend.typedArrayFromHeap(t) as Float32Array;
  const F = h(f), W = h(w), s = h(scale)[0]!;
  const cos = cosines(F, W, n, d, seen, inverseNorms(F, n, d), inverseNorms(W, seen, d));
  const z = h(out);
  for (let j = 0; j < cos.length; j++) z[j] = s * cos[j];
  return out;
}) as unknown as KernelFunc;

/**
 * The gradient of v / max(|v|, eps) applied to g (the gradient with respect to the normalised row):
 * (g - u <u, g>) / |v| with u = v / |v| when |v| > eps, else g / eps.
 */
function normaliseBackward(v: Float32Array, vo: number, inv: number, g: Float64Array, go: number, d: number, out: Float32Array, oo: number): void {
  if (inv >= 1 / EPS) {
    for (let k = 0; k < d; k++) out[oo + k] = g[go + k] * inv;
    return;
  }
  let ug = 0;
  for (let k = 0; k < d; k++) ug += v[vo + k] * g[go + k];
  ug *= inv;
  for (let k = 0; k < d; k++) out[oo + k] = (g[go + k] - v[vo + k] * inv * ug) * inv;
}

const backward = ((args: Args<Inputs & { dy: TensorInfo }>): TensorInfo[] => {
  const { f, w, scale, dy } = args.inputs, backend = args.backend;
  const seen = args.attrs.seen as number;
  const { n, d, rows } = dims(f, w, scale, seen, COSINE_LOGITS_GRAD);
  if (dy.dtype !== 'float32' || dy.shape.length !== 2 || dy.shape[0] !== n || dy.shape[1] !== seen) throw new Error(`${COSINE_LOGITS_GRAD}: dy must be float32 [${n}, ${seen}], got ${dy.dtype} [${dy.shape}]`);
  const df = backend.makeOutput([n, d], 'float32');
  const dw = backend.makeOutput([rows, d], 'float32');
  const ds = backend.makeOutput([], 'float32');
  const h = (t: TensorInfo): Float32Array => backend.typedArrayFromHeap(t) as Float32Array;
  const F = h(f), W = h(w), G = h(dy), s = h(scale)[0]!;
  const invF = inverseNorms(F, n, d), invW = inverseNorms(W, seen, d);
  const cos = cosines(F, W, n, d, seen, invF, invW);
  let dsum = 0;
  for (let j = 0; j < cos.length; j++) dsum += G[j] * cos[j];
  h(ds)[0] = dsum;
  // Gradients with respect to the normalised rows: gF_i = s sum_c G_ic w_c/|w_c|, gW_c = s sum_i G_ic f_i/|f_i|.
  const gF = new Float64Array(n * d), gW = new Float64Array(seen * d);
  for (let i = 0; i < n; i++) {
    const fo = i * d;
    for (let c = 0; c < seen; c++) {
      const g = s * G[i * seen + c];
      if (g === 0) continue;
      const a = g * invW[c], b = g * invF[i], wo = c * d;
      for (let k = 0; k < d; k++) { gF[fo + k] += a * W[wo + k]; gW[wo + k] += b * F[fo + k]; }
    }
  }
  const DF = h(df), DW = h(dw);
  for (let i = 0; i < n; i++) normaliseBackward(F, i * d, invF[i], gF, i * d, d, DF, i * d);
  for (let c = 0; c < seen; c++) normaliseBackward(W, c * d, invW[c], gW, c * d, d, DW, c * d);
  DW.fill(0, seen * d);
  return [df, dw, ds];
}) as unknown as KernelFunc;

const kernels: KernelConfig[] = [
  { kernelName: COSINE_LOGITS, backendName: BACKEND, kernelFunc: forward },
  { kernelName: COSINE_LOGITS_GRAD, backendName: BACKEND, kernelFunc: backward },
];

const grad: tf.GradConfig = {
  kernelName: COSINE_LOGITS,
  inputsToSave: ['f', 'w', 'scale'],
  gradFunc: (dys, saved, attrs) => {
    const [f, w, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    // One kernel gives all three. Run here, in the scope of the whole gradient computation: each
    // input's gradient function runs in its own tidy, which would dispose the other two outputs.
    const [df, dw, ds] = tf.engine().runKernel(COSINE_LOGITS_GRAD, { f, w, scale, dy } as unknown as tf.NamedTensorMap, attrs as NamedAttrMap) as unknown as tf.Tensor[];
    return { f: () => df!, w: () => dw!, scale: () => ds! };
  },
};

/** Register the kernels and the gradient (idempotent; before or after setBackend; initTf does). */
export function installCosineKernels(): void {
  registerOwnKernels(kernels, [grad]);
}

function kernelFits(f: tf.Tensor, w: tf.Tensor, scale: tf.Tensor, seen: number): boolean {
  return tf.getBackend() === BACKEND && engineKernelsEnabled() && f.rank === 2 && w.rank === 2 && scale.rank === 0 && f.dtype === 'float32' &&
    w.dtype === 'float32' && scale.dtype === 'float32' && f.shape[1] === w.shape[1] && Number.isInteger(seen) && seen >= 1 && seen <= w.shape[0]!;
}

/** v / max(|v|, 1e-12) along `axis`. */
export function l2normalize(x: tf.Tensor, axis = -1): tf.Tensor {
  return x.div(tf.norm(x, 'euclidean', axis, true).maximum(EPS));
}

/**
 * Cosine-classifier logits scale * cos(f_i, w_c) over the first `seen` rows of w: f [n, d], w [C, d],
 * a scalar scale -> [n, seen]. One kernel forward and one backward on wasm with the engine kernels
 * on; the composed ops (l2normalize, slice, matMul, mul) otherwise.
 */
export function cosineLogits(f: tf.Tensor, w: tf.Tensor, scale: tf.Tensor, seen: number): tf.Tensor2D {
  if (kernelFits(f, w, scale, seen)) {
    return tf.engine().runKernel(COSINE_LOGITS, { f, w, scale } as unknown as tf.NamedTensorMap, { seen }) as tf.Tensor2D;
  }
  return tf.tidy(() => tf.matMul(l2normalize(f), l2normalize(w.slice([0, 0], [seen, -1])), false, true).mul(scale) as tf.Tensor2D);
}
