// Frozen batch norm + ReLU + SSF scale/shift over the last (channel) axis, as one kernel forward and
// two backward, for the tfjs wasm backend (continual/backbones/cnn.ts in SAFE's SSF training):
//   PerennialSsfBnRelu            z = relu(((x - mean) r) gamma + beta) scale + shift, r = rsqrt(var + eps)
//   PerennialSsfBnReluGradStats   dscale = sum dz relu(.), dshift = sum dz per channel
//   PerennialSsfBnReluGradX       dx
// Composed from tfjs ops this is seven elementwise passes forward and about a dozen backward (with
// two reductions). The addon's loops repeat the composed ops' float32 arithmetic in their order and
// the engine Sum's float64 blocked summation (kernels/engine.ts), so the values are the composed
// ops' bit for bit (tested); r is computed by tfjs's own Rsqrt outside the kernel for the same
// reason. Used only when the addon has the loops (no TypeScript twin: core/bn.ts then runs the
// composed ops).
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerOwnKernels } from './register.js';
import { compiledLoops } from './loops.js';
import { nativeAddon, type NativeAddon } from '../linalg/index.js';

export const SSF_BN_RELU = 'PerennialSsfBnRelu';
export const SSF_BN_RELU_GRAD_STATS = 'PerennialSsfBnReluGradStats';
export const SSF_BN_RELU_GRAD_X = 'PerennialSsfBnReluGradX';
const BACKEND = 'wasm';

type SsfLoops = Required<Pick<NativeAddon, 'ssfBnRelu' | 'ssfBnReluGradStats' | 'ssfBnReluGradX'>>;

let fusedOn = true;

/** Use the fused kernel where it can run (default) or the composed ops (comparisons); returns the previous setting. */
export function useFusedSsf(on: boolean): boolean {
  const before = fusedOn;
  fusedOn = on;
  return before;
}

/** The addon's loops, or null when it lacks them, the compiled loops are switched off (kernels/loops.ts) or useFusedSsf(false). */
export function ssfLoops(): SsfLoops | null {
  const a = nativeAddon();
  return fusedOn && compiledLoops() && a?.ssfBnRelu && a.ssfBnReluGradStats && a.ssfBnReluGradX ? (a as SsfLoops) : null;
}

type Args<I> = { inputs: I; backend: BackendWasm };
type Channels = { mean: TensorInfo; r: TensorInfo; gamma: TensorInfo; beta: TensorInfo };

const heap = (b: BackendWasm, t: TensorInfo): Float32Array => b.typedArrayFromHeap(t) as Float32Array;

function channelCount(x: TensorInfo, perChannel: TensorInfo[]): number {
  for (const t of [x, ...perChannel]) if (t.dtype !== 'float32') throw new Error(`ssfBnRelu needs float32 tensors, got ${t.dtype}`);
  const C = x.shape[x.shape.length - 1];
  if (!C) throw new Error('ssfBnRelu: x needs a non-empty channel axis');
  for (const t of perChannel) if (t.shape.length !== 1 || t.shape[0] !== C) throw new Error(`ssfBnRelu: per-channel tensors must be [${C}], got [${t.shape}]`);
  return C;
}

function loops(): SsfLoops {
  const L = ssfLoops();
  if (!L) throw new Error('ssfBnRelu: the addon\'s loops are not available');
  return L;
}

const forward = ((args: Args<Channels & { x: TensorInfo; scale: TensorInfo; shift: TensorInfo }>): TensorInfo => {
  const { x, mean, r, gamma, beta, scale, shift } = args.inputs, backend = args.backend;
  const C = channelCount(x, [mean, r, gamma, beta, scale, shift]);
  const z = backend.makeOutput([...x.shape], 'float32');
  // Views after makeOutput: allocating may grow (and so replace) the wasm heap.
  const h = (t: TensorInfo): Float32Array => heap(backend, t);
  loops().ssfBnRelu(h(x), C, h(mean), h(r), h(gamma), h(beta), h(scale), h(shift), h(z));
  return z;
}) as unknown as KernelFunc;

const gradStats = ((args: Args<Channels & { dz: TensorInfo; x: TensorInfo }>): TensorInfo[] => {
  const { dz, x, mean, r, gamma, beta } = args.inputs, backend = args.backend;
  const C = channelCount(x, [mean, r, gamma, beta]);
  const dscale = backend.makeOutput([C], 'float32');
  const dshift = backend.makeOutput([C], 'float32');
  const ds = new Float64Array(C), dt = new Float64Array(C);
  const h = (t: TensorInfo): Float32Array => heap(backend, t);
  loops().ssfBnReluGradStats(h(dz), h(x), C, h(mean), h(r), h(gamma), h(beta), ds, dt);
  h(dscale).set(ds);
  h(dshift).set(dt);
  return [dscale, dshift];
}) as unknown as KernelFunc;

const gradX = ((args: Args<Channels & { dz: TensorInfo; x: TensorInfo; scale: TensorInfo }>): TensorInfo => {
  const { dz, x, mean, r, gamma, beta, scale } = args.inputs, backend = args.backend;
  const C = channelCount(x, [mean, r, gamma, beta, scale]);
  const dx = backend.makeOutput([...x.shape], 'float32');
  const h = (t: TensorInfo): Float32Array => heap(backend, t);
  loops().ssfBnReluGradX(h(dz), h(x), C, h(mean), h(r), h(gamma), h(beta), h(scale), h(dx));
  return dx;
}) as unknown as KernelFunc;

export const ssfKernels: KernelConfig[] = [
  { kernelName: SSF_BN_RELU, backendName: BACKEND, kernelFunc: forward },
  { kernelName: SSF_BN_RELU_GRAD_STATS, backendName: BACKEND, kernelFunc: gradStats },
  { kernelName: SSF_BN_RELU_GRAD_X, backendName: BACKEND, kernelFunc: gradX },
];

const ssfGrad: tf.GradConfig = {
  kernelName: SSF_BN_RELU,
  inputsToSave: ['x', 'mean', 'r', 'gamma', 'beta', 'scale'],
  gradFunc: (dys, saved) => {
    const [x, mean, r, gamma, beta, scale] = saved as tf.Tensor[] as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    const dz = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    // Computed here, in the scope of the whole gradient computation (disposed unless returned).
    const [dscale, dshift] = tf.engine().runKernel(SSF_BN_RELU_GRAD_STATS, { dz, x, mean, r, gamma, beta }) as unknown as [tf.Tensor, tf.Tensor];
    // The frozen statistics and affine parameters, when asked for, by composed ops (not on a fast path).
    const axes = x.shape.slice(0, -1).map((_d, i) => i);
    const dpre = (): tf.Tensor => {
      const pre = x.sub(mean).mul(r).mul(gamma).add(beta);
      return dz.mul(scale).mul(tf.step(pre));
    };
    return {
      x: () => tf.engine().runKernel(SSF_BN_RELU_GRAD_X, { dz, x, mean, r, gamma, beta, scale }) as tf.Tensor,
      scale: () => dscale,
      shift: () => dshift,
      beta: () => dpre().sum(axes),
      gamma: () => dpre().mul(x.sub(mean).mul(r)).sum(axes),
      r: () => dpre().mul(gamma).mul(x.sub(mean)).sum(axes),
      mean: () => dpre().mul(gamma).mul(r).sum(axes).neg(),
    };
  },
};

/** Register the kernels and their gradient (idempotent). */
export function installSsfKernels(): void {
  registerOwnKernels(ssfKernels, [ssfGrad]);
}
