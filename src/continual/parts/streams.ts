// Co2L's data streams: the class-incremental split (validation rows fixed across seeds, training
// rows drawn per seed) and the rotated domain-incremental stream (Co2L's R-MNIST rule).
import { InputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { stratifiedSplit, type Dataset } from '../../core/data/dataset.js';
import { makeClassIncremental, remapDataset, type Scenario } from '../scenario.js';
import type { StreamSource } from '../trainer.js';

export interface Co2lSeedData {
  readonly scenario: Scenario;
  /** Remapped labels (session j owns a contiguous id range). */
  readonly train: Dataset;
  readonly val: Dataset;
  readonly test: Dataset;
  /**
   * Domain-incremental streams (Co2L's R-MNIST rule): labels are domain * domainClasses + class, so the
   * contrastive loss, anchors and buffer treat each (domain, class) pair as a class, while the probe
   * predicts the class (label % domainClasses) and each domain's test rows form one group.
   */
  readonly domainClasses?: number;
}

/**
 * One seed's data: a validation split of `perClassVal` rows per class fixed across seeds (seed
 * VAL_SPLIT_SEED), `perClassTrain` training rows per class drawn per seed from the rest, the class
 * order from the seed; the test set only scores.
 */
export const VAL_SPLIT_SEED = 1993;

export function co2lSeedData(train: Dataset, test: Dataset, seed: number, o: { perClassTrain: number; perClassVal: number; numClasses: number; base: number; increment: number }): Co2lSeedData {
  const { val, train: tr, scenario } = co2lSeedDataRows(train, seed, o);
  return { scenario, train: remapDataset(tr, scenario.classOrder), val: remapDataset(val, scenario.classOrder), test: remapDataset(test, scenario.classOrder) };
}

/**
 * The rows behind `co2lSeedData` as indices into `train` (validation, training; ascending) and the
 * class order, so that a peer implementation can run on exactly the same data. The splits depend on
 * the labels and the seeds only, so they are replayed on a dataset of row numbers.
 */
export function co2lSeedIndices(train: Dataset, seed: number, o: { perClassTrain: number; perClassVal: number; numClasses: number; base: number; increment: number }): { val: number[]; train: number[]; classOrder: number[] } {
  const { shape: _shape, ...rest } = train;
  const rows: Dataset = { ...rest, x: Float32Array.from({ length: train.n }, (_, i) => i), d: 1 };
  const d = co2lSeedDataRows(rows, seed, o);
  const ids = (ds: Dataset): number[] => Array.from(ds.x, (v) => Math.round(v));
  return { val: ids(d.val), train: ids(d.train), classOrder: [...d.scenario.classOrder] };
}

/** The splits of `co2lSeedData` before the class order is applied. */
function co2lSeedDataRows(train: Dataset, seed: number, o: { perClassTrain: number; perClassVal: number; numClasses: number; base: number; increment: number }): { val: Dataset; train: Dataset; scenario: Scenario } {
  const byClass = new Map<number, number>();
  for (let i = 0; i < train.n; i++) byClass.set(train.y[i], (byClass.get(train.y[i]) ?? 0) + 1);
  const minCount = Math.min(...byClass.values());
  if (o.perClassTrain + o.perClassVal > minCount) throw new InputError(`${train.source}: a class has ${minCount} rows, ${o.perClassTrain} + ${o.perClassVal} needed`);
  const [val, pool] = stratifiedSplit(train, [o.perClassVal, minCount - o.perClassVal], new Rng(VAL_SPLIT_SEED, 'co2l-val')) as [Dataset, Dataset];
  const [tr] = stratifiedSplit(pool, [o.perClassTrain], new Rng(seed, 'co2l-train')) as [Dataset];
  const scenario = makeClassIncremental({ numClasses: o.numClasses, base: o.base, increment: o.increment, classOrderSeed: seed });
  return { val, train: tr, scenario };
}

// ---------------------------------------------------------------------------------------------
// Rotated stream (domain-incremental, like Co2L's R-MNIST): every task holds all classes, rotated by
// its own angle.

/** Rotate one h x w single-channel image about its centre by `deg` degrees (bilinear, zero outside). */
export function rotateImage(src: Float32Array, h: number, w: number, deg: number, out = new Float32Array(h * w)): Float32Array {
  const a = (deg * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
  const cy = (h - 1) / 2, cx = (w - 1) / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Inverse map: the source point that lands on (y, x).
      const dy = y - cy, dx = x - cx;
      const sx = c * dx + s * dy + cx, sy = -s * dx + c * dy + cy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      // The four bilinear corners in a fixed order (no per-pixel allocation).
      const y1 = y0 + 1, x1 = x0 + 1;
      const inY0 = y0 >= 0 && y0 < h, inY1 = y1 >= 0 && y1 < h, inX0 = x0 >= 0 && x0 < w, inX1 = x1 >= 0 && x1 < w;
      let v = 0;
      if (inY0 && inX0) v += (1 - fy) * (1 - fx) * src[y0 * w + x0];
      if (inY0 && inX1) v += (1 - fy) * fx * src[y0 * w + x1];
      if (inY1 && inX0) v += fy * (1 - fx) * src[y1 * w + x0];
      if (inY1 && inX1) v += fy * fx * src[y1 * w + x1];
      out[y * w + x] = v;
    }
  }
  return out;
}

export interface RotatedOptions {
  readonly tasks: number;
  /** Training rows per class and task (drawn afresh for each task from the training pool). */
  readonly perClassTrain: number;
  /** Validation rows per class and task (from a pool fixed across seeds, rotated like the task). */
  readonly perClassVal: number;
  /** Test rows per class and task (from the official test set). */
  readonly perClassTest: number;
  /** Angles are drawn uniformly in [0, maxAngle) per task and seed. */
  readonly maxAngle: number;
}

/**
 * One seed's rotated stream: task t rotates its images by angle_t (uniform in [0, maxAngle) from the
 * seed); labels are t * C + class (see `Co2lSeedData.domainClasses`). Validation rows come from a
 * pool held out of training with a seed fixed across seeds; test rows from the official test set.
 */
export function rotatedSeedData(train: Dataset, test: Dataset, seed: number, o: RotatedOptions): Co2lSeedData & { angles: number[] } {
  const shape = train.shape;
  if (!shape || shape[2] !== 1) throw new InputError(`${train.source}: the rotated stream needs single-channel images`);
  if (!(Number.isInteger(o.tasks) && o.tasks >= 1)) throw new InputError(`rotated stream: tasks must be a positive integer, got ${o.tasks}`);
  const C = Math.max(...train.y) + 1;
  const byClass = new Map<number, number>();
  for (let i = 0; i < train.n; i++) byClass.set(train.y[i], (byClass.get(train.y[i]) ?? 0) + 1);
  const minCount = Math.min(...byClass.values());
  const valPool = o.perClassVal * o.tasks;
  if (valPool + o.perClassTrain > minCount) throw new InputError(`${train.source}: a class has ${minCount} rows, ${valPool} + ${o.perClassTrain} needed`);
  const [valAll, pool] = stratifiedSplit(train, [valPool, minCount - valPool], new Rng(VAL_SPLIT_SEED, 'co2l-rot-val')) as [Dataset, Dataset];
  const rng = new Rng(seed, 'co2l-rotated');
  const angles = Array.from({ length: o.tasks }, (_, t) => rng.split(`angle-${t}`).uniform(0, o.maxAngle));
  const [h, w] = shape;
  const d = h * w;
  const build = (parts: Dataset[], name: string): Dataset => {
    const n = parts.reduce((s, p) => s + p.n, 0);
    const x = new Float32Array(n * d), y = new Int32Array(n);
    let r = 0;
    parts.forEach((p, t) => {
      for (let i = 0; i < p.n; i++, r++) {
        rotateImage(p.x.subarray(i * d, (i + 1) * d), h, w, angles[t], x.subarray(r * d, (r + 1) * d));
        y[r] = t * C + p.y[i];
      }
    });
    return { x, y, n, d, shape, classNames: Array.from({ length: o.tasks * C }, (_, k) => `${train.classNames[k % C] ?? k % C}@${angles[Math.floor(k / C)].toFixed(0)}`), source: `${name}[rotated seed ${seed}]` };
  };
  const valParts = stratifiedSplit(valAll, Array.from({ length: o.tasks }, () => o.perClassVal), new Rng(VAL_SPLIT_SEED, 'co2l-rot-val-tasks'));
  const trainParts = angles.map((_a, t) => stratifiedSplit(pool, [o.perClassTrain], rng.split(`train-${t}`))[0]);
  const testParts = angles.map((_a, t) => stratifiedSplit(test, [o.perClassTest], rng.split(`test-${t}`))[0]);
  const scenario = makeClassIncremental({ numClasses: o.tasks * C, base: C, increment: C, classOrderSeed: seed, fixedOrder: true });
  return { scenario, train: build(trainParts, train.source), val: build(valParts, `${train.source}[val]`), test: build(testParts, test.source), domainClasses: C, angles };
}

/** Rows of a then b (labels kept; b's metadata). */
export function concatRows(a: Dataset, b: Dataset): Dataset {
  if (a.d !== b.d) throw new InputError(`cannot join rows of ${a.d} and ${b.d} values`);
  const x = new Float32Array((a.n + b.n) * a.d);
  x.set(a.x); x.set(b.x, a.n * a.d);
  const y = new Int32Array(a.n + b.n);
  y.set(a.y); y.set(b.y, a.n);
  return { ...b, x, y, n: a.n + b.n, source: `${b.source}+buffer` };
}

/** Co2L's class-incremental split as a trainer stream (no pretrained backbone: Co2L trains its encoder). */
export function co2lSplitSource(train: Dataset, test: Dataset, dataset: string, split: string, o: { perClassTrain: number; perClassVal: number; numClasses: number; base: number; increment: number }): StreamSource {
  return { dataset, split, numClasses: o.numClasses, backbone: null, description: { kind: 'co2l-split', ...o }, seed: (seed) => co2lSeedData(train, test, seed, o) };
}

/** The rotated domain-incremental stream as a trainer stream. */
export function rotatedSource(train: Dataset, test: Dataset, dataset: string, o: RotatedOptions): StreamSource {
  const C = Math.max(...train.y) + 1;
  return { dataset, split: `rotated-${o.tasks}`, numClasses: o.tasks * C, backbone: null, description: { kind: 'rotated', ...o }, seed: (seed) => rotatedSeedData(train, test, seed, o) };
}
