// A continual model a user keeps: fit a learner on the classes of an image folder (through a
// frozen backbone) or of a feature file, save it as a directory, load it again, predict, and teach
// it new classes later in one more session without the old data.
//
//   const m = await continual.fit({ backbone: 'vit.onnx', images: 'train/', config: { method: 'ranpac' } });
//   m.predict(features);                      // or await m.predictImages('photos/')
//   await m.update({ images: 'new-classes/' });
//   await m.save('model-v2');
//   const again = await continual.load('model-v2');
//
// Model directory (format version MODEL_FORMAT_VERSION): `model.json` (classes, sessions, backbone
// reference with its hash, resolved config, the learner's checkpoint meta and the names of its
// arrays), `card.json` (a short description), `learner/*.npy` (the learner's arrays) and, for
// learners that read validation rows, `buffer/x.npy` + `buffer/y.npy`: a bounded, class-balanced set
// of held-out feature rows per class, so a later session can validate on the old classes too.
// Directories are written to a temporary sibling and renamed into place, so a reader never sees a
// half-written model.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { InputError, warn } from '../core/errors.js';
import { assertAllocatable } from '../core/limits.js';
import { writeJsonAtomic } from '../core/fsx.js';
import { readJsonFile } from '../core/json.js';
import { Rng } from '../core/rng.js';
import { initTf } from '../core/tensor.js';
import { versions } from '../core/record.js';
import { makeDataset, type Dataset } from '../core/data/dataset.js';
import { readNpy, writeNpy } from '../core/data/npy.js';
import { CachedFeatureBackbone, fileHash, loadFeatureBackbone } from './features.js';
import { IMAGE_EXTENSIONS, defaultNormalize, imageBatches, listImages, type ImageList, type Normalize } from './images.js';
import type { BackboneInput, FeatureBackbone } from './onnx.js';
import type { ContinualLearner, LearnerCheckpoint, SessionData } from './methods/types.js';
import { makeLearner } from './registry.js';
import { readModelConfig, resolveModelConfig, type ModelConfig, type ModelConfigInput } from './model-config.js';

export const MODEL_FORMAT = 'perennial-cil-model';
export const MODEL_FORMAT_VERSION = 1;

/**
 * Learners that read `SessionData.val` / `valSeen` (SAFE chooses its aggregation on them). The
 * learner interface does not declare it; a learner may say so itself with `readsValidation`.
 */
const READS_VALIDATION: ReadonlySet<string> = new Set(['safe']);

export interface BackboneRef {
  /** 'onnx' | 'safetensors': images go through this file; 'features': the model was fit on feature rows. */
  readonly kind: 'onnx' | 'safetensors' | 'features';
  /** Absolute path when fit (a moved file is given again with `backbone` on load). */
  readonly file: string | null;
  /** First 16 hex digits of the file's SHA-256 (as every feature cache names its backbone). */
  readonly sha256: string | null;
  readonly featureDim: number;
  readonly input: BackboneInput | null;
  readonly normalize: Normalize | null;
  readonly resize: number | null;
  /** ONNX feature output and input size, as given when fit. */
  readonly output: string | null;
  readonly imageSize: number | null;
}

export interface SessionRecord {
  readonly index: number;
  /** Classes with rows in this session, and which of them it introduced. */
  readonly classes: readonly string[];
  readonly newClasses: readonly string[];
  /** Training rows per class; validation rows held out per class (learners that read them). */
  readonly nTrain: Readonly<Record<string, number>>;
  readonly nVal: Readonly<Record<string, number>>;
  readonly source: string;
}

interface Manifest {
  readonly format: string;
  readonly version: number;
  readonly created: string;
  readonly method: string;
  /** The learner output the model predicts with (its first). */
  readonly output: string;
  readonly capacity: number;
  readonly featureDim: number;
  readonly classes: readonly string[];
  readonly sessions: readonly SessionRecord[];
  readonly backbone: BackboneRef;
  readonly config: ModelConfig;
  readonly learner: { readonly meta: Record<string, unknown>; readonly arrays: Record<string, string> };
  readonly buffer: { readonly x: string; readonly y: string; readonly rows: number } | null;
  readonly warnings: readonly string[];
  readonly versions: Record<string, string>;
}

/** Where a session's rows come from: an image folder / split file, a feature file, or rows in memory. */
export type DataSource =
  | { readonly images: string; readonly root?: string }
  | { readonly features: string; readonly labels: string }
  | { readonly rows: Float32Array; readonly d: number; readonly labels: readonly string[] };

export interface FitOptions {
  /** Image backbone (.onnx, or a timm ViT .safetensors); not needed for feature rows. */
  readonly backbone?: string;
  readonly data: DataSource;
  /** A config object, or the path of a YAML / JSON config file. */
  readonly config?: ModelConfigInput | string;
  /** Overrides the config's method. */
  readonly method?: string;
  readonly backboneOptions?: { readonly output?: string; readonly imageSize?: number; readonly threads?: number; readonly heads?: number };
}

export interface UpdateOptions {
  /** Add rows of classes the model already has to those classes (otherwise such classes are refused). */
  readonly merge?: boolean;
}

export interface LoadOptions {
  /** The backbone file, when it is no longer where the model was fit (its hash must match). */
  readonly backbone?: string;
  readonly threads?: number;
}

export interface Ranked { readonly label: string; readonly score: number }
export interface PredictionRow { readonly file?: string; readonly top: readonly Ranked[] }

interface Labeled { readonly x: Float32Array; readonly n: number; readonly d: number; readonly names: readonly string[]; readonly order: readonly string[]; readonly source: string }

/** The backbone of a model, opened when images must be read. */
class OpenBackbone {
  constructor(readonly ref: BackboneRef, readonly fb: FeatureBackbone) {}

  static async open(file: string, ref: Omit<BackboneRef, 'file' | 'sha256' | 'featureDim' | 'input' | 'kind'>, threads?: number, heads?: number): Promise<OpenBackbone> {
    const fb = await loadFeatureBackbone(file, { output: ref.output ?? undefined, imageSize: ref.imageSize ?? undefined, threads, heads });
    const kind = file.toLowerCase().endsWith('.onnx') ? 'onnx' : 'safetensors';
    return new OpenBackbone({ ...ref, kind, file: resolve(file), sha256: fileHash(file), featureDim: fb.featureDim, input: fb.input }, fb);
  }

  /** Features of every listed image, in listing order (n x featureDim). */
  async features(list: ImageList, batchSize: number): Promise<Float32Array> {
    const d = this.fb.featureDim, n = list.items.length;
    assertAllocatable(n * d * 4, `features of ${n} images`);
    const out = new Float32Array(n * d);
    const bs = this.fb.fixedBatch ?? batchSize;
    const normalize = this.ref.normalize ?? defaultNormalize(this.fb.input.channels);
    for await (const b of imageBatches(list, this.fb.input, { batchSize: bs, normalize, resize: this.ref.resize ?? undefined })) {
      const f = await this.fb.run(b.x, b.n);
      if (f.length !== b.n * d) throw new InputError(`backbone returned ${f.length} values for ${b.n} images of ${d} features`);
      for (let i = 0; i < f.length; i++) if (!Number.isFinite(f[i])) throw new InputError(`backbone gave a non-finite feature for ${list.items[b.start + Math.floor(i / d)].path}`);
      out.set(f, b.start * d);
    }
    return out;
  }
}

/** Feature rows from an NPY file (float32 or float64 [n, d], finite). */
export function readFeatureRows(path: string): { x: Float32Array; n: number; d: number } {
  const a = readNpy(path);
  if (a.shape.length !== 2 || a.shape[0] === 0 || a.shape[1] === 0) throw new InputError(`${path}: expected a 2-D feature array [n, d] with n, d > 0, found shape (${a.shape.join(', ')})`);
  if (a.dtype !== 'float32' && a.dtype !== 'float64') throw new InputError(`${path}: expected float32 or float64 features, found ${a.dtype}`);
  const [n, d] = a.shape as [number, number];
  const x = a.data instanceof Float32Array ? Float32Array.from(a.data) : Float32Array.from(a.data as ArrayLike<number>);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new InputError(`${path}: non-finite feature ${x[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
  return { x, n, d };
}

function readLabels(path: string, n: number, featuresPath: string): string[] {
  const a = readNpy(path);
  if (a.shape.length !== 1) throw new InputError(`${path}: expected a 1-D label array [n], found shape (${a.shape.join(', ')})`);
  if (a.shape[0] !== n) throw new InputError(`${path} has ${a.shape[0]} labels, ${featuresPath} has ${n} rows`);
  if (!['int32', 'int64', 'uint8', 'int8', 'int16', 'uint16'].includes(a.dtype)) throw new InputError(`${path}: expected integer labels, found ${a.dtype}`);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = Number(a.data[i]);
    if (!Number.isInteger(v) || v < 0) throw new InputError(`${path}: label ${v} at row ${i} is not a non-negative integer`);
    out.push(String(v));
  }
  return out;
}

/** Class names in first-seen order of a sorted listing (numeric names sort as numbers). */
function classOrder(names: readonly string[]): string[] {
  const u = [...new Set(names)];
  return u.every((s) => /^\d+$/.test(s)) ? u.sort((a, b) => Number(a) - Number(b)) : u.sort();
}

/** Every image under `dir` (recursively, sorted), for prediction: class sub-folders are optional. */
export function listImagesForPrediction(path: string): ImageList {
  let st;
  try { st = statSync(path); } catch { throw new InputError(`--images ${path} does not exist`); }
  if (!st.isDirectory()) return listImages(path);
  const root = resolve(path);
  const items: { path: string; label: number }[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXTENSIONS.includes(e.name.slice(e.name.lastIndexOf('.')).toLowerCase())) items.push({ path: p, label: 0 });
    }
  };
  walk(root);
  if (items.length === 0) throw new InputError(`${path}: no images (${IMAGE_EXTENSIONS.join(' ')})`);
  return { root, items, classNames: ['?'], source: 'folder' };
}

function topK(z: Float32Array, n: number, C: number, k: number, classes: readonly string[]): Ranked[][] {
  const kk = Math.min(k, C);
  const rows: Ranked[][] = [];
  for (let i = 0; i < n; i++) {
    const idx = Array.from({ length: C }, (_, c) => c).sort((a, b) => z[i * C + b] - z[i * C + a] || a - b);
    rows.push(idx.slice(0, kk).map((c) => ({ label: classes[c], score: z[i * C + c] })));
  }
  return rows;
}

export class ContinualModel {
  private constructor(
    private manifest: Omit<Manifest, 'learner' | 'buffer' | 'created' | 'versions'> & { created: string },
    private readonly learner: ContinualLearner,
    private bufX: Float32Array,
    private bufY: Int32Array,
    private bb: OpenBackbone | null,
    /** Where it was loaded from (null: made in this process); used for messages and the backbone override. */
    private readonly loadedFrom: string | null,
    private readonly loadOptions: LoadOptions,
  ) {}

  get classes(): readonly string[] { return this.manifest.classes; }
  get method(): string { return this.manifest.method; }
  get sessions(): readonly SessionRecord[] { return this.manifest.sessions; }
  get featureDim(): number { return this.manifest.featureDim; }
  get backboneRef(): BackboneRef { return this.manifest.backbone; }
  get config(): ModelConfig { return this.manifest.config; }
  get warnings(): readonly string[] { return this.manifest.warnings; }

  /** A short description (also written as card.json). */
  card(): Record<string, unknown> {
    const m = this.manifest;
    const nPerClass: Record<string, number> = {};
    for (const s of m.sessions) for (const c of s.classes) nPerClass[c] = (nPerClass[c] ?? 0) + s.nTrain[c] + (s.nVal[c] ?? 0);
    return {
      format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, method: m.method, output: m.output, classes: m.classes, n_per_class: nPerClass,
      sessions: m.sessions.length, capacity: m.capacity,
      backbone: m.backbone.kind === 'features' ? { kind: 'features', featureDim: m.featureDim } : { kind: m.backbone.kind, file: basename(m.backbone.file ?? ''), sha256: m.backbone.sha256 },
      versions: versions(), created: m.created, warnings: m.warnings,
    };
  }

  static async fit(o: FitOptions): Promise<ContinualModel> {
    const base = typeof o.config === 'string' ? readModelConfig(o.config) : resolveModelConfig(o.config);
    const config: ModelConfig = o.method ? { ...base, method: o.method } : base;
    await initTf();
    const feat = 'images' in o.data ? null : o.data;
    if (feat && o.backbone) throw new InputError('give --backbone with --images; a model fit on feature rows has no image backbone');
    if (!feat && !o.backbone) throw new InputError('--images needs --backbone (the model that turns images into features)');
    const bb = o.backbone
      ? await OpenBackbone.open(o.backbone, { normalize: config.normalize, resize: config.resize, output: o.backboneOptions?.output ?? null, imageSize: o.backboneOptions?.imageSize ?? null }, o.backboneOptions?.threads, o.backboneOptions?.heads)
      : null;
    try {
      const data = await readSource(o.data, bb, config.batchSize);
      const ref: BackboneRef = bb ? bb.ref : { kind: 'features', file: null, sha256: null, featureDim: data.d, input: null, normalize: null, resize: null, output: null, imageSize: null };
      const C = data.order.length;
      const capacity = config.maxClasses ?? Math.min(Math.max(100, 2 * C), 100_000);
      if (C > capacity) throw new InputError(`${data.source} has ${C} classes; maxClasses is ${capacity}`);
      const learner = makeModelLearner(config, capacity, data.d);
      const model = new ContinualModel({
        format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, created: new Date().toISOString(), method: config.method, output: learner.outputs[0],
        capacity, featureDim: data.d, classes: [], sessions: [], backbone: ref, config, warnings: [],
      }, learner, new Float32Array(0), new Int32Array(0), bb, null, {});
      await model.session(data, false);
      return model;
    } catch (e) {
      if (bb) await bb.fb.dispose();
      throw e;
    }
  }

  /**
   * One more session on `data`: its classes the model does not know become new classes (ids after
   * the known ones); classes it knows are refused unless `merge`. Updates this model in place (a
   * loaded model's directory is never written: save to another one).
   */
  async update(data: DataSource, opts: UpdateOptions = {}): Promise<void> {
    const bb = 'images' in data ? await this.backbone() : null;
    if (!('images' in data) && this.manifest.backbone.kind !== 'features') warn('model-features-update', `${this.where()}: updating an image model with feature rows; they must come from the same backbone (sha256 ${this.manifest.backbone.sha256})`);
    const rows = await readSource(data, bb, this.manifest.config.batchSize);
    if (rows.d !== this.manifest.featureDim) throw new InputError(`${rows.source} has ${rows.d} features per row, the model ${this.manifest.featureDim}`);
    await this.session(rows, opts.merge ?? false);
  }

  private where(): string { return this.loadedFrom ?? 'model'; }

  private async session(data: Labeled, merge: boolean): Promise<void> {
    const m = this.manifest;
    const known = new Map(m.classes.map((c, i) => [c, i]));
    const present = data.order;
    const again = present.filter((c) => known.has(c));
    if (again.length && !merge) {
      throw new InputError(`${data.source}: the model already has class${again.length > 1 ? 'es' : ''} ${again.slice(0, 10).map((c) => JSON.stringify(c)).join(', ')}${again.length > 10 ? ', ...' : ''}; a session teaches new classes (merge them into the known ones with --merge)`);
    }
    const fresh = present.filter((c) => !known.has(c));
    const seen = m.classes.length + fresh.length;
    if (seen > m.capacity) throw new InputError(`${data.source}: ${fresh.length} new classes would make ${seen}; the model was fit with maxClasses ${m.capacity} (refit with a larger maxClasses)`);
    const classes = [...m.classes, ...fresh];
    const id = new Map(classes.map((c, i) => [c, i]));
    const t = m.sessions.length;
    const byClass = new Map<string, number[]>();
    data.names.forEach((c, i) => { const l = byClass.get(c); if (l) l.push(i); else byClass.set(c, [i]); });
    const reads = readsValidation(this.learner);
    const trainIdx: number[] = [], valIdx: number[] = [];
    const nTrain: Record<string, number> = {}, nVal: Record<string, number> = {};
    const rng = new Rng(m.config.seed, `cil-model-holdout-${t}`);
    for (const c of present) {
      const idx = byClass.get(c)!;
      if (!reads) { trainIdx.push(...idx); nTrain[c] = idx.length; nVal[c] = 0; continue; }
      if (idx.length < 2) throw new InputError(`${data.source}: class ${JSON.stringify(c)} has ${idx.length} row; ${m.method} holds out validation rows and needs at least 2 per class`);
      const perm = rng.split(`class-${c}`).permutation(idx.length);
      const k = Math.min(idx.length - 1, Math.max(1, Math.round(m.config.valFraction * idx.length)));
      for (let i = 0; i < idx.length; i++) (i < k ? valIdx : trainIdx).push(idx[perm[i]]);
      nTrain[c] = idx.length - k;
      nVal[c] = k;
    }
    const take = (rows: readonly number[], what: string): Dataset => {
      const x = new Float32Array(rows.length * data.d), y = new Int32Array(rows.length);
      rows.forEach((r, i) => { x.set(data.x.subarray(r * data.d, (r + 1) * data.d), i * data.d); y[i] = id.get(data.names[r])!; });
      return makeDataset({ x, y, d: data.d, classNames: classes, source: `${data.source}[${what}]` });
    };
    const train = take(trainIdx, 'train');
    const val = take(valIdx, 'validation');
    const warnings = [...m.warnings];
    let valSeen = val;
    if (reads) {
      const note = `${m.method} reads validation rows: ${Math.round(100 * m.config.valFraction)} % of each class of session ${t + 1} (${valIdx.length} rows) were held out of its training for them; up to ${m.config.bufferPerClass} per class are kept in the model directory for later sessions`;
      warn('model-validation-holdout', note);
      warnings.push(note);
      const x = new Float32Array(this.bufX.length + val.x.length);
      x.set(this.bufX); x.set(val.x, this.bufX.length);
      const y = new Int32Array(this.bufY.length + val.n);
      y.set(this.bufY); y.set(val.y, this.bufY.length);
      valSeen = makeDataset({ x, y, d: data.d, classNames: classes, source: `${data.source}[validation + model buffer]` });
    }
    if (again.length) {
      const note = `session ${t + 1} added rows to known classes ${again.join(', ')} (merge)`;
      warn('model-merge', note);
      warnings.push(note);
    }
    const newIds = fresh.map((c) => id.get(c)!);
    const sd: SessionData = { info: { index: t, newIds, originalClasses: newIds, seen }, train, val, valSeen };
    await this.learner.fitSession(sd);
    if (reads) this.keepBuffer(valSeen, m.config.bufferPerClass);
    this.manifest = {
      ...m, classes, warnings,
      sessions: [...m.sessions, { index: t, classes: present, newClasses: fresh, nTrain, nVal, source: data.source }],
    };
  }

  /** The first `perClass` rows of each class of `ds` (old buffer rows come first, so they stay). */
  private keepBuffer(ds: Dataset, perClass: number): void {
    const count = new Map<number, number>();
    const keep: number[] = [];
    for (let i = 0; i < ds.n; i++) {
      const k = count.get(ds.y[i]) ?? 0;
      if (k < perClass) { keep.push(i); count.set(ds.y[i], k + 1); }
    }
    this.bufX = new Float32Array(keep.length * ds.d);
    this.bufY = new Int32Array(keep.length);
    keep.forEach((r, i) => { this.bufX.set(ds.x.subarray(r * ds.d, (r + 1) * ds.d), i * ds.d); this.bufY[i] = ds.y[r]; });
  }

  /** Scores over the model's classes for feature rows (n x featureDim, row-major): n x classes. */
  scores(x: Float32Array): Float32Array {
    const d = this.manifest.featureDim;
    if (x.length % d !== 0 || x.length === 0) throw new InputError(`features: ${x.length} values is not a whole number of ${d}-D rows`);
    const n = x.length / d;
    const ds = makeDataset({ x, y: new Int32Array(n), d, source: 'features to predict' });
    const z = this.learner.predict(ds, this.manifest.classes.length).get(this.manifest.output);
    if (!z) throw new InputError(`${this.manifest.method} gave no output ${this.manifest.output}`);
    return z;
  }

  /** Top-k classes and scores per feature row (higher score = more likely; the learner's own scale). */
  predict(x: Float32Array, k = 1): PredictionRow[] {
    if (!Number.isInteger(k) || k < 1) throw new InputError(`top-k must be a positive integer, got ${k}`);
    const C = this.manifest.classes.length;
    const z = this.scores(x);
    return topK(z, z.length / C, C, k, this.manifest.classes).map((top) => ({ top }));
  }

  /** Predictions for every image under `path` (a folder, with or without class sub-folders, or a split file). */
  async predictImages(path: string, k = 1): Promise<PredictionRow[]> {
    const bb = await this.backbone();
    const list = listImagesForPrediction(path);
    const f = await bb.features(list, this.manifest.config.batchSize);
    return this.predict(f, k).map((r, i) => ({ file: relative(list.root, list.items[i].path).split('\\').join('/'), top: r.top }));
  }

  /** The image backbone, opened and checked against the hash recorded when the model was fit. */
  private async backbone(): Promise<OpenBackbone> {
    if (this.bb) return this.bb;
    const ref = this.manifest.backbone;
    if (ref.kind === 'features' || !ref.file) throw new InputError(`${this.where()}: the model was fit on feature rows (no image backbone); give features, not images`);
    const file = this.loadOptions.backbone ?? ref.file;
    if (!existsSync(file)) {
      throw new InputError(`${this.where()}: backbone ${file}${this.loadOptions.backbone ? '' : ' (named in model.json)'} does not exist; pass the backbone file with --backbone (sha256 ${ref.sha256})`);
    }
    const sha = fileHash(file);
    if (sha !== ref.sha256) throw new InputError(`${this.where()}: backbone ${file} has sha256 ${sha}, the model was fit with ${ref.sha256}: it is another model`);
    const bb = await OpenBackbone.open(file, ref, this.loadOptions.threads);
    if (bb.ref.featureDim !== this.manifest.featureDim) { await bb.fb.dispose(); throw new InputError(`backbone ${file} gives ${bb.ref.featureDim} features, the model ${this.manifest.featureDim}`); }
    this.bb = bb;
    return bb;
  }

  /**
   * Write the model directory. `dir` must not exist or be an empty folder; it is written under a
   * temporary sibling name and renamed into place.
   */
  async save(dir: string): Promise<string> {
    const target = resolve(dir);
    let exists = false;
    try {
      const st = statSync(target);
      if (!st.isDirectory()) throw new InputError(`model directory ${dir} is a file`);
      if (readdirSync(target).length) throw new InputError(`model directory ${dir} exists and is not empty; choose another`);
      exists = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (this.loadedFrom && resolve(this.loadedFrom) === target) throw new InputError(`model directory ${dir} is the one this model was loaded from`);
    const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
    mkdirSync(tmp, { recursive: true });
    try {
      const c = this.learner.checkpoint();
      mkdirSync(join(tmp, 'learner'));
      const arrays: Record<string, string> = {};
      let i = 0;
      for (const [name, v] of c.arrays) {
        const file = `learner/a${i++}.npy`;
        arrays[name] = file;
        writeNpy(join(tmp, file), v.data, v.shape);
      }
      let buffer: Manifest['buffer'] = null;
      if (this.bufY.length) {
        mkdirSync(join(tmp, 'buffer'));
        writeNpy(join(tmp, 'buffer/x.npy'), this.bufX, [this.bufY.length, this.manifest.featureDim]);
        writeNpy(join(tmp, 'buffer/y.npy'), this.bufY, [this.bufY.length]);
        buffer = { x: 'buffer/x.npy', y: 'buffer/y.npy', rows: this.bufY.length };
      }
      const full: Manifest = { ...this.manifest, learner: { meta: c.meta, arrays }, buffer, versions: versions() };
      writeJsonAtomic(join(tmp, 'model.json'), full);
      writeJsonAtomic(join(tmp, 'card.json'), this.card());
      if (exists) rmdirSync(target);
      renameSync(tmp, target);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return target;
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<ContinualModel> {
    const root = resolve(dir);
    const mPath = join(root, 'model.json');
    if (!existsSync(mPath)) throw new InputError(`${dir} is not a model directory (no model.json)`);
    const m = readJsonFile(mPath, 'a perennial model manifest') as Partial<Manifest>;
    if (m.format !== MODEL_FORMAT) throw new InputError(`${mPath}: not a perennial continual model (format ${JSON.stringify(m.format)})`);
    if (m.version !== MODEL_FORMAT_VERSION) throw new InputError(`${mPath}: model format version ${JSON.stringify(m.version)} (written by perennial ${m.versions?.perennial ?? '?'}); this perennial reads version ${MODEL_FORMAT_VERSION}`);
    for (const k of ['method', 'output', 'capacity', 'featureDim', 'classes', 'sessions', 'backbone', 'config', 'learner'] as const) {
      if (m[k] === undefined || m[k] === null) throw new InputError(`${mPath}: missing field ${k}`);
    }
    const config = resolveModelConfig(m.config as ModelConfigInput, `${mPath} config`);
    await initTf();
    const learner = makeModelLearner(config, m.capacity!, m.featureDim!);
    const arrays: LearnerCheckpoint['arrays'] = new Map();
    const npy = (rel: string): ReturnType<typeof readNpy> => {
      const p = join(root, rel);
      if (relative(root, p).startsWith('..')) throw new InputError(`${mPath}: array file ${rel} is outside the model directory`);
      if (!existsSync(p)) throw new InputError(`${dir}: ${rel} (named in model.json) is missing`);
      return readNpy(p);
    };
    for (const [name, rel] of Object.entries(m.learner!.arrays)) {
      const a = npy(rel);
      if (!(a.data instanceof Float32Array || a.data instanceof Float64Array)) throw new InputError(`${join(dir, rel)}: expected float32 or float64, found ${a.dtype}`);
      arrays.set(name, { shape: [...a.shape], data: a.data });
    }
    learner.restore({ meta: m.learner!.meta, arrays });
    let bufX = new Float32Array(0), bufY = new Int32Array(0);
    if (m.buffer) {
      const x = npy(m.buffer.x), y = npy(m.buffer.y);
      if (!(x.data instanceof Float32Array) || !(y.data instanceof Int32Array) || x.shape[1] !== m.featureDim || x.shape[0] !== y.shape[0]) throw new InputError(`${dir}: buffer arrays do not match (${x.shape.join('x')} ${x.dtype}, ${y.shape.join('x')} ${y.dtype})`);
      bufX = Float32Array.from(x.data); bufY = Int32Array.from(y.data);
    }
    const { learner: _l, buffer: _b, versions: _v, ...rest } = m as Manifest;
    return new ContinualModel({ ...rest, config }, learner, bufX, bufY, null, root, opts);
  }

  async dispose(): Promise<void> {
    this.learner.dispose();
    if (this.bb) await this.bb.fb.dispose();
    this.bb = null;
  }
}

function readsValidation(l: ContinualLearner): boolean {
  const own = (l as { readsValidation?: unknown }).readsValidation;
  return typeof own === 'boolean' ? own : READS_VALIDATION.has(l.name);
}

function makeModelLearner(config: ModelConfig, capacity: number, d: number): ContinualLearner {
  const backbone = new CachedFeatureBackbone(d, 'continual model features');
  return makeLearner(config.method, { backbone, numClasses: capacity, seed: config.seed, rng: new Rng(config.seed, 'cil-model').split(config.method) }, config.options);
}

async function readSource(src: DataSource, bb: OpenBackbone | null, batchSize: number): Promise<Labeled> {
  if ('images' in src) {
    if (!bb) throw new InputError('images need a backbone');
    const list = listImages(src.images, src.root);
    const x = await bb.features(list, batchSize);
    const names = list.items.map((it) => list.classNames[it.label]);
    return { x, n: names.length, d: bb.ref.featureDim, names, order: classOrder(names), source: src.images };
  }
  if ('features' in src) {
    const f = readFeatureRows(src.features);
    const names = readLabels(src.labels, f.n, src.features);
    return { ...f, names, order: classOrder(names), source: src.features };
  }
  const d = src.d;
  if (!Number.isInteger(d) || d < 1 || src.rows.length !== src.labels.length * d || src.labels.length === 0) throw new InputError(`rows: ${src.rows.length} values for ${src.labels.length} labels of ${d} features`);
  return { x: src.rows, n: src.labels.length, d, names: src.labels.map(String), order: classOrder(src.labels.map(String)), source: 'rows' };
}

/** Fit a new model (see the file comment). */
export function fit(o: FitOptions): Promise<ContinualModel> { return ContinualModel.fit(o); }
/** Load a model directory written by `save`. */
export function load(dir: string, opts: LoadOptions = {}): Promise<ContinualModel> { return ContinualModel.load(dir, opts); }
