// Softmax cross-entropy as one wasm kernel and one gradient kernel. tf.losses.softmaxCrossEntropy
// is about 15 kernels forward and as many backward (max, subtract, exp, sum, log, the weighting and
// the mean, each with its own output buffer and dispatch), which in the bench's MLP step cost about
// as much as the optimiser update. Here the forward pass is one pass over the logits (row max, log
// of the summed exponentials, the labelled log-probabilities, the mean), in float64; the gradient
// recomputes the softmax from the saved logits in one more pass. Values match
// tf.losses.softmaxCrossEntropy with its defaults (no label smoothing, mean over the rows).
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerOwnKernels } from './register.js';

const BACKEND = 'wasm';
export const SOFTMAX_XENT = 'PerennialSoftmaxXent';
export const SOFTMAX_XENT_GRAD = 'PerennialSoftmaxXentGrad';

function rowsCols(labels: TensorInfo, logits: TensorInfo, what: string): [number, number] {
  const ok = labels.dtype === 'float32' && logits.dtype === 'float32' && logits.shape.length === 2 &&
    labels.shape.length === 2 && labels.shape[0] === logits.shape[0] && labels.shape[1] === logits.shape[1];
  if (!ok) throw new Error(`${what}: needs float32 labels and logits of one 2-D shape, got ${labels.dtype} [${labels.shape}] and ${logits.dtype} [${logits.shape}]`);
  return [logits.shape[0]!, logits.shape[1]!];
}

/** Log of the summed exponentials of z[o .. o + c), shifted by the row max. */
function logSumExp(z: Float32Array, o: number, c: number): number {
  let mx = -Infinity;
  for (let j = 0; j < c; j++) if (z[o + j] > mx) mx = z[o + j];
  let s = 0;
  for (let j = 0; j < c; j++) s += Math.exp(z[o + j] - mx);
  return mx + Math.log(s);
}

const forward: KernelConfig = {
  kernelName: SOFTMAX_XENT,
  backendName: BACKEND,
  kernelFunc: ((args: { inputs: { labels: TensorInfo; logits: TensorInfo }; backend: BackendWasm }): TensorInfo => {
    const { labels, logits } = args.inputs, backend = args.backend;
    const [n, c] = rowsCols(labels, logits, SOFTMAX_XENT);
    const out = backend.makeOutput([], 'float32');
    // Views after makeOutput: allocating may grow (and so replace) the wasm heap.
    const z = backend.typedArrayFromHeap(logits) as Float32Array, y = backend.typedArrayFromHeap(labels) as Float32Array;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const o = i * c, lse = logSumExp(z, o, c);
      for (let j = 0; j < c; j++) total -= y[o + j] * (z[o + j] - lse);
    }
    (backend.typedArrayFromHeap(out) as Float32Array)[0] = n > 0 ? total / n : 0;
    return out;
  }) as unknown as KernelFunc,
};

const backward: KernelConfig = {
  kernelName: SOFTMAX_XENT_GRAD,
  backendName: BACKEND,
  kernelFunc: ((args: { inputs: { labels: TensorInfo; logits: TensorInfo; dy: TensorInfo }; backend: BackendWasm }): TensorInfo => {
    const { labels, logits, dy } = args.inputs, backend = args.backend;
    const [n, c] = rowsCols(labels, logits, SOFTMAX_XENT_GRAD);
    const out = backend.makeOutput([n, c], 'float32');
    const z = backend.typedArrayFromHeap(logits) as Float32Array, y = backend.typedArrayFromHeap(labels) as Float32Array;
    const g = backend.typedArrayFromHeap(out) as Float32Array;
    const scale = (backend.typedArrayFromHeap(dy) as Float32Array)[0]! / n;
    // d/dz_j of -sum_k y_k (z_k - lse) is softmax_j * sum_k y_k - y_j.
    for (let i = 0; i < n; i++) {
      const o = i * c, lse = logSumExp(z, o, c);
      let ys = 0;
      for (let j = 0; j < c; j++) ys += y[o + j];
      for (let j = 0; j < c; j++) g[o + j] = scale * (Math.exp(z[o + j] - lse) * ys - y[o + j]);
    }
    return out;
  }) as unknown as KernelFunc,
};

const grad: tf.GradConfig = {
  kernelName: SOFTMAX_XENT,
  inputsToSave: ['labels', 'logits'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [labels, logits] = saved as [tf.Tensor2D, tf.Tensor2D];
    const d = (Array.isArray(dy) ? dy[0] : dy) as tf.Scalar;
    return {
      logits: () => tf.engine().runKernel(SOFTMAX_XENT_GRAD, { labels, logits, dy: d } as unknown as tf.NamedTensorMap) as tf.Tensor,
      // Rarely asked for (labels are data): -log softmax, scaled like the mean.
      labels: () => tf.mul(tf.neg(tf.logSoftmax(logits)), tf.div(d, logits.shape[0]!)),
    };
  },
};

/** Register the kernels and the gradient (idempotent; before or after setBackend). */
export function installLossKernels(): void {
  registerOwnKernels([forward, backward], [grad]);
}

/**
 * Mean over rows of -sum_j labels_ij log softmax(logits)_ij, as tf.losses.softmaxCrossEntropy with
 * its defaults; one kernel on wasm, tfjs's own loss on other backends or other shapes.
 */
export function softmaxCrossEntropy(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  if (tf.getBackend() !== BACKEND || logits.rank !== 2 || labels.rank !== 2 || labels.dtype !== 'float32' || logits.dtype !== 'float32') {
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  }
  return tf.engine().runKernel(SOFTMAX_XENT, { labels, logits } as unknown as tf.NamedTensorMap) as tf.Scalar;
}
