// Name -> learner factory. Unknown names raise an error listing the known ones.
import { InputError } from '../core/errors.js';
import { Ranpac, type RanpacOptions } from './methods/ranpac.js';
import { Safe, type SafeOptions } from './methods/safe.js';
import { SimpleCil } from './methods/simplecil.js';
import type { ContinualLearner, LearnerContext } from './methods/types.js';

export type LearnerFactory = (ctx: LearnerContext, options: Record<string, unknown>) => ContinualLearner;

export const LEARNERS: ReadonlyMap<string, LearnerFactory> = new Map<string, LearnerFactory>([
  ['simplecil', (ctx, o) => new SimpleCil(ctx, o as Record<string, never>)],
  ['ranpac', (ctx, o) => new Ranpac(ctx, o as Partial<RanpacOptions>)],
  ['safe', (ctx, o) => new Safe(ctx, o as Partial<SafeOptions>)],
]);

export function makeLearner(name: string, ctx: LearnerContext, options: Record<string, unknown> = {}): ContinualLearner {
  const f = LEARNERS.get(name);
  if (!f) throw new InputError(`unknown method ${JSON.stringify(name)}; known: ${[...LEARNERS.keys()].join(', ')}`);
  return f(ctx, options);
}
