// Image data for real backbones: an ImageFolder (one sub-folder per class) or a split file
// (`path label` lines, as the peer toolboxes ship for ImageNet-R and CUB), decoded with sharp to
// the backbone's channels and size (resize the shorter side, then center crop), scaled by
// `unit | half | imagenet`, and streamed in batches: only the listing is held, never the pixels.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import sharp, { type OutputInfo } from 'sharp';
import { InputError, ParseError } from '../core/errors.js';
import { MAX_CLASSES } from '../core/limits.js';
import type { BackboneInput } from './onnx.js';

export type Normalize = 'unit' | 'half' | 'imagenet';
export const NORMALIZE_NAMES: readonly Normalize[] = ['unit', 'half', 'imagenet'];

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
/** Gray images under `imagenet`: the mean of the three channel statistics. */
const IMAGENET_GRAY = { mean: 0.449, std: 0.226 };

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface ImageItem {
  /** The image file, or for in-memory pixels a name for messages (`data_batch_1.bin#17`). */
  readonly path: string;
  readonly label: number;
  /** Pixels already in memory (binary dataset formats: CIFAR, IDX); `path` is then not read. */
  readonly pixels?: RawPixels;
}

/** 8-bit pixels of one image: `hwc` interleaved (sharp's raw layout) or `chw` planes (CIFAR's records). */
export interface RawPixels {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly layout: 'hwc' | 'chw';
}

export interface ImageList {
  readonly root: string;
  readonly items: readonly ImageItem[];
  readonly classNames: readonly string[];
  /** Where the listing came from: 'imagefolder' or the split file's path. */
  readonly source: string;
}

/** imagenet for 3-channel inputs, unit for 1-channel ones. */
export function defaultNormalize(channels: number): Normalize {
  return channels === 3 ? 'imagenet' : 'unit';
}

export function parseNormalize(v: string): Normalize {
  if (!(NORMALIZE_NAMES as readonly string[]).includes(v)) throw new InputError(`--normalize ${JSON.stringify(v)} (known: ${NORMALIZE_NAMES.join(', ')})`);
  return v as Normalize;
}

/** Class per sub-folder (sorted names -> labels 0..C-1), image files sorted inside each. */
export function listImageFolder(root: string): ImageList {
  const r = resolve(root);
  let st;
  try { st = statSync(r); } catch { throw new InputError(`image folder ${root} does not exist`); }
  if (!st.isDirectory()) throw new InputError(`${root} is not a folder (give a class-per-sub-folder image folder or a split file)`);
  const classes = readdirSync(r, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
  if (classes.length === 0) throw new InputError(`${root}: no class sub-folders (expected ${root}/<class>/<image>)`);
  const items: ImageItem[] = [];
  classes.forEach((c, label) => {
    const files = walkImages(join(r, c));
    if (files.length === 0) throw new InputError(`${join(root, c)}: class folder holds no images (${IMAGE_EXTENSIONS.join(' ')})`);
    for (const f of files) items.push({ path: f, label });
  });
  return { root: r, items, classNames: classes, source: 'imagefolder' };
}

function walkImages(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (d.name.startsWith('.')) continue;
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...walkImages(p));
    else if (IMAGE_EXTENSIONS.includes(extname(d.name).toLowerCase())) out.push(p);
  }
  return out;
}

/**
 * `path label` per line (label a non-negative integer; the path may hold spaces: the label is the
 * last field). Paths are relative to `root` (default: the split file's folder) and may not leave
 * it. Blank lines and `#` comments are skipped.
 */
export function readSplitFile(file: string, root?: string): ImageList {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new InputError(`cannot read split file ${file}: ${(e as Error).message}`); }
  const base = resolve(root ?? dirname(file));
  const items: ImageItem[] = [];
  let maxLabel = -1;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(.*\S)\s+(\S+)$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, '"path label"', line);
    const label = m[2];
    if (!/^\d+$/.test(label)) throw new ParseError(file, i + 1, 'a non-negative integer label', label, -1, 'label');
    const p = resolve(base, m[1]);
    const rel = relative(base, p);
    if (rel.startsWith('..')) throw new ParseError(file, i + 1, `a path inside ${base}`, m[1], -1, 'path');
    const l = Number(label);
    if (l >= MAX_CLASSES) throw new ParseError(file, i + 1, `a class index below ${MAX_CLASSES} (labels are 0..C-1; remap sparse labels)`, label, -1, 'label');
    if (l > maxLabel) maxLabel = l;
    items.push({ path: p, label: l });
  });
  if (items.length === 0) throw new ParseError(file, 1, 'at least one "path label" line', '');
  return { root: base, items, classNames: Array.from({ length: maxLabel + 1 }, (_, i) => String(i)), source: resolve(file) };
}

/** A folder is an ImageFolder; a file is a split file. */
export function listImages(pathOrFolder: string, root?: string): ImageList {
  let st;
  try { st = statSync(pathOrFolder); } catch { throw new InputError(`--images ${pathOrFolder} does not exist`); }
  return st.isDirectory() ? listImageFolder(pathOrFolder) : readSplitFile(pathOrFolder, root);
}

/** A hash of the listing (paths relative to the root, labels, order), to tie a cache to it. */
export function listingHash(list: ImageList): string {
  const h = createHash('sha256');
  for (const it of list.items) h.update(`${relative(list.root, it.path)}\t${it.label}\n`);
  return h.digest('hex').slice(0, 16);
}

export interface DecodeOptions {
  readonly normalize?: Normalize;
  /** Shorter side before the center crop (default: the crop size, i.e. resize to cover). */
  readonly resize?: number;
}

/**
 * Decode one image into `out` at `offset` (in floats), in the backbone's channels, size and
 * layout. Gray images are expanded for RGB models, colour images converted for gray ones; alpha
 * is dropped. An item with in-memory pixels is resized the same way, and copied exactly (no
 * resampling) when it already has the backbone's size.
 */
export async function decodeInto(file: string | ImageItem, input: BackboneInput, out: Float32Array, offset: number, opts: DecodeOptions = {}): Promise<void> {
  const { channels: C, height: H, width: W } = input;
  const name = typeof file === 'string' ? file : file.path;
  const pixels = typeof file === 'string' ? undefined : file.pixels;
  const norm = opts.normalize ?? defaultNormalize(C);
  const short = opts.resize ?? Math.max(H, W);
  if (short < Math.max(H, W)) throw new InputError(`resize ${short} is smaller than the crop ${H}x${W}`);
  let data: Buffer, info: Pick<OutputInfo, 'width' | 'height' | 'channels'>;
  const hwc = pixels ? hwcPixels(pixels) : undefined;
  if (pixels && hwc && pixels.width === W && pixels.height === H && (pixels.channels === C || pixels.channels === 1) && short === Math.max(H, W)) {
    data = hwc;
    info = { width: W, height: H, channels: pixels.channels };
  } else {
    try {
      let img = pixels && hwc ? sharp(hwc, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } }) : sharp(name, { failOn: 'error' }).rotate();
      if (short === Math.max(H, W) && H === W) img = img.resize(W, H, { fit: 'cover', position: 'centre', kernel: 'lanczos3' });
      else {
        const meta = pixels ? { width: pixels.width, height: pixels.height, autoOrient: undefined } : await sharp(name).metadata();
        const w0 = meta.autoOrient?.width ?? meta.width ?? 0, h0 = meta.autoOrient?.height ?? meta.height ?? 0;
        if (!w0 || !h0) throw new Error('no image size');
        const s = short / Math.min(w0, h0);
        const rw = Math.max(W, Math.round(w0 * s)), rh = Math.max(H, Math.round(h0 * s));
        img = img.resize(rw, rh, { fit: 'fill', kernel: 'lanczos3' }).extract({ left: Math.floor((rw - W) / 2), top: Math.floor((rh - H) / 2), width: W, height: H });
      }
      img = C === 1 ? img.grayscale() : img.toColourspace('srgb');
      ({ data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true }));
    } catch (e) {
      throw new InputError(`cannot decode image ${name}: ${(e as Error).message}`);
    }
  }
  let src = data, sc = info.channels;
  if (sc !== C) {
    // sharp keeps a single band for gray PNGs even after toColourspace on some inputs: expand.
    if (C === 3 && sc === 1) { src = Buffer.alloc(H * W * 3); for (let i = 0; i < H * W; i++) src[3 * i] = src[3 * i + 1] = src[3 * i + 2] = data[i]; sc = 3; }
    else throw new InputError(`image ${name} decoded to ${info.channels} channels, the backbone takes ${C}`);
  }
  if (info.width !== W || info.height !== H) throw new InputError(`image ${name} decoded to ${info.width}x${info.height}, expected ${W}x${H}`);
  const mean = new Float32Array(C), inv = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    if (norm === 'unit') { mean[c] = 0; inv[c] = 1 / 255; }
    else if (norm === 'half') { mean[c] = 0.5; inv[c] = 2 / 255; }
    else { const m = C === 3 ? IMAGENET_MEAN[c] : IMAGENET_GRAY.mean, s = C === 3 ? IMAGENET_STD[c] : IMAGENET_GRAY.std; mean[c] = m; inv[c] = 1 / (255 * s); }
  }
  // (x/255 - m)/s = x * inv - m/s, with inv = 1/(255 s): one multiply-add per value.
  const shift = new Float32Array(C);
  for (let c = 0; c < C; c++) shift[c] = norm === 'unit' ? 0 : norm === 'half' ? 1 : mean[c] / (C === 3 ? IMAGENET_STD[c] : IMAGENET_GRAY.std);
  const HW = H * W;
  if (input.layout === 'nhwc') {
    for (let i = 0; i < HW; i++) for (let c = 0; c < C; c++) out[offset + i * C + c] = src[i * C + c] * inv[c] - shift[c];
  } else {
    for (let c = 0; c < C; c++) {
      const o = offset + c * HW, sh = shift[c], k = inv[c];
      for (let i = 0; i < HW; i++) out[o + i] = src[i * C + c] * k - sh;
    }
  }
}

/** Pixels in sharp's interleaved layout (a view when they are already interleaved). */
function hwcPixels(p: RawPixels): Buffer {
  const HW = p.width * p.height, C = p.channels;
  if (p.data.length !== HW * C) throw new InputError(`in-memory image of ${p.width}x${p.height}x${C} holds ${p.data.length} bytes`);
  if (p.layout === 'hwc' || C === 1) return Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  const out = Buffer.allocUnsafe(HW * C);
  for (let c = 0; c < C; c++) for (let i = 0; i < HW; i++) out[i * C + c] = p.data[c * HW + i];
  return out;
}

export interface BatchOptions extends DecodeOptions {
  readonly batchSize?: number;
  /** First item (for resuming). */
  readonly start?: number;
}

export interface ImageBatch {
  /** Index of the first item in the listing. */
  readonly start: number;
  readonly n: number;
  /** n images in the backbone's layout (a reused buffer: copy what you keep before the next batch). */
  readonly x: Float32Array;
  readonly labels: Int32Array;
}

/**
 * Streams the listing in batches. Decoding of batch k+1 overlaps the consumer's work on batch k;
 * two buffers alternate, so memory stays at two batches whatever the number of images.
 */
export async function* imageBatches(list: ImageList, input: BackboneInput, opts: BatchOptions = {}): AsyncGenerator<ImageBatch> {
  const bs = opts.batchSize ?? 64;
  if (!Number.isInteger(bs) || bs < 1) throw new InputError(`batch size must be a positive integer, got ${bs}`);
  const per = input.channels * input.height * input.width;
  const bufs = [new Float32Array(bs * per), new Float32Array(bs * per)];
  const labs = [new Int32Array(bs), new Int32Array(bs)];
  const total = list.items.length;
  const load = async (start: number, k: number): Promise<ImageBatch> => {
    const n = Math.min(bs, total - start);
    const x = bufs[k], labels = labs[k];
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const it = list.items[start + i];
      labels[i] = it.label;
      jobs.push(decodeInto(it, input, x, i * per, opts));
    }
    await Promise.all(jobs);
    return { start, n, x, labels: labels.subarray(0, n) };
  };
  let start = opts.start ?? 0, k = 0;
  if (start >= total) return;
  let pending = load(start, k);
  // Avoid an unhandled rejection while the consumer works on the previous batch.
  pending.catch(() => undefined);
  for (;;) {
    const batch = await pending;
    const next = start + batch.n;
    if (next < total) { k ^= 1; pending = load(next, k); pending.catch(() => undefined); }
    yield batch;
    if (next >= total) return;
    start = next;
  }
}
