// Trainable 2-D convolution for the tfjs wasm engine: NHWC input, kernel [kh, kw, cin, cout]
// (tfjs layout), symmetric zero padding (PyTorch's `padding=p`), equal strides. Forward, input
// gradient and kernel gradient are each one im2col/col2im pass plus one GEMM through perennial's
// BatchMatMul path (OpenBLAS sgemm on the wasm heap when the addon is loaded; the stock wasm kernel
// otherwise). See kernels/conv2d.ts.
import { tf } from './tensor.js';
import { InputError } from './errors.js';
import { CONV2D, convGeometry, installConvKernels } from './kernels/conv2d.js';

export { im2col, col2im, convGeometry, type ConvGeometry } from './kernels/conv2d.js';

export interface Conv2dOptions {
  /** Step in both directions (default 1). */
  readonly stride?: number;
  /** Zero padding on every side (default 1: 'same' for a 3x3 kernel at stride 1). */
  readonly pad?: number;
  /** false: the kernel gets a zero gradient (frozen kernels); the input gradient is still exact. Default true. */
  readonly kernelGrad?: boolean;
}

const KNOWN = new Set(['stride', 'pad', 'kernelGrad']);

/**
 * y[b, oy, ox, co] = sum_{ky, kx, ci} x[b, oy*s+ky-p, ox*s+kx-p, ci] w[ky, kx, ci, co] (zero outside x).
 * Differentiable in x and w. Needs the wasm backend (`initTf()`).
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, opts: Conv2dOptions = {}): tf.Tensor4D {
  const bad = Object.keys(opts).filter((k) => !KNOWN.has(k));
  if (bad.length) throw new InputError(`conv2d: unknown option(s) ${bad.join(', ')}; known: ${[...KNOWN].join(', ')}`);
  const stride = opts.stride ?? 1, pad = opts.pad ?? 1, kernelGrad = opts.kernelGrad ?? true;
  if (tf.getBackend() !== 'wasm') throw new InputError(`conv2d runs on the wasm backend (call initTf()), the active one is ${tf.getBackend()}`);
  if (x.rank !== 4 || w.rank !== 4) throw new InputError(`conv2d: x must be [n, h, w, cin] and the kernel [kh, kw, cin, cout], got [${x.shape}] and [${w.shape}]`);
  if (x.dtype !== 'float32' || w.dtype !== 'float32') throw new InputError(`conv2d needs float32 tensors, got ${x.dtype} and ${w.dtype}`);
  try {
    convGeometry(x.shape, w.shape, stride, pad);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  installConvKernels();
  return tf.engine().runKernel(CONV2D, { x, filter: w }, { stride, pad, kernelGrad }) as tf.Tensor4D;
}
