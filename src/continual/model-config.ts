// The configuration of a saved continual model (`cil fit --config C`, `continual.fit({ config })`):
// a YAML or JSON file checked by a schema, so a mistyped key is an error naming the file, its line
// and the key. The resolved config (defaults filled in) is stored in the model directory.
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { InputError, ParseError } from '../core/errors.js';
import { MAX_CLASSES } from '../core/limits.js';
import { lineOfPath } from '../core/yaml.js';
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
  let size: number;
  try { size = statSync(file).size; } catch (e) { throw new InputError(`cannot read config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  if (size > MAX_MODEL_CONFIG_BYTES) throw new InputError(`config ${file} is ${size} bytes; at most ${MAX_MODEL_CONFIG_BYTES}`);
  const text = readFileSync(file, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ParseError(file, lc.linePos(e.pos[0]).line || 1, 'a YAML or JSON model config', e.message.split('\n')[0], -1, 'yaml');
  }
  const raw = (doc.toJS({ maxAliasCount: 100 }) as unknown) ?? {};
  const r = ModelConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  // An unknown key is reported at the key itself, not at the object holding it.
  const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
  const path = [...issue.path.map((p) => (typeof p === 'number' ? p : String(p))), ...keys.slice(0, 1)];
  let found: unknown = raw;
  for (const p of path) found = (found as Record<string | number, unknown> | undefined)?.[p];
  const key = path.length ? path.join('.') : 'config';
  throw new ParseError(file, lineOfPath(doc, lc, path), keys.length ? `a known key (${Object.keys(ModelConfigSchema.shape).join(', ')})` : issue.message,
    keys.length ? keys[0] : found === undefined ? 'nothing' : JSON.stringify(found) ?? String(found), -1, key);
}
