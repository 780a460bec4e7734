// perennial's trainable 2-D convolution kernels for the tfjs wasm backend (NHWC, kernel
// [kh, kw, cin, cout], symmetric zero padding, equal strides):
//   PerennialConv2D                y   = im2col(x) W                      (M x K)(K x N)
//                                  (the stock wasm Conv2D when K <= STOCK_FORWARD_MAX_K)
//   PerennialConv2DBackpropInput   dx  = col2im(dy W^T)                   (M x N)(N x K), scattered
//   PerennialConv2DBackpropFilter  dW  = im2col(x)^T dy                   (K x M)(M x N)
// with M = batch * out_h * out_w, K = kh * kw * cin, N = cout. With the addon, the forward (from
// blockedForwardMinK() values per patch) and the input gradient run in blocks of whole images
// (addon convBlocks: im2col or col2im and a one-thread product per block, the blocks shared among
// as many workers as OpenBLAS has threads). Otherwise each GEMM goes through
// `batchMatMulImpl`: the OpenBLAS addon's sgemm on the wasm heap when it is loaded, otherwise the
// stock wasm (XNNPACK) path with explicit transposes — whichever `setBatchMatMulMode` selects, so
// tests can check both. im2col/col2im are loops over heap views: the addon's compiled ones when
// present (kernels/loops.ts), else TypeScript.
//
// The gradient is registered for the forward kernel, so tfjs calls each input's gradient lazily:
// the input gradient of a network's first layer and the kernel gradient of frozen kernels are never
// computed. The attribute `kernelGrad: false` additionally returns zeros for the kernel.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerOwnKernels } from './register.js';
import { batchMatMulImpl, batchMatMulMode } from './batchMatMul.js';
import { nativeAddon } from '../linalg/index.js';
import { compiledLoops } from './loops.js';

export const CONV2D = 'PerennialConv2D';
export const CONV2D_BACKPROP_INPUT = 'PerennialConv2DBackpropInput';
export const CONV2D_BACKPROP_FILTER = 'PerennialConv2DBackpropFilter';
export const IM2COL = 'PerennialIm2col';
export const COL2IM = 'PerennialCol2im';
export const ZERO_GRAD = 'PerennialZeroGrad';
const BACKEND = 'wasm';

/**
 * The forward pass of convolutions with at most this many values per patch (kh * kw * cin) runs on
 * the stock wasm Conv2D kernel, unless the addon's image blocks take it (blockedForwardMinK):
 * against one batch-sized im2col + GEMM the stock kernel was faster for 3x3 with cin = 1 and 16
 * (e.g. 1000x28x28, 1->16: 18 vs 42 ms CPU; 16->32 stride 2: 70 vs 101), slower for cin = 32 (65 vs 53).
 */
export const STOCK_FORWARD_MAX_K = 192;

/**
 * With the addon, the forward and the input gradient run image by image in blocks whose im2col rows
 * take at most this many bytes: the rows stay in cache between the GEMM and the loop that reads
 * (col2im) or wrote (im2col) them, instead of a batch-sized matrix (29 MB for SAFE's second layer at
 * batch 256) going through memory twice. The (50176 x 32) x (32 x 144) product alone took 9.1 ms
 * whole and 5.4-5.6 in blocks of 4-16 images at 1 thread (OpenBLAS), 6.3 and 3.1-3.4 at 2 threads.
 */
export const CONV_BLOCK_BYTES = 2 << 20;

/**
 * The image-block forward is taken from this many values per patch up; below it the stock wasm
 * Conv2D runs. With the addon's AVX-512 products every size goes to the blocks (3x3, one channel,
 * in a SAFE step at batch 48: 1.77 against 2.19 ms for the step's three forwards; batch 256 at 1
 * thread: 33.8 against 35.5 ms per step). With OpenBLAS's products (CPUs without AVX-512) the stock
 * kernel stayed faster below 64: 3x3 with cin = 1 (K = 9) 1.08 vs 1.02 ms at batch 48 and 8.0 vs 5.1
 * at 256; cin = 16 (K = 144, stride 2) 1.76 vs 2.96 and 10.9 vs 15.4.
 */
export function blockedForwardMinK(): number {
  return nativeAddon()?.ownKernels?.() === 'avx512' ? 1 : 64;
}

let blocked = true;
/** Switch the image-block route on (default) or off (one batch-sized GEMM); returns the previous setting. */
export function useBlockedConv(on: boolean): boolean {
  const before = blocked;
  blocked = on;
  return before;
}

/**
 * Images per block for rows of K values, or 0 when the route does not apply (no addon, switched
 * off). At most a thread's share of the batch, and as many blocks as a multiple of the workers, of
 * near-equal size: 48 images in blocks of 18 made 18 + 18 + 12, two of them on one worker, so that
 * the other waited a third of the time; blocks of 12 give each worker two.
 */
export function blockImages(g: ConvGeometry, K: number): number {
  const addon = nativeAddon();
  if (!blocked || batchMatMulMode() !== 'addon' || !addon?.convBlocks) return 0;
  const workers = Math.max(1, addon.threads());
  const per = Math.max(1, Math.min(Math.floor(CONV_BLOCK_BYTES / (g.ho * g.wo * K * 4)), Math.ceil(g.n / workers)));
  const blocks = Math.ceil(Math.ceil(g.n / per) / workers) * workers;
  return Math.max(1, Math.ceil(g.n / blocks));
}

/** Shapes of one convolution. */
export interface ConvGeometry {
  readonly n: number; readonly h: number; readonly w: number; readonly cin: number;
  readonly kh: number; readonly kw: number; readonly cout: number;
  readonly stride: number; readonly pad: number;
  readonly ho: number; readonly wo: number;
}

export function convGeometry(xShape: readonly number[], wShape: readonly number[], stride: number, pad: number): ConvGeometry {
  const [n, h, w, cin] = xShape as [number, number, number, number];
  const [kh, kw, wcin, cout] = wShape as [number, number, number, number];
  if (xShape.length !== 4 || wShape.length !== 4) throw new Error(`conv2d: x must be [n, h, w, cin] and the kernel [kh, kw, cin, cout], got [${xShape}] and [${wShape}]`);
  if (wcin !== cin) throw new Error(`conv2d: x has ${cin} channels, the kernel expects ${wcin}`);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`conv2d: stride must be a positive integer, got ${stride}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`conv2d: pad must be a non-negative integer, got ${pad}`);
  const ho = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const wo = Math.floor((w + 2 * pad - kw) / stride) + 1;
  if (ho < 1 || wo < 1) throw new Error(`conv2d: a ${kh}x${kw} kernel with pad ${pad} does not fit a ${h}x${w} input`);
  return { n, h, w, cin, kh, kw, cout, stride, pad, ho, wo };
}

/** col[(b, oy, ox), (ky, kx, c)] = x[b, oy*s+ky-p, ox*s+kx-p, c], zero outside the image. */
export function im2col(x: Float32Array, g: ConvGeometry, col: Float32Array): void {
  const L = compiledLoops();
  if (!L) return im2colTs(x, g, col);
  const { n, h, w, cin, kh, kw, stride, pad, ho, wo } = g;
  L.im2col(x.subarray(0, n * h * w * cin), n, h, w, cin, kh, kw, stride, pad, ho, wo, col.subarray(0, n * ho * wo * kh * kw * cin));
}

/** im2col as TypeScript loops (the addon's `im2col` runs the same loops compiled). */
export function im2colTs(x: Float32Array, g: ConvGeometry, col: Float32Array): void {
  const { n, h, w, cin, kh, kw, stride: s, pad: p, ho, wo } = g;
  const K = kh * kw * cin, rowW = kw * cin;
  let r = 0;
  for (let b = 0; b < n; b++) {
    const xb = b * h * w * cin;
    for (let oy = 0; oy < ho; oy++) {
      const iy0 = oy * s - p;
      for (let ox = 0; ox < wo; ox++, r += K) {
        const ix0 = ox * s - p;
        const inside = ix0 >= 0 && ix0 + kw <= w;
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky;
          let o = r + ky * rowW;
          if (iy < 0 || iy >= h) { col.fill(0, o, o + rowW); continue; }
          const xr = xb + iy * w * cin;
          if (inside) {
            // The kw taps of this kernel row are contiguous in x.
            let src = xr + ix0 * cin;
            for (let e = o + rowW; o < e; o++, src++) col[o] = x[src];
            continue;
          }
          for (let kx = 0; kx < kw; kx++, o += cin) {
            const ix = ix0 + kx;
            if (ix < 0 || ix >= w) { col.fill(0, o, o + cin); continue; }
            let src = xr + ix * cin;
            for (let c = 0; c < cin; c++) col[o + c] = x[src++];
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[b, iy, ix, c] = sum of the col entries that read it (dx is overwritten). */
export function col2im(col: Float32Array, g: ConvGeometry, dx: Float32Array): void {
  const L = compiledLoops();
  if (!L) return col2imTs(col, g, dx);
  const { n, h, w, cin, kh, kw, stride, pad, ho, wo } = g;
  L.col2im(col.subarray(0, n * ho * wo * kh * kw * cin), n, h, w, cin, kh, kw, stride, pad, ho, wo, dx.subarray(0, n * h * w * cin));
}

/** col2im as TypeScript loops. */
export function col2imTs(col: Float32Array, g: ConvGeometry, dx: Float32Array): void {
  const { n, h, w, cin, kh, kw, stride: s, pad: p, ho, wo } = g;
  const K = kh * kw * cin, rowW = kw * cin;
  dx.fill(0, 0, n * h * w * cin);
  let r = 0;
  for (let b = 0; b < n; b++) {
    const xb = b * h * w * cin;
    for (let oy = 0; oy < ho; oy++) {
      const iy0 = oy * s - p;
      for (let ox = 0; ox < wo; ox++, r += K) {
        const ix0 = ox * s - p;
        const inside = ix0 >= 0 && ix0 + kw <= w;
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky;
          if (iy < 0 || iy >= h) continue;
          let o = r + ky * rowW;
          const xr = xb + iy * w * cin;
          if (inside) {
            let dst = xr + ix0 * cin;
            for (let e = o + rowW; o < e; o++, dst++) dx[dst] = dx[dst] + col[o];
            continue;
          }
          for (let kx = 0; kx < kw; kx++, o += cin) {
            const ix = ix0 + kx;
            if (ix < 0 || ix >= w) continue;
            let dst = xr + ix * cin;
            for (let c = 0; c < cin; c++, dst++) dx[dst] = dx[dst] + col[o + c];
          }
        }
      }
    }
  }
}

function attrsOf(a: NamedAttrMap): { stride: number; pad: number; kernelGrad: boolean } {
  return { stride: a['stride'] as number, pad: a['pad'] as number, kernelGrad: a['kernelGrad'] !== false };
}

function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function checkFloat(...ts: TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`conv2d needs float32 tensors, got ${t.dtype}`);
}

/** x as im2col rows on the wasm heap (caller disposes). */
function colOnHeap(x: TensorInfo, g: ConvGeometry, backend: BackendWasm): TensorInfo {
  const M = g.n * g.ho * g.wo, K = g.kh * g.kw * g.cin;
  const col = backend.makeOutput([M, K], 'float32');
  // Views are taken after makeOutput: allocating may grow (and so replace) the wasm heap.
  im2col(backend.typedArrayFromHeap(x) as Float32Array, g, backend.typedArrayFromHeap(col) as Float32Array);
  return col;
}

const forward = ((args: { inputs: { x: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: NamedAttrMap }): TensorInfo => {
  const { x, filter } = args.inputs, backend = args.backend;
  checkFloat(x, filter);
  const { stride, pad } = attrsOf(args.attrs);
  const g = convGeometry(x.shape, filter.shape, stride, pad);
  const K = g.kh * g.kw * g.cin;
  const per = blockImages(g, K);
  if (per > 0 && K >= blockedForwardMinK()) return convBlocked(0, x, filter, g, per, [g.n, g.ho, g.wo, g.cout], backend);
  if (K <= STOCK_FORWARD_MAX_K) {
    // Few input channels: the stock wasm (XNNPACK) convolution beats im2col + GEMM (bench/conv).
    const stock = tf.getKernel(tf.Conv2D, BACKEND);
    if (stock) {
      const p = g.pad;
      return stock.kernelFunc({
        inputs: { x, filter }, backend,
        attrs: { strides: [g.stride, g.stride], pad: [[0, 0], [p, p], [p, p], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
      } as never) as TensorInfo;
    }
  }
  const col = colOnHeap(x, g, backend);
  try {
    const y = batchMatMulImpl(col, view(filter, [K, g.cout]), false, false, backend);
    return view(y, [g.n, g.ho, g.wo, g.cout]);
  } finally {
    backend.disposeData(col.dataId);
  }
}) as unknown as KernelFunc;

const backpropInput = ((args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: NamedAttrMap }): TensorInfo => {
  const { dy, filter } = args.inputs, backend = args.backend;
  checkFloat(dy, filter);
  const { stride, pad } = attrsOf(args.attrs);
  const xShape = args.attrs['xShape'] as number[];
  const g = convGeometry(xShape, filter.shape, stride, pad);
  const M = g.n * g.ho * g.wo, K = g.kh * g.kw * g.cin;
  if (dy.shape.join() !== [g.n, g.ho, g.wo, g.cout].join()) throw new Error(`conv2d backprop: dy has shape [${dy.shape}], expected [${[g.n, g.ho, g.wo, g.cout]}]`);
  const per = blockImages(g, K);
  if (per > 0) return convBlocked(1, dy, filter, g, per, xShape, backend);
  const dcol = batchMatMulImpl(view(dy, [M, g.cout]), view(filter, [K, g.cout]), false, true, backend);
  try {
    const dx = backend.makeOutput(xShape, 'float32');
    col2im(backend.typedArrayFromHeap(dcol) as Float32Array, g, backend.typedArrayFromHeap(dx) as Float32Array);
    return dx;
  } finally {
    backend.disposeData(dcol.dataId);
  }
}) as unknown as KernelFunc;

/** mode 0: y = im2col(x) W; mode 1: dx = col2im(dy W^T); `per` images at a time on the addon's workers. */
function convBlocked(mode: 0 | 1, src: TensorInfo, filter: TensorInfo, g: ConvGeometry, per: number, outShape: number[], backend: BackendWasm): TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  // Views are taken after makeOutput: allocating may grow (and so replace) the wasm heap.
  const sv = backend.typedArrayFromHeap(src) as Float32Array, wv = backend.typedArrayFromHeap(filter) as Float32Array;
  nativeAddon()!.convBlocks!(mode, sv, wv, backend.typedArrayFromHeap(out) as Float32Array, g.n, g.h, g.w, g.cin, g.kh, g.kw, g.stride, g.pad, g.ho, g.wo, g.cout, per);
  return out;
}

const backpropFilter = ((args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: NamedAttrMap }): TensorInfo => {
  const { x, dy } = args.inputs, backend = args.backend;
  checkFloat(x, dy);
  const { stride, pad } = attrsOf(args.attrs);
  const wShape = args.attrs['filterShape'] as number[];
  const g = convGeometry(x.shape, wShape, stride, pad);
  const M = g.n * g.ho * g.wo;
  const col = colOnHeap(x, g, backend);
  try {
    const dw = batchMatMulImpl(col, view(dy, [M, g.cout]), true, false, backend);
    return view(dw, wShape);
  } finally {
    backend.disposeData(col.dataId);
  }
}) as unknown as KernelFunc;

type PatchAttrs = { kh: number; kw: number; stride: number; pad: number };
function patchGeometry(xShape: number[], a: NamedAttrMap): ConvGeometry {
  const { kh, kw, stride, pad } = a as unknown as PatchAttrs;
  return convGeometry(xShape, [kh, kw, xShape[3], 1], stride, pad);
}

/** x [n, h, w, cin] -> im2col rows [n*ho*wo, kh*kw*cin] (attrs kh, kw, stride, pad). */
const im2colKernel = ((args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: NamedAttrMap }): TensorInfo => {
  const { x } = args.inputs;
  checkFloat(x);
  return colOnHeap(x, patchGeometry(x.shape, args.attrs), args.backend);
}) as unknown as KernelFunc;

/** The adjoint: rows [n*ho*wo, kh*kw*cin] -> [n, h, w, cin] (attrs kh, kw, stride, pad, xShape). */
const col2imKernel = ((args: { inputs: { col: TensorInfo }; backend: BackendWasm; attrs: NamedAttrMap }): TensorInfo => {
  const { col } = args.inputs, backend = args.backend;
  checkFloat(col);
  const xShape = args.attrs['xShape'] as number[];
  const g = patchGeometry(xShape, args.attrs);
  if (col.shape.join() !== [g.n * g.ho * g.wo, g.kh * g.kw * g.cin].join()) throw new Error(`col2im: rows of shape [${col.shape}] do not fit x [${xShape}]`);
  const dx = backend.makeOutput(xShape, 'float32');
  col2im(backend.typedArrayFromHeap(col) as Float32Array, g, backend.typedArrayFromHeap(dx) as Float32Array);
  return dx;
}) as unknown as KernelFunc;

/** Identity whose gradient is zero (frozen kernels on the im2col + matMul path). */
const zeroGradKernel = ((args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo => {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}) as unknown as KernelFunc;

export const conv2dKernels: KernelConfig[] = [
  { kernelName: CONV2D, backendName: BACKEND, kernelFunc: forward },
  { kernelName: CONV2D_BACKPROP_INPUT, backendName: BACKEND, kernelFunc: backpropInput },
  { kernelName: CONV2D_BACKPROP_FILTER, backendName: BACKEND, kernelFunc: backpropFilter },
  { kernelName: IM2COL, backendName: BACKEND, kernelFunc: im2colKernel },
  { kernelName: COL2IM, backendName: BACKEND, kernelFunc: col2imKernel },
  { kernelName: ZERO_GRAD, backendName: BACKEND, kernelFunc: zeroGradKernel },
];

const im2colGrad: tf.GradConfig = {
  kernelName: IM2COL,
  inputsToSave: ['x'],
  gradFunc: (dcol, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const d = (Array.isArray(dcol) ? dcol[0] : dcol) as tf.Tensor;
    return { x: () => tf.engine().runKernel(COL2IM, { col: d }, { ...attrs, xShape: x.shape }) as tf.Tensor };
  },
};

const zeroGradGrad: tf.GradConfig = {
  kernelName: ZERO_GRAD,
  inputsToSave: ['x'],
  gradFunc: (_dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => tf.zerosLike(x) };
  },
};

const conv2dGrad: tf.GradConfig = {
  kernelName: CONV2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { stride, pad, kernelGrad } = attrsOf(attrs);
    const d = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor4D;
    return {
      x: () => tf.engine().runKernel(CONV2D_BACKPROP_INPUT, { dy: d, filter }, { stride, pad, xShape: x.shape }) as tf.Tensor,
      filter: () => (kernelGrad
        ? tf.engine().runKernel(CONV2D_BACKPROP_FILTER, { x, dy: d }, { stride, pad, filterShape: filter.shape }) as tf.Tensor
        : tf.zerosLike(filter)),
    };
  },
};

/** Register the kernels and their gradients (idempotent). */
export function installConvKernels(): void {
  registerOwnKernels(conv2dKernels, [conv2dGrad, im2colGrad, zeroGradGrad]);
}
