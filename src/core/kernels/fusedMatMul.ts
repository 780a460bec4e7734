// perennial's _FusedMatMul kernel for the tfjs wasm backend (what tf.layers Dense calls):
// op(A) op(B) through perennial's BatchMatMul path, then bias and activation applied in place on
// the wasm heap. The stock kernel rebuilds its XNNPACK operator whenever the weights change (every
// training step), which costs more than the product itself. Cases this kernel does not cover
// (a bias or PReLU weights that do not broadcast along the last axis) go to the stock kernel, as
// does everything in 'stock' mode.
//
// tfjs itself only reaches _FusedMatMul through tf.fused.matMul, whose custom gradient computes the
// gradients of every input eagerly (including the input of the first layer: one wasted GEMM).
// perennial's `linear` (core/nn.ts) runs the kernel directly, so the gradient registered here is the
// one taped: each input's gradient is computed only when asked for, and the ReLU mask comes from
// one compiled pass (PerennialReluGrad) with the addon; bias and ReLU are one compiled pass too.
// It covers 2-D operands with the 'linear' and 'relu' activations, the only ones `linear` sends.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo, _FusedMatMulAttrs, _FusedMatMulInputs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { batchMatMulImpl, batchMatMulMode } from './batchMatMul.js';
import { registerOwnKernels, replaceStockKernel } from './register.js';
import { nativeAddon } from '../linalg/index.js';

const NAME = tf._FusedMatMul;
const EMPTY = new Float32Array(0);
const BACKEND = 'wasm';
let stock: KernelConfig | null = null;

/** A per-column vector (size n) or a scalar (size 1) view, else null. */
function lastAxisVector(t: TensorInfo | undefined, n: number, backend: BackendWasm): Float32Array | null | undefined {
  if (!t) return undefined;
  const size = tf.util.sizeFromShape(t.shape);
  if (t.dtype !== 'float32' || (size !== n && size !== 1)) return null;
  return backend.typedArrayFromHeap(t) as Float32Array;
}

const kernelFunc = ((args: { inputs: _FusedMatMulInputs; backend: BackendWasm; attrs: _FusedMatMulAttrs }): TensorInfo => {
  const { inputs, backend, attrs } = args;
  if (batchMatMulMode() === 'stock') return stock!.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  const a = inputs.a, b = inputs.b;
  const n = attrs.transposeB ? b.shape[b.shape.length - 2]! : b.shape[b.shape.length - 1]!;
  // Bail out to the stock kernel before computing anything when bias/PReLU weights do not fit.
  if (lastAxisVector(inputs.bias, n, backend) === null || lastAxisVector(inputs.preluActivationWeights, n, backend) === null) {
    return stock!.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  }
  const out = batchMatMulImpl(a, b, Boolean(attrs.transposeA), Boolean(attrs.transposeB), backend);
  // Views after the product: allocating may have grown the heap.
  const bias = lastAxisVector(inputs.bias, n, backend);
  const prelu = lastAxisVector(inputs.preluActivationWeights, n, backend);
  const y = backend.typedArrayFromHeap(out) as Float32Array;
  const len = y.length;
  const act = attrs.activation ?? 'linear';
  // The bias and ReLU as one compiled pass where the addon has it: the JS loops below measured
  // about 5x slower than the stock Add + Relu kernels (which are wasm SIMD).
  const native = nativeAddon();
  if (native?.biasRelu && (act === 'linear' || act === 'relu') && (!bias || bias.length === n)) {
    native.biasRelu(y, bias ?? EMPTY, n, act === 'relu');
    return out;
  }
  if (bias) {
    if (bias.length === 1) { const v = bias[0]; for (let i = 0; i < len; i++) y[i] += v; }
    else for (let i = 0; i < len; i += n) for (let j = 0; j < n; j++) y[i + j] += bias[j];
  }
  switch (act) {
    case 'linear':
      break;
    case 'relu': {
      // On the float bits, branch-free: a branch per value mispredicts on half of them (8x slower).
      const yb = new Int32Array(y.buffer, y.byteOffset, len);
      for (let i = 0; i < len; i++) yb[i] &= ~(yb[i] >> 31);
      break;
    }
    case 'relu6':
      for (let i = 0; i < len; i++) y[i] = Math.min(6, Math.max(0, y[i]));
      break;
    case 'sigmoid':
      for (let i = 0; i < len; i++) y[i] = 1 / (1 + Math.exp(-y[i]));
      break;
    case 'elu':
      for (let i = 0; i < len; i++) if (y[i] < 0) y[i] = Math.expm1(y[i]);
      break;
    case 'leakyrelu': {
      const alpha = attrs.leakyreluAlpha ?? 0.2;
      for (let i = 0; i < len; i++) if (y[i] < 0) y[i] = alpha * y[i];
      break;
    }
    case 'prelu': {
      if (!prelu) throw new Error('_FusedMatMul: prelu activation needs preluActivationWeights');
      if (prelu.length === 1) { const w = prelu[0]; for (let i = 0; i < len; i++) if (y[i] < 0) y[i] = w * y[i]; }
      else for (let i = 0; i < len; i += n) for (let j = 0; j < n; j++) if (y[i + j] < 0) y[i + j] = prelu[j] * y[i + j];
      break;
    }
    default:
      throw new Error(`_FusedMatMul: unknown activation ${String(act)}`);
  }
  return out;
}) as unknown as KernelFunc;

export const fusedMatMulKernel: KernelConfig = {
  kernelName: NAME,
  backendName: BACKEND,
  setupFunc: (backend) => {
    stock?.setupFunc?.(backend);
  },
  kernelFunc,
};

/** The ReLU gradient in one pass: dx = dy where y > 0, else 0 (y is the ReLU's output). */
export const RELU_GRAD = 'PerennialReluGrad';

export const reluGradKernel: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: BACKEND,
  kernelFunc: ((args: { inputs: { dy: TensorInfo; y: TensorInfo }; backend: BackendWasm }): TensorInfo => {
    const { dy, y } = args.inputs, backend = args.backend;
    if (dy.dtype !== 'float32' || y.dtype !== 'float32' || tf.util.sizeFromShape(dy.shape) !== tf.util.sizeFromShape(y.shape)) {
      throw new Error(`${RELU_GRAD}: needs float32 dy and y of one size, got ${dy.dtype} [${dy.shape}] and ${y.dtype} [${y.shape}]`);
    }
    const out = backend.makeOutput(dy.shape, 'float32');
    // Views after makeOutput: allocating may grow (and so replace) the wasm heap.
    const native = nativeAddon();
    if (native?.reluGrad) {
      native.reluGrad(backend.typedArrayFromHeap(dy) as Float32Array, backend.typedArrayFromHeap(y) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array);
      return out;
    }
    const bits = (t: TensorInfo): Int32Array => { const v = backend.typedArrayFromHeap(t) as Float32Array; return new Int32Array(v.buffer, v.byteOffset, v.length); };
    const d = bits(dy), yb = bits(y), o = bits(out);
    // A float is > 0 exactly when its bits, read as a signed integer, are > 0; masking the bits of
    // dy avoids a branch per value (which mispredicts on half of them: 8x slower).
    for (let i = 0; i < o.length; i++) o[i] = d[i] & -(+(yb[i] > 0));
    return out;
  }) as unknown as KernelFunc,
};

/**
 * dy masked by y > 0: one compiled pass with the addon, else tf.mul(dy, tf.step(y)) (two stock
 * SIMD kernels, measured 8-20x faster than the kernel's JS loop over the heap).
 */
export function reluGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === BACKEND && nativeAddon()?.reluGrad) return tf.engine().runKernel(RELU_GRAD, { dy, y } as unknown as tf.NamedTensorMap) as tf.Tensor;
  return tf.mul(dy, tf.step(y));
}

export const fusedMatMulGrad: tf.GradConfig = {
  kernelName: NAME,
  inputsToSave: ['a', 'b'],
  outputsToSave: [true],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [a, b, y] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const ta = Boolean(attrs['transposeA']), tb = Boolean(attrs['transposeB']);
    const act = (attrs['activation'] as string | undefined) ?? 'linear';
    if (a.rank !== 2 || b.rank !== 2) throw new Error(`${NAME} gradient: perennial's gradient covers 2-D operands only, got [${a.shape}] and [${b.shape}]`);
    if (act !== 'linear' && act !== 'relu') throw new Error(`${NAME} gradient: activation ${act} is not covered (only linear and relu)`);
    const d = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor2D;
    const r = (act === 'relu' ? reluGrad(d, y) : d) as tf.Tensor2D;
    return {
      a: () => (ta ? tf.matMul(b, r, tb, true) : tf.matMul(r, b, false, !tb)),
      b: () => (tb ? tf.matMul(r, a, true, ta) : tf.matMul(a, r, !ta, false)),
      bias: () => tf.sum(r, 0),
    };
  },
};

/** Swap in perennial's _FusedMatMul (before setBackend('wasm')) and its gradient; checks the registry. */
export function installFusedKernel(): void {
  stock = replaceStockKernel(fusedMatMulKernel) ?? stock;
  registerOwnKernels([reluGradKernel], [fusedMatMulGrad]);
}
