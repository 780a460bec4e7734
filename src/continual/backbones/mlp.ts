// A small MLP backbone for vector data (the synthetic miniature): Linear -> ReLU per layer, SSF
// after each layer as its PET module. Weights in PyTorch layout [out, in].
import { tf } from '../../core/tensor.js';
import { InputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { constInit, getParam, linear, normalInit, variable, type Params } from '../../core/nn.js';
import type { Backbone, ForwardOptions, PetOptions } from './types.js';

export interface MlpConfig {
  readonly inputDim: number;
  /** Hidden sizes; the last is the feature dimension. */
  readonly hidden: readonly number[];
}

export class SmallMlp implements Backbone {
  readonly kind = 'mlp' as const;
  readonly params: Params = new Map();
  readonly inputDim: number;
  readonly featureDim: number;

  constructor(readonly config: MlpConfig, seed = 0) {
    if (config.hidden.length === 0) throw new InputError('MLP config: hidden must list at least one size');
    this.inputDim = config.inputDim;
    this.featureDim = config.hidden[config.hidden.length - 1];
    const rng = new Rng(seed, 'mlp-init');
    let d = config.inputDim;
    config.hidden.forEach((h, i) => {
      this.params.set(`layers.${i}.weight`, variable(`layers.${i}.weight`, [h, d], normalInit(rng.split(`l${i}`), h * d, Math.sqrt(2 / d))));
      this.params.set(`layers.${i}.bias`, variable(`layers.${i}.bias`, [h], constInit(h, 0)));
      d = h;
    });
  }

  createPet(opts: PetOptions, rng: Rng): Params {
    return this.makePet(opts, rng);
  }

  private makePet(opts: PetOptions, _rng: Rng): Params {
    if (opts.adapter || opts.vpt) throw new InputError('the MLP backbone supports only SSF as its PET module');
    const pet: Params = new Map();
    if (opts.ssf) {
      this.config.hidden.forEach((h, i) => {
        pet.set(`ssf.layers.${i}.scale`, variable(`ssf.layers.${i}.scale`, [h], constInit(h, 1)));
        pet.set(`ssf.layers.${i}.shift`, variable(`ssf.layers.${i}.shift`, [h], constInit(h, 0)));
      });
    }
    return pet;
  }

  forward(x: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    if (x.shape[1] !== this.inputDim) throw new InputError(`MLP expects rows of ${this.inputDim} values, got ${x.shape[1]}`);
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      this.config.hidden.forEach((_h, i) => {
        h = tf.relu(linear(h, getParam(this.params, `layers.${i}.weight`), getParam(this.params, `layers.${i}.bias`)));
        const s = opts.pet?.get(`ssf.layers.${i}.scale`);
        if (s) h = h.mul(s).add(opts.pet!.get(`ssf.layers.${i}.shift`)!);
      });
      return h as tf.Tensor2D;
    });
  }

  describe(): Record<string, unknown> {
    return { kind: 'mlp', ...this.config, activation: 'relu', pet: 'ssf after each layer' };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}
