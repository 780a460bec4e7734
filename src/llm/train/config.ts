// The configuration of a small llama training run (`llm train --config C.yaml`): model shape,
// optimiser, schedule and budget, checked by a schema so a mistyped key is an error naming the
// file, its line and the key. `--quick` is a fixed tiny preset sized to train in about a minute.
import { z } from 'zod';
import { InputError } from '../../core/errors.js';
import { readConfigFile } from '../../core/yaml.js';

/** Config files are small; a larger one is a wrong file. */
export const MAX_TRAIN_CONFIG_BYTES = 64 * 1024;

export const TrainConfigSchema = z.strictObject({
  /** Residual width E (a multiple of heads; head dim = E / heads must be even for the rotary pairs). */
  dim: z.number().int().min(8).max(2048).default(256),
  layers: z.number().int().min(1).max(48).default(4),
  heads: z.number().int().min(1).max(64).default(4),
  /** SwiGLU hidden width. */
  ffn: z.number().int().min(1).max(16_384).default(704),
  /** Longest training sequence in tokens; also the context length written to the GGUF, which bounds prompt + answer in llm complete / selfknow (their prompts take about 250 tokens, answers up to 160). */
  contextLength: z.number().int().min(16).max(8192).default(512),
  /** Share one matrix between the token embedding and the output layer (no output.weight in the GGUF). */
  tiedEmbeddings: z.boolean().default(true),
  ropeBase: z.number().gt(1).max(1e7).default(10_000),
  rmsEps: z.number().gt(0).max(1e-2).default(1e-5),
  /** Sequences per optimiser step. */
  batchSize: z.number().int().min(1).max(1024).default(16),
  steps: z.number().int().min(1).max(10_000_000).default(2000),
  lr: z.number().gt(0).max(1).default(3e-3),
  /** The cosine schedule ends at lr x minLrRatio. */
  minLrRatio: z.number().min(0).max(1).default(0.1),
  /** Linear warm-up steps (a warm-up longer than the run is a ramp only). */
  warmupSteps: z.number().int().min(0).default(100),
  weightDecay: z.number().min(0).max(1).default(0.1),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.95),
  adamEps: z.number().gt(0).max(1e-2).default(1e-8),
  /** Global gradient-norm clip (0: no clipping). */
  gradClip: z.number().min(0).default(1),
  /** Initial weight standard deviation (output projections are scaled by 1/sqrt(2 layers)). */
  initStd: z.number().gt(0).max(1).default(0.02),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  /** Write a checkpoint every this many steps (0: only at the end). */
  checkpointEvery: z.number().int().min(0).default(200),
  /** Model name written to the GGUF metadata. */
  name: z.string().min(1).max(200).default('perennial-trained'),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** The `--quick` preset: about a minute on a loaded 2-core machine. */
export const QUICK_CONFIG: TrainConfigInput = {
  dim: 64, layers: 2, heads: 2, ffn: 176, contextLength: 512, batchSize: 8, steps: 150, warmupSteps: 15, lr: 3e-3, checkpointEvery: 50,
};

function checkShape(c: TrainConfig, where: string): TrainConfig {
  if (c.dim % c.heads !== 0) throw new InputError(`${where}: dim ${c.dim} must be a multiple of heads ${c.heads}`);
  if ((c.dim / c.heads) % 2 !== 0) throw new InputError(`${where}: head dimension dim/heads = ${c.dim / c.heads} must be even (rotary pairs)`);
  return c;
}

/** Check a config object (from code); `where` names it in errors. */
export function resolveTrainConfig(given: TrainConfigInput | undefined, where = 'train config'): TrainConfig {
  const r = TrainConfigSchema.safeParse(given ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(`${where}: ${issue.path.length ? issue.path.join('.') : 'config'}: ${issue.message}`);
  }
  return checkShape(r.data, where);
}

/** Read and check a YAML or JSON config file: errors name the file, the line and the key. */
export function readTrainConfig(file: string): TrainConfig {
  const c = readConfigFile(file, TrainConfigSchema, { maxBytes: MAX_TRAIN_CONFIG_BYTES, what: 'train config', knownKeys: Object.keys(TrainConfigSchema.shape) });
  return checkShape(c, file);
}
