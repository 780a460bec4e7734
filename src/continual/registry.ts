// Name -> learner factory. Unknown names raise an error listing the known ones.
import { InputError } from '../core/errors.js';
import { Ranpac, type RanpacOptions } from './methods/ranpac.js';
import { Safe, type SafeOptions } from './methods/safe.js';
import { SimpleCil } from './methods/simplecil.js';
import { Aper, type AperOptions } from './methods/aper.js';
import { CO2L_FAMILY } from './methods/co2l-learner.js';
import { ATLAS_FAMILY } from './methods/atlas-learner.js';
import type { ContinualLearner, LearnerContext } from './methods/types.js';

export type LearnerFactory = (ctx: LearnerContext, options: Record<string, unknown>) => ContinualLearner;

export const LEARNERS: ReadonlyMap<string, LearnerFactory> = new Map<string, LearnerFactory>([
  ['simplecil', (ctx, o) => new SimpleCil(ctx, o as Record<string, never>)],
  ['ranpac', (ctx, o) => new Ranpac(ctx, o as Partial<RanpacOptions>)],
  ['safe', (ctx, o) => new Safe(ctx, o as Partial<SafeOptions>)],
  ['aper', (ctx, o) => new Aper(ctx, o as Partial<AperOptions>)],
]);

/**
 * A family of method names served by one learner (e.g. Co2L's lambda schedules: the runs share
 * data and can share training); `cil run --methods` names its members.
 */
export interface LearnerFamily {
  /** Key of the family's options in `methodOptions`, and of its context's rng. */
  readonly name: string;
  matches(method: string): boolean;
  /** Throws an InputError for a member name it cannot run. */
  check(methods: readonly string[]): void;
  make(ctx: LearnerContext, methods: readonly string[], options: Record<string, unknown>): ContinualLearner;
}

export const LEARNER_FAMILIES: readonly LearnerFamily[] = [CO2L_FAMILY, ATLAS_FAMILY];

/** Whether `name` is a registered learner or a member of a family. */
export function isKnownMethod(name: string): boolean {
  return LEARNERS.has(name) || LEARNER_FAMILIES.some((f) => f.matches(name));
}

/** The learners behind `methods`, in order: one per registry name, one per family for all its members. */
export function makeLearners(methods: readonly string[], ctxFor: (key: string) => LearnerContext, options: Readonly<Record<string, Record<string, unknown>>> = {}): ContinualLearner[] {
  const out: ContinualLearner[] = [];
  const done = new Set<LearnerFamily>();
  for (const m of methods) {
    const fam = LEARNERS.has(m) ? undefined : LEARNER_FAMILIES.find((f) => f.matches(m));
    if (!fam) { out.push(makeLearner(m, ctxFor(m), options[m] ?? {})); continue; }
    if (done.has(fam)) continue;
    done.add(fam);
    const members = methods.filter((x) => !LEARNERS.has(x) && fam.matches(x));
    fam.check(members);
    out.push(fam.make(ctxFor(fam.name), members, options[fam.name] ?? {}));
  }
  return out;
}

export function makeLearner(name: string, ctx: LearnerContext, options: Record<string, unknown> = {}): ContinualLearner {
  const f = LEARNERS.get(name);
  if (!f) {
    const fam = LEARNER_FAMILIES.find((x) => x.matches(name));
    if (fam) { fam.check([name]); return fam.make(ctx, [name], options); }
    throw new InputError(`unknown method ${JSON.stringify(name)}; known: ${[...LEARNERS.keys()].join(', ')}`);
  }
  return f(ctx, options);
}
