// A small Vision Transformer with timm's parameter names, PyTorch weight layouts and forward
// semantics (pre-norm blocks, CLS token, learned position embedding, LayerNorm eps 1e-6, exact
// GELU, attention scale head_dim^-0.5, features = CLS token after the final norm), plus switchable
// PET modules: SSF, AdaptFormer adapters and VPT-deep prompts.
//
// Inputs are NHWC images (tfjs convention) or their flattened rows; timm takes NCHW, and the patch
// embedding here maps NHWC patches onto timm's [dim, C, p, p] kernel so weights load unchanged.
import { checkOptionKeys } from '../../core/options.js';
import { tf } from '../../core/tensor.js';
import { InputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import {
  constInit, geluExact, getParam, getParamValues, layerNorm, linear, normalInit, setParams, variable,
  type Params, type WeightTensor,
} from '../../core/nn.js';
import type { Backbone, ForwardOptions, PetOptions } from './types.js';

export interface VitConfig {
  readonly imageSize: number;
  readonly patchSize: number;
  readonly channels: number;
  readonly dim: number;
  readonly depth: number;
  readonly heads: number;
  readonly mlpRatio: number;
  /** Classes of the classification head `head.*` (absent or 0: no head). */
  readonly numClasses?: number;
}

const LN_EPS = 1e-6;
const KNOWN_KEYS = ['imageSize', 'patchSize', 'channels', 'dim', 'depth', 'heads', 'mlpRatio', 'numClasses'];

export function checkVitConfig(c: VitConfig): void {
  checkOptionKeys(c, KNOWN_KEYS, 'ViT config');
  for (const k of ['imageSize', 'patchSize', 'channels', 'dim', 'depth', 'heads'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new InputError(`ViT config: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.imageSize % c.patchSize !== 0) throw new InputError(`ViT config: imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`);
  if (c.dim % c.heads !== 0) throw new InputError(`ViT config: dim ${c.dim} is not divisible by heads ${c.heads}`);
  if (!(c.mlpRatio > 0) || !Number.isInteger(c.dim * c.mlpRatio)) throw new InputError(`ViT config: mlpRatio ${c.mlpRatio} must give an integer hidden size`);
}

export class VisionTransformer implements Backbone {
  readonly kind = 'vit' as const;
  readonly params: Params = new Map();
  readonly inputDim: number;
  readonly featureDim: number;
  readonly numPatches: number;
  readonly hidden: number;

  constructor(readonly config: VitConfig, seed = 0) {
    checkVitConfig(config);
    const { imageSize: S, patchSize: p, channels: C, dim, depth } = config;
    this.inputDim = S * S * C;
    this.featureDim = dim;
    this.numPatches = (S / p) ** 2;
    this.hidden = dim * config.mlpRatio;
    const rng = new Rng(seed, 'vit-init');
    const add = (name: string, shape: number[], data: Float32Array): void => {
      this.params.set(name, variable(name, shape, data));
    };
    const lin = (name: string, out: number, inp: number): void => {
      add(`${name}.weight`, [out, inp], normalInit(rng.split(name), out * inp, 0.02));
      add(`${name}.bias`, [out], constInit(out, 0));
    };
    const norm = (name: string): void => {
      add(`${name}.weight`, [dim], constInit(dim, 1));
      add(`${name}.bias`, [dim], constInit(dim, 0));
    };
    add('cls_token', [1, 1, dim], normalInit(rng.split('cls'), dim, 1e-6));
    add('pos_embed', [1, this.numPatches + 1, dim], normalInit(rng.split('pos'), (this.numPatches + 1) * dim, 0.02));
    add('patch_embed.proj.weight', [dim, C, p, p], normalInit(rng.split('patch'), dim * C * p * p, 0.02));
    add('patch_embed.proj.bias', [dim], constInit(dim, 0));
    for (let i = 0; i < depth; i++) {
      norm(`blocks.${i}.norm1`);
      lin(`blocks.${i}.attn.qkv`, 3 * dim, dim);
      lin(`blocks.${i}.attn.proj`, dim, dim);
      norm(`blocks.${i}.norm2`);
      lin(`blocks.${i}.mlp.fc1`, this.hidden, dim);
      lin(`blocks.${i}.mlp.fc2`, dim, this.hidden);
    }
    norm('norm');
    if (config.numClasses && config.numClasses > 0) lin('head', config.numClasses, dim);
  }

  /** Load timm-named weights in PyTorch layouts; every parameter must be given (the head may be omitted). */
  setWeights(map: ReadonlyMap<string, WeightTensor>): void {
    setParams(this.params, map, { allowMissing: ['head.weight', 'head.bias'] });
  }

  getWeights(): Map<string, WeightTensor> {
    return getParamValues(this.params);
  }

  createPet(opts: PetOptions, rng: Rng): Params {
    return this.makePet(opts, rng);
  }

  private makePet(opts: PetOptions, rng: Rng): Params {
    const { dim, depth } = this.config;
    const pet: Params = new Map();
    const ssf = (name: string, n: number): void => {
      pet.set(`ssf.${name}.scale`, variable(`ssf.${name}.scale`, [n], constInit(n, 1)));
      pet.set(`ssf.${name}.shift`, variable(`ssf.${name}.shift`, [n], constInit(n, 0)));
    };
    if (opts.ssf) {
      ssf('patch_embed', dim);
      for (let i = 0; i < depth; i++) {
        ssf(`blocks.${i}.norm1`, dim);
        ssf(`blocks.${i}.attn.qkv`, 3 * dim);
        ssf(`blocks.${i}.attn.proj`, dim);
        ssf(`blocks.${i}.norm2`, dim);
        ssf(`blocks.${i}.mlp.fc1`, this.hidden);
        ssf(`blocks.${i}.mlp.fc2`, dim);
      }
      ssf('norm', dim);
    }
    if (opts.adapter) {
      const b = opts.adapter.bottleneck;
      if (!Number.isInteger(b) || b <= 0) throw new InputError(`adapter.bottleneck must be a positive integer, got ${b}`);
      pet.set('adapter.scale', variable('adapter.scale', [], new Float32Array([opts.adapter.scale]), false));
      for (let i = 0; i < depth; i++) {
        const n = `adapter.blocks.${i}`;
        // AdaptFormer: down projection random (kaiming-like), up projection zero, so the adapter starts as identity.
        pet.set(`${n}.down.weight`, variable(`${n}.down.weight`, [b, dim], normalInit(rng.split(`${n}.down`), b * dim, Math.sqrt(2 / dim))));
        pet.set(`${n}.down.bias`, variable(`${n}.down.bias`, [b], constInit(b, 0)));
        pet.set(`${n}.up.weight`, variable(`${n}.up.weight`, [dim, b], constInit(dim * b, 0)));
        pet.set(`${n}.up.bias`, variable(`${n}.up.bias`, [dim], constInit(dim, 0)));
      }
    }
    if (opts.vpt) {
      const t = opts.vpt.tokens;
      if (!Number.isInteger(t) || t <= 0) throw new InputError(`vpt.tokens must be a positive integer, got ${t}`);
      for (let i = 0; i < depth; i++) {
        const n = `vpt.blocks.${i}.prompt`;
        pet.set(n, variable(n, [t, dim], normalInit(rng.split(n), t * dim, 0.02)));
      }
    }
    return pet;
  }

  private petScale(pet: Params | null | undefined, x: tf.Tensor, name: string): tf.Tensor {
    if (!pet) return x;
    const s = pet.get(`ssf.${name}.scale`);
    if (!s) return x;
    return x.mul(s).add(pet.get(`ssf.${name}.shift`)!);
  }

  private toImages(x: tf.Tensor): tf.Tensor4D {
    const { imageSize: S, channels: C } = this.config;
    if (x.rank === 4) {
      if (x.shape[1] !== S || x.shape[2] !== S || x.shape[3] !== C) throw new InputError(`ViT expects NHWC [N, ${S}, ${S}, ${C}], got [${x.shape.join(', ')}]`);
      return x as tf.Tensor4D;
    }
    if (x.rank === 2 && x.shape[1] === this.inputDim) return x.reshape([-1, S, S, C]);
    throw new InputError(`ViT expects [N, ${this.inputDim}] rows or NHWC images, got [${x.shape.join(', ')}]`);
  }

  /** Patch embedding: [N, H, W, C] -> [N, L, dim], tokens in row-major patch order like timm. */
  private patchEmbed(img: tf.Tensor4D, pet: Params | null | undefined): tf.Tensor {
    const { imageSize: S, patchSize: p, channels: C, dim } = this.config;
    const g = S / p;
    const n = img.shape[0];
    // [N*g, p, g, p*C] -> [N*g, p, g, p, C] -> [N*g, g, C, p, p] -> [N, L, C*p*p]
    const patches = img.reshape([n * g, p, g, p, C]).transpose([0, 2, 4, 1, 3]).reshape([n, g * g, C * p * p]);
    const w = getParam(this.params, 'patch_embed.proj.weight').reshape([dim, C * p * p]);
    const y = linear(patches, w, getParam(this.params, 'patch_embed.proj.bias'));
    return this.petScale(pet, y, 'patch_embed');
  }

  private attention(x: tf.Tensor, i: number, pet: Params | null | undefined): tf.Tensor {
    const { dim, heads } = this.config;
    const hd = dim / heads;
    const [n, t] = [x.shape[0]!, x.shape[1]!];
    const P = (k: string): tf.Variable => getParam(this.params, `blocks.${i}.attn.${k}`);
    let qkv = linear(x, P('qkv.weight'), P('qkv.bias'));
    qkv = this.petScale(pet, qkv, `blocks.${i}.attn.qkv`);
    const parts = qkv.reshape([n, t, 3, heads, hd]).transpose([2, 0, 3, 1, 4]); // [3, N, H, T, hd]
    const [q, k, v] = tf.unstack(parts, 0) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const scores = tf.matMul(q.reshape([n * heads, t, hd]), k.reshape([n * heads, t, hd]), false, true).mul(hd ** -0.5);
    const attn = tf.softmax(scores, -1);
    const out = tf.matMul(attn, v.reshape([n * heads, t, hd])).reshape([n, heads, t, hd]).transpose([0, 2, 1, 3]).reshape([n, t, dim]);
    const y = linear(out, P('proj.weight'), P('proj.bias'));
    return this.petScale(pet, y, `blocks.${i}.attn.proj`);
  }

  private mlp(x: tf.Tensor, i: number, pet: Params | null | undefined): tf.Tensor {
    const P = (k: string): tf.Variable => getParam(this.params, `blocks.${i}.mlp.${k}`);
    let h = linear(x, P('fc1.weight'), P('fc1.bias'));
    h = this.petScale(pet, h, `blocks.${i}.mlp.fc1`);
    h = geluExact(h);
    const y = linear(h, P('fc2.weight'), P('fc2.bias'));
    return this.petScale(pet, y, `blocks.${i}.mlp.fc2`);
  }

  private norm(x: tf.Tensor, name: string, pet: Params | null | undefined): tf.Tensor {
    const y = layerNorm(x, getParam(this.params, `${name}.weight`), getParam(this.params, `${name}.bias`), LN_EPS);
    return this.petScale(pet, y, name);
  }

  /** Token sequence after the final norm: [N, 1 + prompts + L, dim]. */
  forwardTokens(xIn: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const pet = opts.pet;
      const img = this.toImages(xIn);
      const n = img.shape[0];
      let x = this.patchEmbed(img, pet);
      const cls = getParam(this.params, 'cls_token').tile([n, 1, 1]);
      x = tf.concat([cls, x], 1).add(getParam(this.params, 'pos_embed'));
      let prompts = 0;
      for (let i = 0; i < this.config.depth; i++) {
        const prompt = pet?.get(`vpt.blocks.${i}.prompt`);
        if (prompt) {
          // VPT-deep: this block's prompts replace the previous block's, right after CLS.
          const t = x.shape[1]!;
          const head = x.slice([0, 0, 0], [n, 1, -1]);
          const rest = x.slice([0, 1 + prompts, 0], [n, t - 1 - prompts, -1]);
          x = tf.concat([head, prompt.expandDims(0).tile([n, 1, 1]), rest], 1);
          prompts = prompt.shape[0]!;
        }
        x = x.add(this.attention(this.norm(x, `blocks.${i}.norm1`, pet), i, pet));
        let y = this.mlp(this.norm(x, `blocks.${i}.norm2`, pet), i, pet);
        const down = pet?.get(`adapter.blocks.${i}.down.weight`);
        if (down) {
          const a = `adapter.blocks.${i}`;
          const h = tf.relu(linear(x, down, pet!.get(`${a}.down.bias`)!));
          const scale = pet!.get('adapter.scale')!;
          y = y.add(linear(h, pet!.get(`${a}.up.weight`)!, pet!.get(`${a}.up.bias`)!).mul(scale));
        }
        x = x.add(y);
      }
      return this.norm(x, 'norm', pet) as tf.Tensor3D;
    });
  }

  /** CLS features after the final norm (timm's pre-logits): [N, dim]. */
  features(x: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const tokens = this.forwardTokens(x, opts);
      return tokens.slice([0, 0, 0], [tokens.shape[0], 1, -1]).reshape([tokens.shape[0], this.featureDim]);
    });
  }

  forward(x: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    return this.features(x, opts);
  }

  /** Head logits (needs numClasses): [N, numClasses]. */
  logits(x: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const w = this.params.get('head.weight');
      if (!w) throw new InputError('this ViT has no head (numClasses not set)');
      return linear(this.features(x, opts), w, this.params.get('head.bias')) as tf.Tensor2D;
    });
  }

  describe(): Record<string, unknown> {
    return { kind: 'vit', ...this.config, layerNormEps: LN_EPS, gelu: 'exact', pool: 'cls' };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}
