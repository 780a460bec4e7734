// Engine-level replacements for stock tfjs-wasm kernels that dominate convolutional training steps
// (profiled on a Co2L step: batch norm's reductions and their gradients).
//   Sum, Mean (float32): a reduction over one contiguous block of axes — e.g. [0, 1, 2] of NHWC
//     (batch-norm statistics, bias gradients) or [1, 2] (global average pooling) — is done as one
//     pass over the heap in [outer, reduced, inner] order with float64 accumulators. The stock
//     kernel first transposes the reduced axes innermost (a full strided copy). Other axis patterns
//     and dtypes go to the stock kernel.
//   Sum and Mean gradients: the stock ones multiply dy by a full-size tf.ones(x.shape), built in
//     JS and uploaded on every backward pass; these use the wasm Fill kernel instead (and scale the
//     small dy, not the full-size product, for Mean). Same values.
//   Identity, and Cast to the same dtype: share the input's data (reference count) instead of
//     copying it, as tfjs's cpu backend does; tensor data is immutable, so sharing is safe.
// `installEngineKernels()` runs before setBackend('wasm') (initTf); each replacement keeps the stock
// kernel's setup so the stock path stays callable.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const BACKEND = 'wasm';
type Args = { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: NamedAttrMap };

/** The reduced axes as one contiguous block [lo, hi) of x's axes, or null. */
export function contiguousBlock(shape: readonly number[], axis: number | number[] | null | undefined): { outer: number; reduce: number; inner: number; lo: number; hi: number } | null {
  const r = shape.length;
  // null/undefined means every axis (left to the stock kernel, which needs no transpose then).
  if (axis === null || axis === undefined) return null;
  const list = Array.isArray(axis) ? axis : [axis];
  if (!list.every((a) => Number.isInteger(a))) return null;
  const axes = [...new Set(list.map((a) => (a < 0 ? a + r : a)))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((a) => a < 0 || a >= r)) return null;
  const lo = axes[0], hi = axes[axes.length - 1] + 1;
  if (hi - lo !== axes.length) return null;
  const prod = (a: number, b: number): number => shape.slice(a, b).reduce((p, q) => p * q, 1);
  return { outer: prod(0, lo), reduce: prod(lo, hi), inner: prod(hi, r), lo, hi };
}

let enabled = true;

/** Turn the replacements off (each then calls the stock kernel) or on again; for comparisons. */
export function useEngineKernels(on: boolean): void {
  enabled = on;
}

/** Whether the replacements are active. */
export function engineKernelsEnabled(): boolean {
  return enabled;
}

let acc = new Float64Array(0);

/**
 * out[o, i] = scale * sum_r x[o, r, i], summed in float64. Blocks of rows stay in cache while four
 * columns at a time accumulate in locals (about 2.5x faster than one pass with an accumulator array).
 */
export function reduceMiddle(x: Float32Array, outer: number, reduce: number, inner: number, scale: number, out: Float32Array): void {
  if (acc.length < inner) acc = new Float64Array(inner);
  const a = acc, B = 128;
  for (let o = 0; o < outer; o++) {
    a.fill(0, 0, inner);
    const base = o * reduce * inner;
    for (let r0 = 0; r0 < reduce; r0 += B) {
      const r1 = Math.min(reduce, r0 + B);
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let r = r0, p = base + r0 * inner + i; r < r1; r++, p += inner) {
          s0 += x[p]; s1 += x[p + 1]; s2 += x[p + 2]; s3 += x[p + 3];
        }
        a[i] = a[i] + s0; a[i + 1] = a[i + 1] + s1; a[i + 2] = a[i + 2] + s2; a[i + 3] = a[i + 3] + s3;
      }
      for (; i < inner; i++) {
        let s = 0;
        for (let r = r0, p = base + r0 * inner + i; r < r1; r++, p += inner) s += x[p];
        a[i] = a[i] + s;
      }
    }
    const q = o * inner;
    for (let i = 0; i < inner; i++) out[q + i] = a[i] * scale;
  }
}

type Replacement = { config: KernelConfig; install(): void };

/**
 * Put `body` in place of the stock wasm kernel `name`. `body` gets the stock kernel function to fall
 * back on; the stock kernel's setup is kept so that fallback stays callable. Installing twice is a no-op.
 */
function replaceKernel(name: string, body: (args: Args, stock: KernelFunc) => TensorInfo): Replacement {
  let stock: KernelConfig | null = null;
  const kernelFunc = ((args: Args): TensorInfo => body(args, stock!.kernelFunc)) as unknown as KernelFunc;
  const config: KernelConfig = { kernelName: name, backendName: BACKEND, setupFunc: (b) => stock?.setupFunc?.(b), kernelFunc };
  return {
    config,
    install(): void {
      const current = tf.getKernel(name, BACKEND);
      if (current === config) return;
      if (!current) throw new Error(`${name}: the stock wasm kernel is not registered`);
      stock = current;
      tf.unregisterKernel(name, BACKEND);
      tf.registerKernel(config);
    },
  };
}

function reductionKernel(name: string, isMean: boolean): Replacement {
  return replaceKernel(name, (args, stock) => {
    const { x } = args.inputs, backend = args.backend;
    const axis = args.attrs['axis'] as number | number[] | null;
    const keepDims = Boolean(args.attrs['keepDims']);
    const block = x.dtype === 'float32' ? contiguousBlock(x.shape, axis) : null;
    // Innermost reductions (inner === 1) need no transpose in the stock kernel either.
    if (!enabled || !block || block.inner === 1 || block.reduce === 0) return stock(args as never) as TensorInfo;
    const outShape = keepDims
      ? x.shape.map((d, k) => (k >= block.lo && k < block.hi ? 1 : d))
      : x.shape.filter((_d, k) => k < block.lo || k >= block.hi);
    const out = backend.makeOutput(outShape, 'float32');
    // Views after makeOutput: allocating may grow (and so replace) the wasm heap.
    reduceMiddle(backend.typedArrayFromHeap(x) as Float32Array, block.outer, block.reduce, block.inner,
      isMean ? 1 / block.reduce : 1, backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  });
}

function aliasKernel(name: string, copyUnlessSameDtype: boolean): Replacement {
  return replaceKernel(name, (args, stock) => {
    const { x } = args.inputs;
    const dtype = copyUnlessSameDtype ? (args.attrs['dtype'] as string) : x.dtype;
    if (!enabled || x.dtype === 'string' || dtype !== x.dtype) return stock(args as never) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
}

/** dy broadcast back over the reduced axes of x, times `scale`: reshape, then multiply by a wasm Fill of ones. */
function spread(dy: tf.Tensor, x: tf.Tensor, axis: number | number[] | null, scale: number): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis ?? null as unknown as number[], x.shape);
  const expanded = x.shape.slice();
  for (const a of axes) expanded[a] = 1;
  const d = tf.reshape(dy, expanded);
  return tf.mul(scale === 1 ? d : tf.div(d, 1 / scale), tf.fill(x.shape, 1, 'float32'));
}

function gradientOverride(name: string, isMean: boolean): { config: tf.GradConfig; install(): void } {
  let stock: tf.GradConfig | null = null;
  const config: tf.GradConfig = {
    kernelName: name,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      if (!enabled) return stock!.gradFunc(dy, saved, attrs);
      const [x] = saved as [tf.Tensor];
      const axis = attrs['axis'] as number | number[] | null;
      const d = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor;
      if (!isMean) return { x: () => spread(d, x, axis, 1) };
      const axes = tf.util.parseAxisParam(axis ?? null as unknown as number[], x.shape);
      const reduceSize = axes.reduce((p, a) => p * x.shape[a]!, 1);
      return { x: () => spread(d, x, axis, 1 / reduceSize) };
    },
  };
  return {
    config,
    install(): void {
      const current = tf.getGradient(name);
      if (current === config) return;
      if (!current) throw new Error(`${name}: no stock gradient registered`);
      stock = current;
      tf.unregisterGradient(name);
      tf.registerGradient(config);
    },
  };
}

const gradients = [gradientOverride(tf.Sum, false), gradientOverride(tf.Mean, true)];

/** The gradient configs perennial puts in place of the stock ones (for tests). */
export const engineGradients: readonly tf.GradConfig[] = gradients.map((g) => g.config);

const replacements = [
  reductionKernel(tf.Sum, false),
  reductionKernel(tf.Mean, true),
  aliasKernel(tf.Identity, false),
  aliasKernel(tf.Cast, true),
];

/** The kernels perennial puts in place of the stock ones (for tests). */
export const engineKernels: readonly KernelConfig[] = replacements.map((r) => r.config);

/** Swap in the replacements (idempotent). Call before setBackend('wasm'). */
export function installEngineKernels(): void {
  for (const r of replacements) r.install();
  for (const g of gradients) g.install();
}
