// Backbone pretraining on data disjoint from the incremental sessions, and checkpoints named by
// content hash: weights.bin (float32, concatenated) plus manifest.json (architecture, data, seed,
// training settings, per-tensor table, sha256 of the weights).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, ParseError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { writeFileAtomic, writeJsonAtomic } from '../core/fsx.js';
import { filterClasses } from '../core/data/dataset.js';
import { makeBackbone, type Backbone, type BackboneSpec } from './backbones/index.js';
import type { Miniature } from './data.js';
import { checkTrainOptions, createCosineHead, disposeCosineHead, trainPet, type TrainOptions } from './pet-train.js';
import { assignValues } from '../core/nn.js';
import { readJsonFile } from '../core/json.js';

export interface PretrainOptions {
  readonly seed: number;
  readonly train: Partial<TrainOptions>;
}

export const PRETRAIN_DEFAULTS: TrainOptions = { epochs: 10, batchSize: 128, lr: 0.05, momentum: 0.9, weightDecay: 5e-4 };

export interface BackboneManifest {
  readonly format: 'perennial-backbone/1';
  readonly spec: BackboneSpec;
  readonly architecture: Record<string, unknown>;
  readonly data: { readonly source: string; readonly classes: readonly number[]; readonly rows: number; readonly supervision: string };
  readonly seed: number;
  readonly train: TrainOptions;
  readonly finalLoss: number | null;
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[]; readonly offset: number }[];
  readonly sha256: string;
  readonly created: string;
}

/** Supervised pretraining on the miniature's pretraining classes (a cosine head is trained alongside and discarded). */
export function pretrainBackbone(mini: Miniature, opts: PretrainOptions): { backbone: Backbone; manifest: Omit<BackboneManifest, 'tensors' | 'sha256' | 'created'> } {
  const train = checkTrainOptions({ ...PRETRAIN_DEFAULTS, ...opts.train }, 'pretrain');
  const data = filterClasses(mini.pretrainPool, mini.pretrainClasses);
  const backbone = makeBackbone(mini.backbone, opts.seed);
  const numClasses = Math.max(...mini.pretrainClasses) + 1;
  const head = createCosineHead(numClasses, backbone.featureDim);
  // Random unit rows for the head (a zero row has no cosine direction).
  const rng = new Rng(opts.seed, 'pretrain');
  const w = new Float32Array(numClasses * backbone.featureDim);
  const headRng = rng.split('head');
  for (let i = 0; i < w.length; i++) w[i] = headRng.normal();
  assignValues(head.weight, w);
  const losses = trainPet({ backbone, pet: new Map(), head, trainBackbone: true, data, seen: numClasses, options: train, rng: rng.split('batches'), label: 'pretrain backbone' });
  disposeCosineHead(head);
  return {
    backbone,
    manifest: {
      format: 'perennial-backbone/1', spec: mini.backbone, architecture: backbone.describe(),
      data: { source: data.source, classes: mini.pretrainClasses, rows: data.n, supervision: `supervised on classes ${mini.pretrainClasses.join(',')} of the pretraining pool` },
      seed: opts.seed, train, finalLoss: losses.length ? losses[losses.length - 1] : null,
    },
  };
}

export function saveBackbone(dir: string, backbone: Backbone, manifest: Omit<BackboneManifest, 'tensors' | 'sha256' | 'created'>): BackboneManifest {
  mkdirSync(dir, { recursive: true });
  const tensors: { name: string; shape: number[]; offset: number }[] = [];
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const [name, v] of [...backbone.params].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const d = v.dataSync() as Float32Array;
    tensors.push({ name, shape: v.shape.slice(), offset });
    parts.push(d.slice());
    offset += d.length;
  }
  const all = new Float32Array(offset);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  const bytes = new Uint8Array(all.buffer);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileAtomic(join(dir, 'weights.bin'), bytes);
  const full: BackboneManifest = { ...manifest, tensors, sha256, created: new Date().toISOString() };
  writeJsonAtomic(join(dir, 'manifest.json'), full);
  return full;
}

export function loadBackbone(dir: string): { backbone: Backbone; manifest: BackboneManifest } {
  const mPath = join(dir, 'manifest.json'), wPath = join(dir, 'weights.bin');
  if (!existsSync(mPath) || !existsSync(wPath)) throw new InputError(`${dir}: not a backbone checkpoint (needs manifest.json and weights.bin; make one with \`perennial cil pretrain\`)`);
  let manifest: BackboneManifest;
  manifest = readJsonFile(mPath, 'a backbone manifest (JSON)') as BackboneManifest;
  if (manifest.format !== 'perennial-backbone/1') throw new ParseError(mPath, 1, 'format "perennial-backbone/1"', String(manifest.format), -1, 'format');
  const buf = readFileSync(wPath);
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== manifest.sha256) throw new ParseError(wPath, 0, `sha256 ${manifest.sha256}`, sha, 0, 'sha256');
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const backbone = makeBackbone(manifest.spec, manifest.seed);
  for (const t of manifest.tensors) {
    const v = backbone.params.get(t.name);
    if (!v) throw new ParseError(mPath, 1, `a tensor of the ${manifest.spec.kind} backbone`, t.name, -1, 'tensors');
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== v.size) throw new ParseError(mPath, 1, `${v.size} values for ${t.name}`, String(n), -1, 'tensors');
    assignValues(v, all.slice(t.offset, t.offset + n));
  }
  return { backbone, manifest };
}
