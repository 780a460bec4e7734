// The configuration of a saved continual model (`cil fit --config C`, `continual.fit({ config })`):
// a YAML or JSON file checked by a schema, so a mistyped key is an error naming the file, its line
// and the key. The resolved config (defaults filled in) is stored in the model directory.
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { MAX_CLASSES } from '../core/limits.js';
import { readConfigFile } from '../core/yaml.js';
import { NORMALIZE_NAMES, type Normalize } from './images.js';

/** Config files are small; a larger one is a wrong file. */
export const MAX_MODEL_CONFIG_BYTES = 256 * 1024;

export const ModelConfigSchema = z.strictObject({
  /** Registry name of the learner (`makeLearner`). */
  method: z.string().min(1).default('simplecil'),
  /** Seed of the learner (projection, initialisation, batch order) and of the validation hold-out. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  /** Classes the model can ever hold (learners size their heads once); null: max(100, 2 x the first session's). */
  maxClasses: z.number().int().min(1).max(MAX_CLASSES).nullable().default(null),
  /** Share of each class held out for validation, for learners that read validation rows. */
  valFraction: z.number().gt(0).lt(1).default(0.2),
  /** Validation rows kept per class in the model directory, so later sessions can validate on old classes. */
  bufferPerClass: z.number().int().min(1).max(10_000).default(20),
  /** Image scaling (default: imagenet for 3-channel backbones, unit for 1-channel ones). */
  normalize: z.enum(NORMALIZE_NAMES as unknown as [Normalize, ...Normalize[]]).nullable().default(null),
  /** Shorter side before the center crop (default: the crop size). */
  resize: z.number().int().min(1).max(16_384).nullable().default(null),
  /** Images per backbone batch. */
  batchSize: z.number().int().min(1).max(4096).default(32),
  /** Options of the learner, checked by the learner itself. */
  options: z.record(z.string(), z.unknown()).default({}),
});

export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

/** Check a config object (from code); `where` names it in errors. */
export function resolveModelConfig(given: ModelConfigInput | undefined, where = 'model config'): ModelConfig {
  const r = ModelConfigSchema.safeParse(given ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new InputError(`${where}: ${issue.path.length ? issue.path.join('.') : 'config'}: ${issue.message}`);
}

/** Read and check a YAML or JSON config file: errors name the file, the line and the key. */
export function readModelConfig(file: string): ModelConfig {
  return readConfigFile(file, ModelConfigSchema, { maxBytes: MAX_MODEL_CONFIG_BYTES, what: 'model config', knownKeys: Object.keys(ModelConfigSchema.shape) });
}
