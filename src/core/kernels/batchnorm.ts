// perennial's fused batch normalisation + ReLU kernels for the tfjs wasm backend, over the last
// (channel) axis of any tensor, for example NHWC activations:
//   PerennialBnReluTrain  y = max(0, (x - mu) / sqrt(var + eps) * gamma + beta), mu and var (biased)
//                         from this batch; also returns mu and var (for running statistics).
//   PerennialBnReluEval   the same with given mu and var (running statistics).
//   PerennialBnReluGradStats, PerennialBnReluGrad   dgamma and dbeta, then dx, of either.
// Composed from tfjs ops, batch norm + ReLU is about ten elementwise passes forward and twenty
// backward over the activations (measured as the largest cost of a Co2L step after the GEMMs).
// Here it is two passes forward (per-channel sums, then the affine map and the ReLU) and two
// backward (per-channel sums, then dx), loops over the wasm heap with float64 accumulators: the
// addon's compiled loops when present (kernels/loops.ts), else the TypeScript ones below.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerOwnKernels } from './register.js';
import { compiledLoops } from './loops.js';

export const BN_RELU_TRAIN = 'PerennialBnReluTrain';
export const BN_RELU_EVAL = 'PerennialBnReluEval';
export const BN_RELU_GRAD = 'PerennialBnReluGrad';
export const BN_RELU_GRAD_STATS = 'PerennialBnReluGradStats';
const BACKEND = 'wasm';

type Args<I> = { inputs: I; backend: BackendWasm; attrs: NamedAttrMap };

function channels(x: TensorInfo, ...perChannel: TensorInfo[]): { C: number; R: number } {
  for (const t of [x, ...perChannel]) if (t.dtype !== 'float32') throw new Error(`batchNormRelu needs float32 tensors, got ${t.dtype}`);
  if (x.shape.length < 1) throw new Error('batchNormRelu: x needs a channel axis');
  const C = x.shape[x.shape.length - 1]!;
  for (const t of perChannel) if (t.shape.length !== 1 || t.shape[0] !== C) throw new Error(`batchNormRelu: per-channel tensors must be [${C}], got [${t.shape}]`);
  const size = x.shape.reduce((a, b) => a * b, 1);
  return { C, R: C ? size / C : 0 };
}

const heap = (b: BackendWasm, t: TensorInfo): Float32Array => b.typedArrayFromHeap(t) as Float32Array;

// The loops below are branch-free: a data-dependent branch per element (v > 0 ? v : 0, Math.max)
// mispredicts on half the activations and measured 5x slower than these forms.

/** y = max(0, x a + b) per channel (a, b in float64), as (v + |v|) / 2, exact for every finite v. */
function affineRelu(x: Float32Array, a: Float64Array, b: Float64Array, y: Float32Array): void {
  const C = a.length;
  const L = compiledLoops();
  if (L) return L.bnAffineRelu(x, C, a, b, y);
  for (let o = 0; o < x.length; o += C) {
    for (let c = 0; c < C; c++) {
      const v = x[o + c] * a[c] + b[c];
      y[o + c] = (v + Math.abs(v)) * 0.5;
    }
  }
}

/** Scale a = gamma / sqrt(var + eps) and shift b = beta - mu a of the fused map. */
function scaleShift(gamma: Float32Array, beta: Float32Array, mu: ArrayLike<number>, variance: ArrayLike<number>, eps: number): { a: Float64Array; b: Float64Array } {
  const C = gamma.length, a = new Float64Array(C), b = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    a[c] = gamma[c] / Math.sqrt(variance[c] + eps);
    b[c] = beta[c] - mu[c] * a[c];
  }
  return { a, b };
}

const train = ((args: Args<{ x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }>): TensorInfo[] => {
  const { x, gamma, beta } = args.inputs, backend = args.backend;
  const { C, R } = channels(x, gamma, beta);
  const eps = args.attrs['eps'] as number;
  const y = backend.makeOutput([...x.shape], 'float32');
  const mean = backend.makeOutput([C], 'float32');
  const variance = backend.makeOutput([C], 'float32');
  // Views after every makeOutput: allocating may grow (and so replace) the wasm heap.
  const xv = heap(backend, x);
  const sum = new Float64Array(C), sq = new Float64Array(C);
  const L = compiledLoops();
  if (L) L.bnChannelStats(xv, C, sum, sq);
  else for (let o = 0; o < xv.length; o += C) {
    for (let c = 0; c < C; c++) {
      const v = xv[o + c];
      sum[c] += v;
      sq[c] += v * v;
    }
  }
  const mu = new Float64Array(C), v2 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    mu[c] = sum[c] / R;
    v2[c] = Math.max(0, sq[c] / R - mu[c] * mu[c]);
  }
  const { a, b } = scaleShift(heap(backend, gamma), heap(backend, beta), mu, v2, eps);
  affineRelu(xv, a, b, heap(backend, y));
  heap(backend, mean).set(mu);
  heap(backend, variance).set(v2);
  return [y, mean, variance];
}) as unknown as KernelFunc;

const evalKernel = ((args: Args<{ x: TensorInfo; gamma: TensorInfo; beta: TensorInfo; mean: TensorInfo; variance: TensorInfo }>): TensorInfo => {
  const { x, gamma, beta, mean, variance } = args.inputs, backend = args.backend;
  channels(x, gamma, beta, mean, variance);
  const y = backend.makeOutput([...x.shape], 'float32');
  const { a, b } = scaleShift(heap(backend, gamma), heap(backend, beta), heap(backend, mean), heap(backend, variance), args.attrs['eps'] as number);
  affineRelu(heap(backend, x), a, b, heap(backend, y));
  return y;
}) as unknown as KernelFunc;

/**
 * Gradients, in two kernels. With r = dy where y > 0 (else 0), s = sqrt(var + eps),
 * xh = (x - mu) / s: PerennialBnReluGradStats gives dbeta = sum r and dgamma = sum r xh per
 * channel; PerennialBnReluGrad gives dx = gamma / s (r - dbeta / R - xh dgamma / R) when mu and var
 * came from the batch (attr batchStats), dx = gamma / s r when they were given.
 */
/** Per-channel mean and 1 / sqrt(var + eps) in float64, as both gradient kernels use them. */
function centring(backend: BackendWasm, mean: TensorInfo, variance: TensorInfo, eps: number): { mu: Float64Array; inv: Float64Array } {
  const mu = Float64Array.from(heap(backend, mean)), va = heap(backend, variance);
  const inv = new Float64Array(mu.length);
  for (let c = 0; c < mu.length; c++) inv[c] = 1 / Math.sqrt(va[c] + eps);
  return { mu, inv };
}

const gradStats = ((args: Args<{ dy: TensorInfo; x: TensorInfo; y: TensorInfo; mean: TensorInfo; variance: TensorInfo }>): TensorInfo[] => {
  const { dy, x, y, mean, variance } = args.inputs, backend = args.backend;
  const { C } = channels(x, mean, variance);
  const eps = args.attrs['eps'] as number;
  const dgamma = backend.makeOutput([C], 'float32');
  const dbeta = backend.makeOutput([C], 'float32');
  const dyv = heap(backend, dy), xv = heap(backend, x), yv = heap(backend, y);
  const { mu, inv } = centring(backend, mean, variance, eps);
  const sr = new Float64Array(C), srx = new Float64Array(C);
  const L = compiledLoops();
  if (L) L.bnReluGradStats(dyv, xv, yv, C, mu, inv, sr, srx);
  else for (let o = 0; o < xv.length; o += C) {
    for (let c = 0; c < C; c++) {
      const r = dyv[o + c] * +(yv[o + c] > 0);
      sr[c] += r;
      srx[c] += r * (xv[o + c] - mu[c]) * inv[c];
    }
  }
  heap(backend, dgamma).set(srx);
  heap(backend, dbeta).set(sr);
  return [dgamma, dbeta];
}) as unknown as KernelFunc;

const grad = ((args: Args<{ dy: TensorInfo; x: TensorInfo; y: TensorInfo; gamma: TensorInfo; mean: TensorInfo; variance: TensorInfo; dgamma: TensorInfo; dbeta: TensorInfo }>): TensorInfo => {
  const { dy, x, y, gamma, mean, variance, dgamma, dbeta } = args.inputs, backend = args.backend;
  const { C, R } = channels(x, gamma, mean, variance, dgamma, dbeta);
  const eps = args.attrs['eps'] as number, batchStats = args.attrs['batchStats'] === true;
  const dx = backend.makeOutput([...x.shape], 'float32');
  const dyv = heap(backend, dy), xv = heap(backend, x), yv = heap(backend, y), dxv = heap(backend, dx);
  const g = heap(backend, gamma), sg = heap(backend, dgamma), sb = heap(backend, dbeta);
  const { mu, inv } = centring(backend, mean, variance, eps);
  const k = new Float64Array(C), m1 = new Float64Array(C), m2 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    k[c] = g[c] * inv[c];
    m1[c] = sb[c] / R;
    m2[c] = sg[c] / R;
  }
  const L = compiledLoops();
  if (L) L.bnReluGradX(dyv, xv, yv, C, k, mu, inv, m1, m2, batchStats, dxv);
  else if (batchStats) {
    for (let o = 0; o < xv.length; o += C) {
      for (let c = 0; c < C; c++) {
        const r = dyv[o + c] * +(yv[o + c] > 0);
        const xh = (xv[o + c] - mu[c]) * inv[c];
        dxv[o + c] = k[c] * (r - m1[c] - xh * m2[c]);
      }
    }
  } else {
    for (let o = 0; o < xv.length; o += C) {
      for (let c = 0; c < C; c++) dxv[o + c] = k[c] * dyv[o + c] * +(yv[o + c] > 0);
    }
  }
  return dx;
}) as unknown as KernelFunc;

export const batchNormKernels: KernelConfig[] = [
  { kernelName: BN_RELU_TRAIN, backendName: BACKEND, kernelFunc: train },
  { kernelName: BN_RELU_EVAL, backendName: BACKEND, kernelFunc: evalKernel },
  { kernelName: BN_RELU_GRAD_STATS, backendName: BACKEND, kernelFunc: gradStats },
  { kernelName: BN_RELU_GRAD, backendName: BACKEND, kernelFunc: grad },
];

/**
 * The per-channel sums are computed when tfjs asks for this node's gradients (in the scope of the
 * whole gradient computation, which disposes them unless they are returned as dgamma / dbeta);
 * dx is one more pass, made only when x needs a gradient.
 */
function bnGrads(dys: tf.Tensor | tf.Tensor[], x: tf.Tensor, y: tf.Tensor, gamma: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, eps: number, batchStats: boolean): { x: () => tf.Tensor; gamma: () => tf.Tensor; beta: () => tf.Tensor } {
  // Only y feeds a loss; batch statistics leave the graph (running averages).
  const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
  const [dgamma, dbeta] = tf.engine().runKernel(BN_RELU_GRAD_STATS, { dy, x, y, mean, variance }, { eps }) as unknown as [tf.Tensor, tf.Tensor];
  return {
    x: () => tf.engine().runKernel(BN_RELU_GRAD, { dy, x, y, gamma, mean, variance, dgamma, dbeta }, { eps, batchStats }) as tf.Tensor,
    gamma: () => dgamma,
    beta: () => dbeta,
  };
}

const trainGrad: tf.GradConfig = {
  kernelName: BN_RELU_TRAIN,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [true, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, gamma, y, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    return bnGrads(dys, x, y, gamma, mean, variance, attrs['eps'] as number, true);
  },
};

const evalGrad: tf.GradConfig = {
  kernelName: BN_RELU_EVAL,
  inputsToSave: ['x', 'gamma', 'mean', 'variance'],
  outputsToSave: [true],
  gradFunc: (dys, saved, attrs) => {
    const [x, gamma, mean, variance, y] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    // Running statistics are constants here.
    return { ...bnGrads(dys, x, y, gamma, mean, variance, attrs['eps'] as number, false), mean: () => tf.zerosLike(mean), variance: () => tf.zerosLike(variance) };
  },
};

/** Register the kernels and their gradients (idempotent). */
export function installBatchNormKernels(): void {
  registerOwnKernels(batchNormKernels, [trainGrad, evalGrad]);
}
