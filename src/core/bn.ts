// Batch normalisation followed by ReLU over the last (channel) axis, fused into one wasm kernel
// forward and one backward (kernels/batchnorm.ts): y = max(0, (x - mu) / sqrt(var + eps) * gamma + beta).
// Same values as the composed tfjs ops up to float rounding; differentiable in x, gamma and beta.
// On another backend (webgpu) the composed ops run.
import { tf } from './tensor.js';
import { InputError } from './errors.js';
import { BN_RELU_EVAL, BN_RELU_TRAIN, installBatchNormKernels } from './kernels/batchnorm.js';
import { SSF_BN_RELU, installSsfKernels, ssfLoops } from './kernels/ssf.js';
import { engineKernelsEnabled } from './kernels/engine.js';

/** Whether the fused kernels run (wasm backend); elsewhere (webgpu) the composed tfjs ops. */
function fused(): boolean {
  return tf.getBackend() === 'wasm';
}

function check(name: string, x: tf.Tensor, perChannel: tf.Tensor[]): void {
  const C = x.shape[x.rank - 1];
  if (x.rank < 1 || x.dtype !== 'float32') throw new InputError(`${name}: x must be a float32 tensor with a channel axis, got ${x.dtype} [${x.shape}]`);
  for (const t of perChannel) if (t.rank !== 1 || t.shape[0] !== C || t.dtype !== 'float32') throw new InputError(`${name}: per-channel tensors must be float32 [${C}], got ${t.dtype} [${t.shape}]`);
  if (fused()) installBatchNormKernels();
}

/** The composed ops: relu(((x - mean) r) gamma + beta), r = rsqrt(variance + eps), in this order. */
function normaliseRelu<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, mean: tf.Tensor, r: tf.Tensor): T {
  return tf.relu(x.sub(mean).mul(r).mul(gamma).add(beta)) as T;
}

/**
 * Training mode: normalise with this batch's per-channel mean and biased variance (over all axes
 * but the last), which are returned for running averages (they carry no gradient).
 */
export function batchNormReluTrain<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): { y: T; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  check('batchNormReluTrain', x, [gamma, beta]);
  if (!fused()) {
    // Composed: the gradient flows through the batch statistics, as the fused kernel's does.
    const axes = [...Array(x.rank - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    return { y: tf.tidy(() => normaliseRelu(x, gamma, beta, mean, tf.rsqrt(variance.add(eps)))), mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const [y, mean, variance] = tf.engine().runKernel(BN_RELU_TRAIN, { x, gamma, beta }, { eps }) as unknown as [T, tf.Tensor1D, tf.Tensor1D];
  return { y, mean, variance };
}

/** Evaluation mode: normalise with given (running) statistics. */
export function batchNormReluEval<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, eps = 1e-5): T {
  check('batchNormReluEval', x, [gamma, beta, mean, variance]);
  if (!fused()) return tf.tidy(() => normaliseRelu(x, gamma, beta, mean, tf.rsqrt(variance.add(eps))));
  return tf.engine().runKernel(BN_RELU_EVAL, { x, gamma, beta, mean, variance }, { eps }) as T;
}

/**
 * Frozen batch norm (given statistics), ReLU, then a per-channel scale and shift (SSF):
 * relu((x - mean) * rsqrt(variance + eps) * gamma + beta) * scale + shift, with the values of
 * exactly these composed tfjs ops, bit for bit, forward and backward (kernels/ssf.ts: one kernel
 * forward, two backward, in place of about twenty elementwise passes). Differentiable in x, scale
 * and shift (and, by composed ops, in the frozen ones). The composed ops run instead when the addon
 * lacks the loops, the compiled loops are off, the engine kernels are off (the engine's Sum is what
 * the kernel's sums reproduce) or the backend is not wasm.
 */
export function batchNormReluEvalSsf<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor,
  scale: tf.Tensor, shift: tf.Tensor, eps = 1e-5): T {
  return tf.tidy(() => {
    const r = tf.rsqrt(variance.add(eps));
    const C = x.shape[x.rank - 1];
    const fits = x.dtype === 'float32' && x.rank >= 1 && [gamma, beta, mean, r, scale, shift].every((t) => t.rank === 1 && t.shape[0] === C && t.dtype === 'float32');
    if (!(fits && C > 0 && tf.getBackend() === 'wasm' && engineKernelsEnabled() && ssfLoops())) {
      return normaliseRelu(x, gamma, beta, mean, r).mul(scale).add(shift) as T;
    }
    installSsfKernels();
    return tf.engine().runKernel(SSF_BN_RELU, { x, mean, r, gamma, beta, scale, shift }, {}) as T;
  });
}
