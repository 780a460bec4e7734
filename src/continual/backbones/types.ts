// The contract every backbone meets: a frozen feature extractor whose parameter-efficient (PET)
// modules live in separate parameter stores, so one backbone serves several PET copies (the slow
// and fast learners of SAFE, RanPAC's session-1 model) without cloning the backbone.
import type { tf } from '../../core/tensor.js';
import type { Rng } from '../../core/rng.js';
import type { Params } from '../../core/nn.js';

/** Which PET modules to create. Backbones ignore modules they do not support and say so in describe(). */
export interface PetOptions {
  /** Per-channel scale and shift after chosen layers (SSF). */
  readonly ssf?: boolean;
  /** AdaptFormer-style parallel bottleneck adapter on each MLP block (ViT only). */
  readonly adapter?: { readonly bottleneck: number; readonly scale: number };
  /** VPT-deep prompts: `tokens` learned tokens per block (ViT only). */
  readonly vpt?: { readonly tokens: number };
}

export interface ForwardOptions {
  /** PET parameters to apply (from createPet); null/undefined = plain backbone. */
  readonly pet?: Params | null;
  /** Batch-norm in training mode (batch statistics, running stats updated). Only for pretraining. */
  readonly training?: boolean;
}

export interface Backbone {
  readonly kind: 'vit' | 'cnn' | 'mlp';
  /** Length of one flattened input row (images in HWC order). */
  readonly inputDim: number;
  readonly featureDim: number;
  /** Backbone weights (frozen during continual learning). */
  readonly params: Params;
  /** A fresh PET parameter store (identity at initialisation where the module allows). */
  createPet(opts: PetOptions, rng: Rng): Params;
  /** Features for a batch of flattened rows [N, inputDim] -> [N, featureDim]. */
  forward(x: tf.Tensor2D, opts?: ForwardOptions): tf.Tensor2D;
  /** Apply pending batch-norm running-statistic updates after a training step (no-op without BN). */
  commitBatchStats?(): void;
  /** Architecture as plain data (for manifests and run records). */
  describe(): Record<string, unknown>;
  dispose(): void;
}
