// The reference miniature's CNN: 3 conv blocks (3x3, 16-32-64 channels, strides 1-2-2, PyTorch
// padding 1), batch norm, ReLU, global average pooling -> 64-D features. PET = SSF: a per-channel
// scale and shift after each block. Conv kernels are stored in tfjs layout [3, 3, Cin, Cout].
//
// The tfjs wasm backend has no Conv2DBackpropFilter kernel, so pretraining (where kernels get
// gradients) computes each convolution as 9 shifted slices and one matmul; frozen use calls the
// fast conv2d kernel, whose input gradient exists (enough for training PET modules).
import { tf } from '../../core/tensor.js';
import { InputError } from '../../core/errors.js';
import { conv2d } from '../../core/conv.js';
import { batchNormReluEvalSsf } from '../../core/bn.js';
import { Rng } from '../../core/rng.js';
import { constInit, getParam, normalInit, variable, type Params } from '../../core/nn.js';
import type { Backbone, ForwardOptions, PetOptions } from './types.js';

export interface CnnConfig {
  readonly imageSize: number;
  readonly inChannels: number;
  readonly channels: readonly number[];
  readonly strides: readonly number[];
}

export const REFERENCE_CNN: CnnConfig = { imageSize: 28, inChannels: 1, channels: [16, 32, 64], strides: [1, 2, 2] };

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

/** 3x3 convolution with padding 1 (PyTorch semantics) as 9 shifted slices and one matmul: differentiable in the kernel on wasm. */
export function conv3x3ByPatches(x: tf.Tensor4D, w: tf.Tensor, stride: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, wd, cin] = x.shape;
    const cout = w.shape[3]!;
    if (stride === 2 && (h % 2 || wd % 2)) throw new InputError(`stride-2 conv needs even sizes, got ${h}x${wd}`);
    const ho = stride === 2 ? h / 2 : h, wo = stride === 2 ? wd / 2 : wd;
    const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const parts: tf.Tensor4D[] = [];
    for (let dy = 0; dy < 3; dy++) {
      for (let dx = 0; dx < 3; dx++) {
        let s = tf.slice(xp, [0, dy, dx, 0], [n, h, wd, cin]);
        // Stride 2: keep even rows and columns (reshape + slice; StridedSlice has no gradient in tfjs).
        if (stride === 2) s = s.reshape([n * ho, 2, wo, 2 * cin]).slice([0, 0, 0, 0], [n * ho, 1, wo, cin]).reshape([n, ho, wo, cin]);
        parts.push(s);
      }
    }
    const patches = tf.concat(parts, 3).reshape([n * ho * wo, 9 * cin]);
    return tf.matMul(patches, w.reshape([9 * cin, cout])).reshape([n, ho, wo, cout]);
  });
}

/**
 * 3x3 convolution, padding 1 (PyTorch semantics), trainable: core/conv's im2col + GEMM kernels for
 * the forward pass, the input gradient (col2im) and the kernel gradient (skipped when `kernelGrad`
 * is false: frozen kernels get a zero gradient).
 */
export function conv3x3Trainable(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, kernelGrad = true): tf.Tensor4D {
  return conv2d(x, w, { stride, pad: 1, kernelGrad });
}

export class SmallCnn implements Backbone {
  readonly kind = 'cnn' as const;
  readonly params: Params = new Map();
  readonly inputDim: number;
  readonly featureDim: number;
  private pendingStats: { name: string; mean: tf.Tensor; variance: tf.Tensor }[] = [];

  constructor(readonly config: CnnConfig, seed = 0) {
    if (config.channels.length !== config.strides.length || config.channels.length === 0) {
      throw new InputError(`CNN config: channels (${config.channels.length}) and strides (${config.strides.length}) must be non-empty and equal in length`);
    }
    for (const s of config.strides) if (s !== 1 && s !== 2) throw new InputError(`CNN config: strides must be 1 or 2, got ${s}`);
    this.inputDim = config.imageSize * config.imageSize * config.inChannels;
    this.featureDim = config.channels[config.channels.length - 1];
    const rng = new Rng(seed, 'cnn-init');
    let cin = config.inChannels;
    config.channels.forEach((cout, i) => {
      const n = `blocks.${i}`;
      // Kaiming normal (fan_in, ReLU), as PyTorch's kaiming_normal_.
      this.params.set(`${n}.conv.weight`, variable(`${n}.conv.weight`, [3, 3, cin, cout], normalInit(rng.split(n), 9 * cin * cout, Math.sqrt(2 / (9 * cin)))));
      this.params.set(`${n}.bn.weight`, variable(`${n}.bn.weight`, [cout], constInit(cout, 1)));
      this.params.set(`${n}.bn.bias`, variable(`${n}.bn.bias`, [cout], constInit(cout, 0)));
      this.params.set(`${n}.bn.running_mean`, variable(`${n}.bn.running_mean`, [cout], constInit(cout, 0), false));
      this.params.set(`${n}.bn.running_var`, variable(`${n}.bn.running_var`, [cout], constInit(cout, 1), false));
      cin = cout;
    });
  }

  createPet(opts: PetOptions, rng: Rng): Params {
    return this.makePet(opts, rng);
  }

  private makePet(opts: PetOptions, _rng: Rng): Params {
    const pet: Params = new Map();
    if (opts.adapter || opts.vpt) throw new InputError('the CNN backbone supports only SSF as its PET module');
    if (opts.ssf) {
      this.config.channels.forEach((c, i) => {
        pet.set(`ssf.blocks.${i}.scale`, variable(`ssf.blocks.${i}.scale`, [c], constInit(c, 1)));
        pet.set(`ssf.blocks.${i}.shift`, variable(`ssf.blocks.${i}.shift`, [c], constInit(c, 0)));
      });
    }
    return pet;
  }

  forward(x2: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    const { imageSize: S, inChannels: C } = this.config;
    if (x2.shape[1] !== this.inputDim) throw new InputError(`CNN expects rows of ${this.inputDim} values, got ${x2.shape[1]}`);
    const training = opts.training ?? false;
    return tf.tidy(() => {
      let x = x2.reshape([-1, S, S, C]) as tf.Tensor4D;
      this.config.channels.forEach((_c, i) => {
        const n = `blocks.${i}`;
        const stride = this.config.strides[i];
        const w = getParam(this.params, `${n}.conv.weight`);
        // Frozen kernels (PET training, features): same fast forward, input gradient only.
        x = conv3x3Trainable(x, w as tf.Tensor4D, stride, training);
        const s = opts.pet?.get(`ssf.blocks.${i}.scale`);
        if (s && !training) {
          // Frozen batch norm + ReLU + SSF as one kernel (core/bn): the composed ops below, bit for bit.
          x = batchNormReluEvalSsf(x, getParam(this.params, `${n}.bn.weight`), getParam(this.params, `${n}.bn.bias`),
            getParam(this.params, `${n}.bn.running_mean`), getParam(this.params, `${n}.bn.running_var`), s, opts.pet!.get(`ssf.blocks.${i}.shift`)!, BN_EPS);
          return;
        }
        let mean: tf.Tensor, variance: tf.Tensor;
        if (training) {
          ({ mean, variance } = tf.moments(x, [0, 1, 2]));
          const count = x.shape[0] * x.shape[1] * x.shape[2];
          this.pendingStats.push({ name: n, mean: tf.keep(mean.clone()), variance: tf.keep(variance.mul(count / Math.max(1, count - 1))) });
        } else {
          mean = getParam(this.params, `${n}.bn.running_mean`);
          variance = getParam(this.params, `${n}.bn.running_var`);
        }
        let y = x.sub(mean).mul(tf.rsqrt(variance.add(BN_EPS))).mul(getParam(this.params, `${n}.bn.weight`)).add(getParam(this.params, `${n}.bn.bias`));
        y = tf.relu(y);
        if (s) y = y.mul(s).add(opts.pet!.get(`ssf.blocks.${i}.shift`)!);
        x = y as tf.Tensor4D;
      });
      return tf.mean(x, [1, 2]) as tf.Tensor2D;
    });
  }

  /** Fold the batch statistics of the last training forward into the running statistics. */
  commitBatchStats(): void {
    for (const { name, mean, variance } of this.pendingStats) {
      tf.tidy(() => {
        const rm = getParam(this.params, `${name}.bn.running_mean`);
        const rv = getParam(this.params, `${name}.bn.running_var`);
        rm.assign(rm.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM)));
        rv.assign(rv.mul(1 - BN_MOMENTUM).add(variance.mul(BN_MOMENTUM)));
      });
      mean.dispose();
      variance.dispose();
    }
    this.pendingStats = [];
  }

  describe(): Record<string, unknown> {
    return { kind: 'cnn', ...this.config, batchNorm: { eps: BN_EPS, momentum: BN_MOMENTUM }, pool: 'global-average', pet: 'ssf after each block' };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}
