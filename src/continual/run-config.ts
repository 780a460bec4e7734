// Experiment configs of `cil run --config exp.yaml` (YAML or JSON): every `cil run` flag is a key,
// spelled as the flag without its dashes (`--drift-compensation` -> `drift-compensation`). The
// schema is strict, so an unknown or mistyped key is an error naming the file, its line and the key.
// Paths in a config are read relative to the working directory, as the flags are.
import { z } from 'zod';
import { readConfigFile } from '../core/yaml.js';

/** Config files are small; a larger one is a wrong file. */
export const MAX_RUN_CONFIG_BYTES = 256 * 1024;

const int = (min: number): z.ZodNumber => z.number().int().min(min).max(2 ** 31 - 1);
const listOf = <T extends z.ZodTypeAny>(item: T) => z.union([z.array(item).min(1), z.string().min(1)]);

/** One key per `cil run` flag (kebab-case, as on the command line). */
export const RunConfigSchema = z.strictObject({
  // Every method.
  methods: listOf(z.string().min(1)).describe('method names (a list or a comma-separated string)'),
  dataset: z.string().min(1),
  seeds: z.union([int(1), z.array(int(0)).min(1), z.string().min(1)]).describe('a count n (seeds 0..n-1), a list, or "a..b"'),
  json: z.string().min(1),
  html: z.string().min(1),
  quick: z.boolean(),
  resume: z.boolean(),
  checkpoints: z.string().min(1),
  // Frozen-backbone learners (simplecil, ranpac, safe, ...).
  split: z.string().min(1),
  backbone: z.string().min(1),
  m: int(0),
  oracle: z.boolean(),
  'drift-compensation': z.boolean(),
  features: z.string().min(1),
  labels: z.string().min(1),
  'test-features': z.string().min(1),
  'test-labels': z.string().min(1),
  'test-fraction': z.number().gt(0).lt(1),
  // Co2L / CILA.
  'per-class': int(1),
  'epochs-first': int(0),
  'epochs-later': int(0),
  buffer: int(0),
  scenario: z.enum(['split', 'rotated']),
  preset: z.string().min(1),
  tasks: int(1),
  'max-angle': z.number().gt(0).max(360),
  'per-class-test': int(1),
  encoder: z.enum(['cnn', 'mlp']),
  'mlp-hidden': z.array(int(1)).min(1),
  // ATLAS.
  shots: int(1),
  ortho: z.number().min(0),
  order: z.enum(['both', 'multimodal-first', 'unimodal-first']),
}).partial();

export type RunConfig = z.infer<typeof RunConfigSchema>;

/** The config keys, in schema order. */
export const RUN_CONFIG_KEYS: readonly string[] = Object.keys(RunConfigSchema.shape);

/** `drift-compensation` -> `driftCompensation` (the name commander gives the flag's value). */
export function camelKey(k: string): string {
  return k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Read and check a YAML or JSON run config: errors name the file, the line and the key. */
export function readRunConfig(file: string): RunConfig {
  return readConfigFile(file, RunConfigSchema, { maxBytes: MAX_RUN_CONFIG_BYTES, what: 'cil run config', knownKeys: RUN_CONFIG_KEYS, keyNoun: 'cil run key' });
}
