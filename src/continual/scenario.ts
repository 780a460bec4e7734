// Class-incremental scenarios: B<b>Inc<i> splits with the class order drawn from a seed. Labels are
// remapped once so that session j owns a contiguous id range (ids are positions in the class order).
import { InputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { makeDataset, type Dataset } from '../core/data/dataset.js';

export interface ScenarioOptions {
  readonly numClasses: number;
  readonly base: number;
  readonly increment: number;
  /** Seed of the class order (recorded apart from the training seed). */
  readonly classOrderSeed: number;
  /** Keep the natural order 0..C-1 instead of a seeded permutation. */
  readonly fixedOrder?: boolean;
}

export interface SessionInfo {
  readonly index: number;
  /** Remapped ids this session introduces (contiguous). */
  readonly newIds: readonly number[];
  /** Original labels of those classes. */
  readonly originalClasses: readonly number[];
  /** Number of classes seen after this session (ids 0..seen-1). */
  readonly seen: number;
}

export interface Scenario {
  readonly options: ScenarioOptions;
  /** classOrder[k] = original label with remapped id k. */
  readonly classOrder: readonly number[];
  readonly sessions: readonly SessionInfo[];
  /** Session that introduced remapped id k. */
  groupOf(id: number): number;
}

/** Parse "B2Inc2" (also "b2inc2", "B2-Inc2"). */
export function parseSplit(s: string): { base: number; increment: number } {
  const m = /^b(\d+)[-_]?inc(\d+)$/i.exec(s.trim());
  if (!m) throw new InputError(`split ${JSON.stringify(s)}: expected the form B<base>Inc<increment>, e.g. B2Inc2`);
  return { base: Number(m[1]), increment: Number(m[2]) };
}

export function makeClassIncremental(opts: ScenarioOptions): Scenario {
  const { numClasses: C, base, increment } = opts;
  if (!(Number.isInteger(base) && base > 0 && base <= C)) throw new InputError(`base ${base} must be an integer in 1..${C}`);
  if (!(Number.isInteger(increment) && increment > 0)) throw new InputError(`increment ${increment} must be a positive integer`);
  if ((C - base) % increment !== 0) throw new InputError(`B${base}Inc${increment} does not divide ${C} classes into whole sessions`);
  const classOrder = opts.fixedOrder ? Array.from({ length: C }, (_, i) => i) : Array.from(new Rng(opts.classOrderSeed, 'class-order').permutation(C));
  const sessions: SessionInfo[] = [];
  let start = 0;
  for (let t = 0; start < C; t++) {
    const size = t === 0 ? base : increment;
    const ids = Array.from({ length: size }, (_, k) => start + k);
    sessions.push({ index: t, newIds: ids, originalClasses: ids.map((k) => classOrder[k]), seen: start + size });
    start += size;
  }
  const group = new Int32Array(C);
  sessions.forEach((s) => s.newIds.forEach((k) => (group[k] = s.index)));
  return { options: opts, classOrder, sessions, groupOf: (id) => group[id] ?? -1 };
}

/** Relabel a dataset with remapped ids (original label -> position in the class order); rows of classes outside the order are dropped. */
export function remapDataset(ds: Dataset, classOrder: readonly number[]): Dataset {
  const pos = new Map(classOrder.map((c, k) => [c, k]));
  const keep: number[] = [];
  for (let i = 0; i < ds.n; i++) if (pos.has(ds.y[i])) keep.push(i);
  const x = new Float32Array(keep.length * ds.d), y = new Int32Array(keep.length);
  keep.forEach((r, i) => { x.set(ds.x.subarray(r * ds.d, (r + 1) * ds.d), i * ds.d); y[i] = pos.get(ds.y[r])!; });
  return makeDataset({ x, y, d: ds.d, shape: ds.shape, classNames: classOrder.map((c) => ds.classNames[c] ?? String(c)), source: `${ds.source}[remapped]` });
}

/** Rows whose (remapped) label is in [lo, hi). */
export function labelRange(ds: Dataset, lo: number, hi: number): Dataset {
  const keep: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.y[i] >= lo && ds.y[i] < hi) keep.push(i);
  const x = new Float32Array(keep.length * ds.d), y = new Int32Array(keep.length);
  keep.forEach((r, i) => { x.set(ds.x.subarray(r * ds.d, (r + 1) * ds.d), i * ds.d); y[i] = ds.y[r]; });
  return { ...ds, x, y, n: keep.length };
}
