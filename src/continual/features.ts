// The feature cache: images -> frozen backbone -> feats.npy (float32 [n, d]) + labels.npy
// (int32 [n]), extracted once. Rows are appended to `<out>.partial` and the count of committed rows
// is written atomically to `<out>.partial.json` after each batch (after fsync of the rows), so a
// killed run resumes at the last committed row: rows past it are truncated, none are duplicated
// or lost. The finished NPY is streamed out under a temporary name and renamed into place.
//
// Example (a PyTorch model exported with torch.onnx.export, an ImageNet-R style split file):
//   perennial cil features --backbone vit_b16.onnx --images imagenet-r/train.txt \
//     --out train-feats.npy --labels train-labels.npy --batch-size 32 --json features.json
//   perennial cil features --backbone vit_b16.safetensors --heads 12 --images imagenet-r/train/ ...
// Libraries: onnxruntime-node (CPU provider bundled; WebGPU where the platform has an adapter),
// sharp (libvips decode/resize, threaded outside the JS thread), tfjs for the safetensors ViT.
import { checkOptionKeys } from '../core/options.js';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { InputError, ParseError, warn } from '../core/errors.js';
import { MAX_CLASSES, assertAllocatable } from '../core/limits.js';
import { assertNotInput, refuseSymlink, writeJsonAtomic } from '../core/fsx.js';
import { progress } from '../core/progress.js';
import { parseNpy, writeNpy, type NpyArray } from '../core/data/npy.js';
import { makeDataset, stratifiedFractionSplit, type Dataset } from '../core/data/dataset.js';
import { Rng as RngClass, type Rng } from '../core/rng.js';
import { tf } from '../core/tensor.js';
import type { Backbone, ForwardOptions, PetOptions } from './backbones/types.js';
import { constInit, variable, type Params } from '../core/nn.js';
import type { Miniature } from './data.js';
import { OnnxBackbone, type ExecutionProvider, type FeatureBackbone } from './onnx.js';
import { VitFeatureBackbone } from './vit-weights.js';
import { defaultNormalize, imageBatches, listingHash, type ImageList, type Normalize } from './images.js';
import { readJsonFile } from '../core/json.js';

export interface BackboneOptions {
  /** ONNX: feature output name. */
  readonly output?: string;
  readonly threads?: number;
  readonly executionProvider?: ExecutionProvider;
  /** ONNX models with symbolic spatial size. */
  readonly imageSize?: number;
  /** safetensors ViT: attention heads (default: file metadata, else dim / 64). */
  readonly heads?: number;
}

/** `.onnx` -> onnxruntime backbone; `.safetensors` -> timm ViT on tfjs. */
export async function loadFeatureBackbone(path: string, opts: BackboneOptions = {}): Promise<FeatureBackbone> {
  checkOptionKeys(opts, ['output', 'threads', 'executionProvider', 'imageSize', 'heads'], 'loadFeatureBackbone');
  if (!existsSync(path)) throw new InputError(`backbone ${path} does not exist`);
  const ext = extname(path).toLowerCase();
  if (ext === '.onnx') {
    if (opts.heads !== undefined) throw new InputError('--heads applies to safetensors ViT backbones, not ONNX models');
    return OnnxBackbone.load(path, { output: opts.output, threads: opts.threads, executionProvider: opts.executionProvider, imageSize: opts.imageSize });
  }
  if (ext === '.safetensors') {
    for (const k of ['output', 'executionProvider', 'imageSize'] as const) {
      if (opts[k] !== undefined) throw new InputError(`option ${k} applies to ONNX backbones, not safetensors ViTs`);
    }
    return VitFeatureBackbone.load(path, { heads: opts.heads });
  }
  throw new InputError(`backbone ${path}: expected a .onnx model or a .safetensors timm ViT state dict`);
}

export interface ExtractOptions {
  /** Default: the model's fixed batch size if it has one, else 64. */
  readonly batchSize?: number;
  /** Default: imagenet for 3-channel backbones, unit for 1-channel ones. */
  readonly normalize?: Normalize;
  /** Shorter side before the center crop (default: the crop size). */
  readonly resize?: number;
  /** Continue a matching partial extraction (default true); false starts over. */
  readonly resume?: boolean;
  readonly quiet?: boolean;
  /** Stop cleanly after this many batches (leaves a resumable partial cache; for tests and chunked runs). */
  readonly maxBatches?: number;
  /** Other input files that must never be overwritten (backbone, split file). */
  readonly inputs?: readonly string[];
}

export interface ExtractResult {
  readonly complete: boolean;
  readonly rows: number;
  readonly total: number;
  readonly featureDim: number;
  /** Rows found already committed at start (resumed). */
  readonly resumedFrom: number;
  readonly normalize: Normalize;
  readonly listingHash: string;
  readonly backboneHash: string;
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

interface PartialState {
  readonly version: 1;
  readonly listingHash: string;
  readonly backboneHash: string;
  readonly featureDim: number;
  readonly total: number;
  readonly normalize: Normalize;
  readonly resize: number | null;
  readonly rows: number;
}

/** sha256 of a file, streamed (content names a checkpoint, not its path). */
export function fileHash(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) { const k = readSync(fd, buf, 0, buf.length, null); if (k <= 0) break; h.update(buf.subarray(0, k)); }
  } finally { closeSync(fd); }
  return h.digest('hex').slice(0, 16);
}

/**
 * Extract features of every listed image into `out` (float32 [n, d] NPY) and `labelsOut`
 * (int32 [n] NPY), resumably. `backboneFile` identifies the backbone by content hash.
 */
export async function extractFeatureCache(backbone: FeatureBackbone, backboneFile: string, list: ImageList, out: string, labelsOut: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  checkOptionKeys(opts, ['batchSize', 'normalize', 'resize', 'resume', 'quiet', 'maxBatches', 'inputs'], 'extractFeatureCache');
  const t0 = performance.now();
  const outP = resolve(out), labP = resolve(labelsOut);
  if (outP === labP) throw new InputError(`--out and --labels name the same file ${out}`);
  // Items with in-memory pixels name a record, not a file: their files come in `opts.inputs`
  // (checking 60,000 record names one by one took half a minute).
  const inputs = [backboneFile, ...(opts.inputs ?? []), ...list.items.filter((i) => !i.pixels).map((i) => i.path)];
  assertNotInput(outP, inputs);
  assertNotInput(labP, inputs);
  refuseSymlink(outP); refuseSymlink(labP);
  const total = list.items.length;
  const d = backbone.featureDim;
  const normalize = opts.normalize ?? defaultNormalize(backbone.input.channels);
  const bs = opts.batchSize ?? backbone.fixedBatch ?? 64;
  const state0: Omit<PartialState, 'rows'> = {
    version: 1, listingHash: listingHash(list), backboneHash: fileHash(backboneFile), featureDim: d, total, normalize, resize: opts.resize ?? null,
  };
  const partial = `${outP}.partial`, statePath = `${outP}.partial.json`;
  refuseSymlink(partial);
  let rows = 0;
  if (existsSync(statePath) && opts.resume !== false) {
    let st: PartialState;
    st = readJsonFile(statePath, 'the JSON state of a partial feature cache') as PartialState;
    for (const k of Object.keys(state0) as (keyof typeof state0)[]) {
      if (st[k] !== state0[k]) throw new InputError(`${statePath}: partial cache was made with ${k} = ${JSON.stringify(st[k])}, this run has ${JSON.stringify(state0[k])}; rerun with --restart to start over`);
    }
    if (!Number.isInteger(st.rows) || st.rows < 0 || st.rows > total) throw new ParseError(statePath, 1, `rows between 0 and ${total}`, String(st.rows), -1, 'rows');
    const have = existsSync(partial) ? statSync(partial).size : 0;
    if (have < st.rows * d * 4) throw new InputError(`${partial} holds ${have} bytes, fewer than the ${st.rows} committed rows need (${st.rows * d * 4}); rerun with --restart`);
    rows = st.rows;
  } else if (existsSync(statePath)) {
    unlinkSync(statePath);
  }
  const resumedFrom = rows;
  // Open the row file and cut anything written after the last committed row (a kill mid-batch).
  const fd = openSync(partial, rows > 0 ? 'r+' : 'w+');
  let complete = false;
  try {
    ftruncateSync(fd, rows * d * 4);
    writeJsonAtomic(statePath, { ...state0, rows });
    const bar = progress(`features ${basename(outP)}`, total, { quiet: opts.quiet });
    if (rows > 0) bar.tick(rows, 'resumed');
    let batches = 0;
    let pos = rows * d * 4;
    for await (const b of imageBatches(list, backbone.input, { batchSize: bs, normalize, resize: opts.resize, start: rows })) {
      if (opts.maxBatches !== undefined && batches >= opts.maxBatches) break;
      const f = await backbone.run(b.x, b.n);
      if (f.length !== b.n * d) throw new InputError(`backbone returned ${f.length} values for ${b.n} images of ${d} features`);
      for (let i = 0; i < f.length; i++) {
        if (!Number.isFinite(f[i])) throw new InputError(`backbone gave a non-finite feature for ${list.items[b.start + Math.floor(i / d)].path}`);
      }
      const bytes = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, pos + off);
      pos += bytes.length;
      fsyncSync(fd);
      rows += b.n;
      writeJsonAtomic(statePath, { ...state0, rows });
      bar.tick(b.n);
      batches++;
    }
    bar.done();
    complete = rows === total;
    if (complete) {
      if (fstatSync(fd).size !== total * d * 4) throw new InputError(`${partial}: ${fstatSync(fd).size} bytes, expected ${total * d * 4}`);
      writeNpyFromRaw(outP, fd, total, d);
      const labels = new Int32Array(total);
      list.items.forEach((it, i) => { labels[i] = it.label; });
      writeNpy(labP, labels, [total]);
    }
  } finally {
    closeSync(fd);
  }
  if (complete) { unlinkSync(partial); unlinkSync(statePath); }
  const seconds = (performance.now() - t0) / 1000;
  return { complete, rows, total, featureDim: d, resumedFrom, normalize, listingHash: state0.listingHash, backboneHash: state0.backboneHash, seconds, imagesPerSecond: (rows - resumedFrom) / Math.max(seconds, 1e-9) };
}

/** Stream `rows x d` float32 from an open raw file into an NPY at `path` (temp + fsync + rename). */
function writeNpyFromRaw(path: string, src: number, rows: number, d: number): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${d}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = new Uint8Array(10 + header.length);
  pre.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(pre.buffer).setUint16(8, header.length, true);
  pre.set(Buffer.from(header, 'latin1'), 10);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeAll(fd, pre);
    const buf = Buffer.allocUnsafe(1 << 22);
    let pos = 0;
    const n = rows * d * 4;
    while (pos < n) {
      const k = readSync(src, buf, 0, Math.min(buf.length, n - pos), pos);
      if (k <= 0) throw new InputError(`feature rows ended early at byte ${pos} of ${n}`);
      writeAll(fd, buf.subarray(0, k));
      pos += k;
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/**
 * A feature cache as a Dataset (x = features, y = labels), for the feature-level learners.
 * Checks that both files agree in length and that the features are finite.
 */
/**
 * NPY from a file. The bytes are copied into a plain Uint8Array first: core's parseNpy slices its
 * input, and a Node Buffer's slice is a view into the whole file, not a copy of the data part.
 */
function readNpyFile(path: string): NpyArray {
  let buf: Buffer;
  let size: number;
  try { size = statSync(path).size; } catch (e) { throw new InputError(`cannot read ${path}: ${(e as Error).message}`); }
  // Read whole and copied once by parseNpy: refuse a file that cannot be held twice.
  assertAllocatable(2 * size, `reading ${path}`);
  try { buf = readFileSync(path); } catch (e) { throw new InputError(`cannot read ${path}: ${(e as Error).message}`); }
  return parseNpy(new Uint8Array(buf), path);
}

export function readFeatureCache(featsPath: string, labelsPath: string, classNames?: readonly string[]): Dataset {
  const f = readNpyFile(featsPath);
  if (f.shape.length !== 2) throw new ParseError(featsPath, 0, 'a 2-D feature array [n, d]', `shape (${f.shape.join(', ')})`, 8, 'shape');
  if (f.dtype !== 'float32' && f.dtype !== 'float64') throw new ParseError(featsPath, 0, 'float32 or float64 features', f.dtype, 8, 'descr');
  const [n, d] = f.shape as [number, number];
  if (n === 0 || d === 0) throw new ParseError(featsPath, 0, 'at least one row and one feature', `shape (${n}, ${d})`, 8, 'shape');
  const l = readNpyFile(labelsPath);
  if (l.shape.length !== 1) throw new ParseError(labelsPath, 0, 'a 1-D label array [n]', `shape (${l.shape.join(', ')})`, 8, 'shape');
  if (l.shape[0] !== n) throw new InputError(`${labelsPath} has ${l.shape[0]} labels, ${featsPath} has ${n} rows`);
  if (!['int32', 'int64', 'uint8', 'int8'].includes(l.dtype)) throw new ParseError(labelsPath, 0, 'integer labels', l.dtype, 8, 'descr');
  const x = f.data instanceof Float32Array ? f.data : Float32Array.from(f.data as ArrayLike<number>);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new ParseError(featsPath, 0, 'finite features', `${x[i]} at row ${Math.floor(i / d)}, column ${i % d}`, -1, 'data');
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(l.data[i]);
    if (!Number.isInteger(v) || v < 0) throw new ParseError(labelsPath, 0, 'non-negative integer labels', `${v} at row ${i}`, -1, 'data');
    // Arrays are sized by the largest label, so a stray huge one is refused, not allocated for.
    if (v >= MAX_CLASSES) throw new ParseError(labelsPath, 0, `class indices 0..C-1 with C at most ${MAX_CLASSES} (remap sparse labels to 0..C-1)`, `${v} at row ${i}`, -1, 'data');
    y[i] = v;
  }
  return makeDataset({ x, y, d, classNames, source: `features:${resolve(featsPath)}` });
}

/**
 * Cosine nearest-prototype accuracy (SimpleCIL's classifier with every class in one session) on
 * a seeded stratified split: `trainFraction` of each class builds the prototypes, the rest scores.
 * A quick check that cached features carry class information; the continual learners live in
 * the continual core.
 */
export function prototypeAccuracy(ds: Dataset, trainFraction: number, rng: Rng): number {
  const [train, test] = stratifiedFractionSplit(ds, trainFraction, rng);
  const d = ds.d, C = ds.classNames.length;
  const proto = new Float64Array(C * d);
  const unit = (x: Float32Array, i: number, out: Float64Array): void => {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
    const k = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) out[j] = x[i * d + j] * k;
  };
  const v = new Float64Array(d);
  for (let i = 0; i < train.n; i++) { unit(train.x, i, v); const c = train.y[i]; for (let j = 0; j < d; j++) proto[c * d + j] += v[j]; }
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += proto[c * d + j] ** 2;
    const k = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) proto[c * d + j] *= k;
  }
  let correct = 0;
  for (let i = 0; i < test.n; i++) {
    unit(test.x, i, v);
    let best = -1, bestS = -Infinity;
    for (let c = 0; c < C; c++) { let s = 0; for (let j = 0; j < d; j++) s += v[j] * proto[c * d + j]; if (s > bestS) { bestS = s; best = c; } }
    if (best === test.y[i]) correct++;
  }
  return test.n ? correct / test.n : NaN;
}

// ---------------------------------------------------------------------------------------------
// Feature-level continual learning on a cache: `perennial cil run --features F --labels L`.

/**
 * The cached features as a backbone for the continual trainer: forward is the identity on the
 * cached rows, and its PET module is SSF on the features (per-feature scale and shift, identity at
 * start), so SAFE's and RanPAC's first-session tuning act on top of the frozen features.
 * (`kind` is 'mlp' because the core's Backbone type has no identity kind; describe() says what it is.)
 */
export class CachedFeatureBackbone implements Backbone {
  readonly kind = 'mlp' as const;
  readonly params: Params = new Map();
  readonly inputDim: number;
  readonly featureDim: number;
  constructor(dim: number, readonly source: string) {
    if (!Number.isInteger(dim) || dim < 1) throw new InputError(`feature dimension must be a positive integer, got ${dim}`);
    this.inputDim = dim;
    this.featureDim = dim;
  }

  createPet(opts: PetOptions, _rng: Rng): Params {
    checkOptionKeys(opts, ['ssf', 'adapter', 'vpt'], 'CachedFeatureBackbone PET');
    if (opts.adapter || opts.vpt) throw new InputError('cached features support only SSF (per-feature scale and shift) as their PET module; adapters and VPT need the image backbone');
    const pet: Params = new Map();
    if (opts.ssf) {
      const d = this.featureDim;
      pet.set('ssf.features.scale', variable('ssf.features.scale', [d], constInit(d, 1)));
      pet.set('ssf.features.shift', variable('ssf.features.shift', [d], constInit(d, 0)));
    }
    return pet;
  }

  forward(x: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    if (x.shape[1] !== this.inputDim) throw new InputError(`cached features have ${this.inputDim} columns, got rows of ${x.shape[1]}`);
    const s = opts.pet?.get('ssf.features.scale');
    if (!s) return tf.tidy(() => x.clone());
    return tf.tidy(() => x.mul(s).add(opts.pet!.get('ssf.features.shift')!) as tf.Tensor2D);
  }

  describe(): Record<string, unknown> {
    return { kind: 'cached-features', source: this.source, featureDim: this.featureDim, pet: 'ssf on the cached features' };
  }

  dispose(): void { /* no weights */ }
}

export interface FeatureRunOptions {
  readonly features: string;
  readonly labels: string;
  /** A separate test cache (e.g. the official test split); otherwise `testFraction` is held out. */
  readonly testFeatures?: string;
  readonly testLabels?: string;
  /** Stratified share held out for testing when no test cache is given (default 0.2, seed fixed). */
  readonly testFraction?: number;
  /** Share of each class's pool rows used for validation in every run (default 0.2). */
  readonly valFraction?: number;
  /** Default class-incremental split when the caller gives none (default: B{C/5}Inc{C/5} when C divides by 5, else B1Inc1). */
  readonly split?: string;
  readonly classNames?: readonly string[];
}

/** Fixed seed of the pool/test split of a feature cache, like the miniatures' POOL_SEED. */
export const FEATURE_POOL_SEED = 2024;

/**
 * A Miniature and a backbone for `runCil` from a feature cache. The trainer draws the same
 * number of rows from every class, so classes with more rows than the smallest contribute only
 * that many per run (a warning says how many rows go unused).
 */
export function loadFeatureRun(o: FeatureRunOptions): { mini: Miniature; backbone: CachedFeatureBackbone } {
  checkOptionKeys(o, ['features', 'labels', 'testFeatures', 'testLabels', 'testFraction', 'valFraction', 'split', 'classNames'], 'loadFeatureRun');
  if ((o.testFeatures === undefined) !== (o.testLabels === undefined)) throw new InputError('give both --test-features and --test-labels, or neither');
  const all = readFeatureCache(o.features, o.labels, o.classNames);
  let pool: Dataset, test: Dataset, testNote: string;
  if (o.testFeatures && o.testLabels) {
    if (o.testFraction !== undefined) throw new InputError('--test-fraction applies only without a test cache');
    test = readFeatureCache(o.testFeatures, o.testLabels, o.classNames);
    if (test.d !== all.d) throw new InputError(`${o.testFeatures} has ${test.d} features per row, ${o.features} has ${all.d}`);
    pool = all;
    testNote = `test cache ${resolve(o.testFeatures)}`;
  } else {
    const tf_ = o.testFraction ?? 0.2;
    if (!(tf_ > 0 && tf_ < 1)) throw new InputError(`testFraction must be in (0, 1), got ${tf_}`);
    [pool, test] = stratifiedFractionSplit(all, 1 - tf_, new RngClass(FEATURE_POOL_SEED, 'feature-pools'));
    testNote = `${tf_} of each class held out for testing (seed ${FEATURE_POOL_SEED})`;
  }
  const C = Math.max(all.classNames.length, test.classNames.length);
  const counts = new Array<number>(C).fill(0);
  for (let i = 0; i < pool.n; i++) counts[pool.y[i]]++;
  const empty = counts.map((c, i) => (c === 0 ? i : -1)).filter((i) => i >= 0);
  if (empty.length) throw new InputError(`${o.labels}: classes ${empty.slice(0, 10).join(', ')} have no training rows; labels must cover 0..${C - 1}`);
  const vf = o.valFraction ?? 0.2;
  if (!(vf > 0 && vf < 1)) throw new InputError(`valFraction must be in (0, 1), got ${vf}`);
  const minCount = Math.min(...counts);
  const perClassVal = Math.max(1, Math.round(vf * minCount));
  const perClassTrain = minCount - perClassVal;
  if (perClassTrain < 1) throw new InputError(`${o.labels}: the smallest class has ${minCount} pool rows; need at least 2 (train + validation)`);
  const unused = pool.n - minCount * C;
  if (unused > 0) warn('feature-cache-imbalanced', `feature cache classes are imbalanced (smallest ${minCount}, largest ${Math.max(...counts)} pool rows): each run uses ${minCount} rows per class, ${unused} of ${pool.n} pool rows go unused`);
  const split = o.split ?? (C % 5 === 0 ? `B${C / 5}Inc${C / 5}` : 'B1Inc1');
  const mini: Miniature = {
    // The core's DatasetName has no 'features' member yet; the record should say what this is.
    name: 'features' as Miniature['name'],
    pretrainPool: makeDataset({ x: new Float32Array(0), y: new Int32Array(0), d: all.d, source: 'none' }),
    pretrainClasses: [],
    cilPool: pool, test, numClasses: C, perClassTrain, perClassVal,
    backbone: { kind: 'mlp', config: { inputDim: all.d, hidden: [all.d] } },
    defaultSplit: split,
    description: `feature cache ${resolve(o.features)} (${all.n} x ${all.d}, ${C} classes); ${testNote}; ${perClassTrain}/${perClassVal} train/validation rows per class and run`,
  };
  return { mini, backbone: new CachedFeatureBackbone(all.d, resolve(o.features)) };
}
