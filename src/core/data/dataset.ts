// The Dataset type shared by every area: float32 features (or flattened images) with int labels.
import { InputError } from '../errors.js';
import { MAX_CLASSES } from '../limits.js';
import type { Rng } from '../rng.js';

export interface Dataset {
  /** n x d row-major features; images are flattened in (h, w, c) order. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly d: number;
  /** Image shape (height, width, channels) when the rows are images. */
  readonly shape?: readonly [number, number, number];
  readonly classNames: readonly string[];
  /** Where it came from (for run records): a path, or a generator with its seed. */
  readonly source: string;
}

export function makeDataset(args: {
  x: Float32Array; y: Int32Array; d: number; classNames?: readonly string[];
  shape?: readonly [number, number, number]; source: string;
}): Dataset {
  const n = args.y.length;
  if (args.x.length !== n * args.d) throw new InputError(`dataset ${args.source}: ${args.x.length} values is not ${n} rows x ${args.d}`);
  if (args.shape && args.shape[0] * args.shape[1] * args.shape[2] !== args.d) throw new InputError(`dataset ${args.source}: shape ${args.shape.join('x')} does not match d=${args.d}`);
  let maxLabel = -1;
  for (let i = 0; i < n; i++) {
    const v = args.y[i];
    if (v < 0) throw new InputError(`dataset ${args.source}: negative label ${v} at row ${i}`);
    // Learners size arrays by the largest label: one stray 2^31 - 1 would ask for gigabytes.
    if (v >= MAX_CLASSES) throw new InputError(`dataset ${args.source}: label ${v} at row ${i} is above the limit of ${MAX_CLASSES - 1} (labels are class indices 0..C-1; remap sparse labels first)`);
    if (v > maxLabel) maxLabel = v;
  }
  const classNames = args.classNames ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  if (maxLabel >= classNames.length) throw new InputError(`dataset ${args.source}: label ${maxLabel} has no class name`);
  return { x: args.x, y: args.y, n, d: args.d, shape: args.shape, classNames, source: args.source };
}

/** Rows `idx` of a dataset (copied). */
export function subset(ds: Dataset, idx: ArrayLike<number>, source = ds.source): Dataset {
  const n = idx.length, d = ds.d;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = idx[i];
    x.set(ds.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = ds.y[r];
  }
  return { ...ds, x, y, n, source };
}

/** Rows whose label is in `classes`. */
export function filterClasses(ds: Dataset, classes: readonly number[]): Dataset {
  const keep = new Set(classes);
  const idx: number[] = [];
  for (let i = 0; i < ds.n; i++) if (keep.has(ds.y[i])) idx.push(i);
  return subset(ds, idx);
}

/** Indices of each class, in row order. */
export function indicesByClass(ds: Dataset): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (let i = 0; i < ds.n; i++) {
    const c = ds.y[i];
    let list = m.get(c);
    if (!list) m.set(c, (list = []));
    list.push(i);
  }
  return m;
}

/** Per-class split: `counts[k]` rows of each class for part k, the rest dropped. Seeded. */
export function stratifiedSplit(ds: Dataset, counts: readonly number[], rng: Rng): Dataset[] {
  const parts: number[][] = counts.map(() => []);
  for (const [c, idx] of [...indicesByClass(ds)].sort((a, b) => a[0] - b[0])) {
    const perm = rng.split(`class-${c}`).permutation(idx.length);
    const need = counts.reduce((s, v) => s + v, 0);
    if (need > idx.length) throw new InputError(`split of ${ds.source}: class ${c} has ${idx.length} rows, ${need} needed`);
    let o = 0;
    counts.forEach((k, p) => {
      for (let i = 0; i < k; i++) parts[p].push(idx[perm[o++]]);
    });
  }
  return parts.map((p, k) => subset(ds, p.sort((a, b) => a - b), `${ds.source}[part ${k}]`));
}

/** Fraction split per class: train gets round(frac * count) of each class. */
export function stratifiedFractionSplit(ds: Dataset, frac: number, rng: Rng): [Dataset, Dataset] {
  const a: number[] = [], b: number[] = [];
  for (const [c, idx] of [...indicesByClass(ds)].sort((x, y) => x[0] - y[0])) {
    const perm = rng.split(`class-${c}`).permutation(idx.length);
    const k = Math.round(frac * idx.length);
    for (let i = 0; i < idx.length; i++) (i < k ? a : b).push(idx[perm[i]]);
  }
  return [subset(ds, a.sort((x, y) => x - y)), subset(ds, b.sort((x, y) => x - y))];
}

/** A class order: a seeded permutation of 0..C-1. */
export function classOrder(numClasses: number, rng: Rng): number[] {
  return Array.from(rng.permutation(numClasses));
}
