// Trainable 2-D convolution for the tfjs wasm engine: NHWC input, kernel [kh, kw, cin, cout]
// (tfjs layout), symmetric zero padding (PyTorch's `padding=p`), equal strides. Forward, input
// gradient and kernel gradient are each one im2col/col2im pass plus one GEMM through perennial's
// BatchMatMul path (OpenBLAS sgemm on the wasm heap when the addon is loaded; the stock wasm kernel
// otherwise). Two routes (kernels/conv2d.ts), chosen by the values per patch K = kh * kw * cin:
//   K <= 192 or a frozen kernel: one kernel whose registered gradient runs col2im + GEMM (input)
//             and im2col + GEMM (kernel); its forward is the stock wasm Conv2D for few channels and
//             otherwise, with the addon, im2col + GEMM in blocks of images on the addon's workers;
//   K > 192 and trained: an im2col op (gradient col2im) followed by tf.matMul, so the tape keeps
//             the im2col rows for the kernel gradient.
// Either way tfjs calls each input's gradient only when it is needed.
import { tf } from './tensor.js';
import { InputError } from './errors.js';
import { checkOptionKeys } from './options.js';
import { CONV2D, IM2COL, STOCK_FORWARD_MAX_K, ZERO_GRAD, convGeometry, installConvKernels } from './kernels/conv2d.js';

export { im2col, col2im, convGeometry, type ConvGeometry } from './kernels/conv2d.js';

export interface Conv2dOptions {
  /** Step in both directions (default 1). */
  readonly stride?: number;
  /** Zero padding on every side (default 1: 'same' for a 3x3 kernel at stride 1). */
  readonly pad?: number;
  /** false: the kernel gets a zero gradient (frozen kernels); the input gradient is still exact. Default true. */
  readonly kernelGrad?: boolean;
}

const KNOWN = ['stride', 'pad', 'kernelGrad'];

/**
 * 'im2col': perennial's kernels (default). 'tfjs': the earlier formulation, kept for comparisons
 * (bench/conv): tf.conv2d forward, the input gradient as a conv2d over the dilated dy with the
 * flipped kernel, the kernel gradient as a conv2d with the batch as the channel axis (3x3 only).
 */
export type ConvMode = 'im2col' | 'tfjs';
let mode: ConvMode = 'im2col';

export function setConvMode(m: ConvMode): void {
  if (m !== 'im2col' && m !== 'tfjs') throw new InputError(`conv2d: unknown mode ${String(m)} (known: im2col, tfjs)`);
  mode = m;
}

/**
 * y[b, oy, ox, co] = sum_{ky, kx, ci} x[b, oy*s+ky-p, ox*s+kx-p, ci] w[ky, kx, ci, co] (zero outside x).
 * Differentiable in x and w. On the wasm backend (`initTf()`) perennial's kernels; on any other
 * (webgpu) tfjs's conv2d with explicit padding, the same values up to float32 rounding.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, opts: Conv2dOptions = {}): tf.Tensor4D {
  checkOptionKeys(opts, KNOWN, 'conv2d');
  const stride = opts.stride ?? 1, pad = opts.pad ?? 1, kernelGrad = opts.kernelGrad ?? true;
  if (x.rank !== 4 || w.rank !== 4) throw new InputError(`conv2d: x must be [n, h, w, cin] and the kernel [kh, kw, cin, cout], got [${x.shape}] and [${w.shape}]`);
  if (x.dtype !== 'float32' || w.dtype !== 'float32') throw new InputError(`conv2d needs float32 tensors, got ${x.dtype} and ${w.dtype}`);
  try {
    convGeometry(x.shape, w.shape, stride, pad);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  // Another backend (webgpu; tfjs's cpu): tfjs's own conv2d and its registered gradients.
  if (tf.getBackend() !== 'wasm') return conv2dAnyBackend(x, w, stride, pad, kernelGrad);
  if (mode === 'tfjs') {
    if (w.shape[0] !== 3 || w.shape[1] !== 3 || pad !== 1 || (stride !== 1 && stride !== 2)) throw new InputError('conv2d mode tfjs covers 3x3 kernels, pad 1, stride 1 or 2');
    return conv3x3Tfjs(x, w, stride, kernelGrad);
  }
  installConvKernels();
  const [kh, kw, cin, cout] = w.shape;
  if (kh * kw * cin <= STOCK_FORWARD_MAX_K || !kernelGrad) {
    // Few values per patch: one kernel (stock wasm forward; im2col recomputed for the kernel gradient).
    // Frozen kernels: one kernel too, whose forward runs in image blocks (no im2col rows to keep).
    return tf.engine().runKernel(CONV2D, { x, filter: w }, { stride, pad, kernelGrad }) as tf.Tensor4D;
  }
  // im2col as its own op (gradient: col2im) and one matMul: the tape keeps the im2col rows for the
  // kernel gradient (im2col^T dy) instead of building them again.
  const g = convGeometry(x.shape, w.shape, stride, pad);
  return tf.tidy(() => {
    const col = tf.engine().runKernel(IM2COL, { x }, { kh, kw, stride, pad }) as tf.Tensor2D;
    const wk = kernelGrad ? w : tf.engine().runKernel(ZERO_GRAD, { x: w }) as tf.Tensor4D;
    return tf.matMul(col, tf.reshape(wk, [kh * kw * cin, cout])).reshape([g.n, g.ho, g.wo, cout]) as tf.Tensor4D;
  });
}

/** A kernel that passes on no gradient (frozen): the input gradient is unchanged, the kernel's is zero. */
const frozen = tf.customGrad(((w: tf.Tensor) => ({ value: tf.clone(w), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);

function conv2dAnyBackend(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, pad: number, kernelGrad: boolean): tf.Tensor4D {
  const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
  return tf.tidy(() => tf.conv2d(x, kernelGrad ? w : frozen(w) as tf.Tensor4D, stride, padding));
}

function conv3x3Tfjs(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, kernelGrad: boolean): tf.Tensor4D {
  const f = tf.customGrad(((xIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const xp = tf.pad(xIn as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    save([xIn, wIn]);
    return {
      value: tf.conv2d(xp, wIn as tf.Tensor4D, stride, 'valid'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const [, h, wd, cin] = xs.shape;
        const cout = ws.shape[3];
        const dy4 = dy as tf.Tensor4D;
        let dyd: tf.Tensor4D = dy4;
        if (stride === 2) {
          // Dilate dy (zeros between entries; one more row/column of zeros for odd sizes).
          const [dn, dh, dw] = dy4.shape;
          const alongW = tf.pad(dy4, [[0, 0], [0, 0], [0, 0], [0, cout]]).reshape([dn, dh, 2 * dw * cout]);
          dyd = tf.pad(alongW, [[0, 0], [0, 0], [0, 2 * dw * cout]]).reshape([dn, 2 * dh, 2 * dw, cout]).slice([0, 0, 0, 0], [dn, h, wd, cout]) as tf.Tensor4D;
        }
        const wFlip = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        const dx = tf.conv2d(tf.pad(dyd, [[0, 0], [1, 1], [1, 1], [0, 0]]), wFlip, 1, 'valid');
        if (!kernelGrad) return [dx, tf.zerosLike(ws)];
        const xpT = tf.transpose(tf.pad(xs, [[0, 0], [1, 1], [1, 1], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D;
        const dyT = tf.transpose(dy4, [1, 2, 0, 3]) as tf.Tensor4D;
        const full = tf.conv2d(xpT, dyT, 1, 'valid', 'NHWC', stride);
        const dw = tf.transpose(full.slice([0, 0, 0, 0], [cin, 3, 3, cout]), [1, 2, 0, 3]);
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}
