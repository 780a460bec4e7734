// perennial's _FusedMatMul kernel for the tfjs wasm backend (what tf.layers Dense calls):
// op(A) op(B) through perennial's BatchMatMul path, then bias and activation applied in place on
// the wasm heap. The stock kernel rebuilds its XNNPACK operator whenever the weights change (every
// training step), which costs more than the product itself. Cases this kernel does not cover
// (a bias or PReLU weights that do not broadcast along the last axis) go to the stock kernel, as
// does everything in 'stock' mode.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo, _FusedMatMulAttrs, _FusedMatMulInputs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { batchMatMulImpl, batchMatMulMode } from './batchMatMul.js';
import { replaceStockKernel } from './register.js';

const NAME = tf._FusedMatMul;
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
  if (bias) {
    if (bias.length === 1) { const v = bias[0]; for (let i = 0; i < len; i++) y[i] += v; }
    else for (let i = 0; i < len; i += n) for (let j = 0; j < n; j++) y[i + j] += bias[j];
  }
  const act = attrs.activation ?? 'linear';
  switch (act) {
    case 'linear':
      break;
    case 'relu':
      for (let i = 0; i < len; i++) if (y[i] < 0) y[i] = 0;
      break;
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

/** Swap in perennial's _FusedMatMul (before setBackend('wasm')); checks the registry. */
export function installFusedKernel(): void {
  stock = replaceStockKernel(fusedMatMulKernel) ?? stock;
}
