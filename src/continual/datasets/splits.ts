// PILOT/PyCIL split names: `B<base>Inc<increment>`. B0 means no larger base session: the first
// session holds `increment` classes like every other (PILOT's `init_cls = increment`), so on 100
// classes B0Inc10 is 10 sessions of 10 and B50Inc10 is 50 then 5 x 10. PyCIL appends a shorter
// last session when the classes do not divide; here that is refused, so every reported split has
// whole sessions (scenario.ts builds the sessions and the class order).
import { InputError } from '../../core/errors.js';
import { MAX_CLASSES } from '../../core/limits.js';
import { makeClassIncremental, type Scenario } from '../scenario.js';

export interface PilotSplit {
  /** As written (B0 stays 0). */
  readonly base: number;
  readonly increment: number;
  /** Classes of the first session (increment when base is 0). */
  readonly firstSession: number;
}

/** Parse "B0Inc10", "B50Inc10" (also lower case, "B50-Inc10", "b50_inc10"). */
export function parsePilotSplit(s: string): PilotSplit {
  const m = /^b(\d{1,6})[-_]?inc(\d{1,6})$/i.exec(s.trim());
  if (!m) throw new InputError(`split ${JSON.stringify(s)}: expected B<base>Inc<increment>, e.g. B0Inc10 or B50Inc10`);
  const base = Number(m[1]), increment = Number(m[2]);
  if (increment < 1) throw new InputError(`split ${s}: the increment must be at least 1`);
  if (base >= MAX_CLASSES || increment >= MAX_CLASSES) throw new InputError(`split ${s}: class counts above the limit of ${MAX_CLASSES - 1}`);
  return { base, increment, firstSession: base === 0 ? increment : base };
}

/** Classes per session for `numClasses` classes. */
export function pilotSessionSizes(split: string, numClasses: number): number[] {
  const p = parsePilotSplit(split);
  if (p.firstSession > numClasses) throw new InputError(`split ${split}: the first session needs ${p.firstSession} classes, the dataset has ${numClasses}`);
  const rest = numClasses - p.firstSession;
  if (rest % p.increment !== 0) throw new InputError(`split ${split} does not divide ${numClasses} classes into whole sessions (${p.firstSession} + k x ${p.increment}); PyCIL would add a last session of ${rest % p.increment}`);
  return [p.firstSession, ...Array.from({ length: rest / p.increment }, () => p.increment)];
}

/** The scenario (sessions with their classes, class order from the seed) of a PILOT split name. */
export function pilotScenario(split: string, o: { numClasses: number; classOrderSeed: number; fixedOrder?: boolean }): Scenario {
  const sizes = pilotSessionSizes(split, o.numClasses);
  const p = parsePilotSplit(split);
  return makeClassIncremental({ numClasses: o.numClasses, base: sizes[0], increment: p.increment, classOrderSeed: o.classOrderSeed, fixedOrder: o.fixedOrder });
}
