// timm ViT state dicts (safetensors) -> perennial's tfjs VisionTransformer. The architecture is
// read from the tensors' shapes (dim, patch size, channels, image size, depth, MLP ratio, head);
// the head count, which shapes cannot tell, comes from the file's metadata, the caller, or timm's
// convention of 64-wide heads. Every key is checked by name and shape before anything is loaded,
// and the error names the missing, mis-shaped or unexpected keys exactly.
import { checkOptionKeys } from '../core/options.js';
import { InputError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { tf, initTf } from '../core/tensor.js';
import { VisionTransformer, checkVitConfig, type VitConfig } from './backbones/vit.js';
import type { BackboneInput, FeatureBackbone } from './onnx.js';
import { SafeTensors, writeSafetensors, type SafeDtype } from './safetensors.js';

export interface Weight { readonly shape: readonly number[]; readonly data: Float32Array }
export type StateDict = ReadonlyMap<string, Weight>;

/** The key -> shape map a timm VisionTransformer (class-token pooling, no fc_norm) holds. */
export function expectedTimmVitShapes(c: VitConfig): Map<string, number[]> {
  const { dim, depth, channels: C, patchSize: p, imageSize: S } = c;
  const hidden = dim * c.mlpRatio;
  const L = (S / p) ** 2;
  const m = new Map<string, number[]>();
  m.set('cls_token', [1, 1, dim]);
  m.set('pos_embed', [1, L + 1, dim]);
  m.set('patch_embed.proj.weight', [dim, C, p, p]);
  m.set('patch_embed.proj.bias', [dim]);
  for (let i = 0; i < depth; i++) {
    const b = `blocks.${i}`;
    m.set(`${b}.norm1.weight`, [dim]); m.set(`${b}.norm1.bias`, [dim]);
    m.set(`${b}.attn.qkv.weight`, [3 * dim, dim]); m.set(`${b}.attn.qkv.bias`, [3 * dim]);
    m.set(`${b}.attn.proj.weight`, [dim, dim]); m.set(`${b}.attn.proj.bias`, [dim]);
    m.set(`${b}.norm2.weight`, [dim]); m.set(`${b}.norm2.bias`, [dim]);
    m.set(`${b}.mlp.fc1.weight`, [hidden, dim]); m.set(`${b}.mlp.fc1.bias`, [hidden]);
    m.set(`${b}.mlp.fc2.weight`, [dim, hidden]); m.set(`${b}.mlp.fc2.bias`, [dim]);
  }
  m.set('norm.weight', [dim]); m.set('norm.bias', [dim]);
  if (c.numClasses) { m.set('head.weight', [c.numClasses, dim]); m.set('head.bias', [c.numClasses]); }
  return m;
}

export interface InferOptions {
  /** Attention heads (default: metadata "heads", else dim / 64 as in every timm ViT size). */
  readonly heads?: number;
  readonly metadata?: Readonly<Record<string, string>>;
}

function need(sd: StateDict, file: string, key: string, rank: number): readonly number[] {
  const w = sd.get(key);
  if (!w) throw new InputError(`${file}: missing key ${key} (a timm ViT state dict has ${key})`);
  if (w.shape.length !== rank) throw new InputError(`${file}: mis-shaped key ${key}: expected rank ${rank}, found [${w.shape.join(', ')}]`);
  return w.shape;
}

/** Read the ViT's architecture off the state dict's shapes. */
export function inferTimmVitConfig(sd: StateDict, file: string, opts: InferOptions = {}): VitConfig {
  const [dim, C, p, p2] = need(sd, file, 'patch_embed.proj.weight', 4) as [number, number, number, number];
  if (p !== p2) throw new InputError(`${file}: mis-shaped key patch_embed.proj.weight: expected square patches, found [${dim}, ${C}, ${p}, ${p2}]`);
  const pos = need(sd, file, 'pos_embed', 3);
  const L = pos[1] - 1;
  const g = Math.round(Math.sqrt(L));
  if (g * g !== L) throw new InputError(`${file}: mis-shaped key pos_embed: [${pos.join(', ')}] is not 1 class token + a square grid of patches`);
  let depth = 0;
  while (sd.has(`blocks.${depth}.norm1.weight`) || sd.has(`blocks.${depth}.attn.qkv.weight`)) depth++;
  if (depth === 0) throw new InputError(`${file}: missing key blocks.0.attn.qkv.weight (no transformer blocks found)`);
  const fc1 = need(sd, file, 'blocks.0.mlp.fc1.weight', 2);
  const mlpRatio = fc1[0] / dim;
  const head = sd.get('head.weight');
  const metaHeads = opts.metadata?.heads !== undefined ? Number(opts.metadata.heads) : undefined;
  const heads = opts.heads ?? metaHeads ?? (dim % 64 === 0 ? dim / 64 : NaN);
  if (!Number.isInteger(heads) || heads < 1) throw new InputError(`${file}: cannot tell the number of attention heads for dim ${dim}; pass --heads`);
  const config: VitConfig = { imageSize: g * p, patchSize: p, channels: C, dim, depth, heads, mlpRatio, ...(head ? { numClasses: head.shape[0]! } : {}) };
  checkVitConfig(config);
  return config;
}

/** Every problem with a state dict against a config, as exact one-line messages (empty = fine). */
export function timmVitProblems(sd: StateDict, c: VitConfig): string[] {
  const want = expectedTimmVitShapes(c);
  const out: string[] = [];
  for (const [k, shape] of want) {
    const w = sd.get(k);
    if (!w) out.push(`missing key ${k} (expected shape [${shape.join(', ')}])`);
    else if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) out.push(`mis-shaped key ${k}: expected [${shape.join(', ')}], found [${w.shape.join(', ')}]`);
    else if (w.data.length !== shape.reduce((a, b) => a * b, 1)) out.push(`key ${k}: ${w.data.length} values for shape [${shape.join(', ')}]`);
  }
  for (const k of sd.keys()) if (!want.has(k)) out.push(`unexpected key ${k} [${sd.get(k)!.shape.join(', ')}]`);
  return out;
}

export function checkTimmVitStateDict(sd: StateDict, c: VitConfig, file: string): void {
  const problems = timmVitProblems(sd, c);
  if (problems.length) {
    const shown = problems.slice(0, 12).join('; ');
    throw new InputError(`${file}: not a timm ViT state dict for ${JSON.stringify(c)}: ${shown}${problems.length > 12 ? `; and ${problems.length - 12} more` : ''}`);
  }
}

export interface LoadVitOptions extends InferOptions {
  /** Expected architecture; when given, the file is checked against it instead of inferring one. */
  readonly config?: VitConfig;
}

/** Build a VisionTransformer from a timm state dict held in a safetensors file (F32/F16/BF16). */
export async function loadTimmVit(path: string, opts: LoadVitOptions = {}): Promise<{ vit: VisionTransformer; config: VitConfig; metadata: Readonly<Record<string, string>> }> {
  checkOptionKeys(opts, ['heads', 'metadata', 'config'], 'loadTimmVit');
  const st = SafeTensors.read(path);
  const sd = st.toFloat32Map();
  const config = opts.config ?? inferTimmVitConfig(sd, path, { heads: opts.heads, metadata: st.metadata });
  checkTimmVitStateDict(sd, config, path);
  await initTf();
  const vit = new VisionTransformer(config);
  try { vit.setWeights(sd); } catch (e) { vit.dispose(); throw e; }
  return { vit, config, metadata: st.metadata };
}

/** A seeded random-weight timm-layout state dict (for tests and examples; LayerNorms perturbed from 1/0). */
export function randomTimmVitWeights(c: VitConfig, rng: Rng, std = 0.05): Map<string, Weight> {
  checkVitConfig(c);
  const out = new Map<string, Weight>();
  for (const [k, shape] of expectedTimmVitShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = rng.split(k).fillNormal(new Float32Array(n), k.endsWith('norm1.weight') || k.endsWith('norm2.weight') || k === 'norm.weight' ? 0.1 : k === 'pos_embed' || k === 'cls_token' ? 0.5 : std, k.includes('norm') && k.endsWith('.weight') ? 1 : 0);
    out.set(k, { shape, data });
  }
  return out;
}

export function writeTimmVit(path: string, sd: StateDict, c: VitConfig, dtype: SafeDtype = 'F32'): void {
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array; dtype: SafeDtype }>();
  for (const [k, w] of sd) tensors.set(k, { shape: w.shape, data: w.data, dtype });
  writeSafetensors(path, tensors, { format: 'pt', heads: String(c.heads), source: 'perennial' });
}

/** The ViT as a feature backbone: NHWC images in, CLS features (after the final norm) out. */
export class VitFeatureBackbone implements FeatureBackbone {
  readonly kind = 'vit-safetensors';
  readonly input: BackboneInput;
  readonly featureDim: number;
  constructor(readonly vit: VisionTransformer, readonly file: string) {
    const c = vit.config;
    if (c.channels !== 1 && c.channels !== 3) throw new InputError(`${file}: the ViT takes ${c.channels} channels; images decode to 1 (gray) or 3 (RGB)`);
    this.input = { channels: c.channels, height: c.imageSize, width: c.imageSize, layout: 'nhwc' };
    this.featureDim = c.dim;
  }

  static async load(path: string, opts: LoadVitOptions = {}): Promise<VitFeatureBackbone> {
    const { vit } = await loadTimmVit(path, opts);
    return new VitFeatureBackbone(vit, path);
  }

  async run(x: Float32Array, n: number): Promise<Float32Array> {
    const { height: S, channels: C } = this.input;
    const per = S * S * C;
    const t = tf.tensor4d(x.subarray(0, n * per), [n, S, S, C]);
    try {
      const f = this.vit.features(t);
      try { return (await f.data()) as Float32Array; } finally { f.dispose(); }
    } finally { t.dispose(); }
  }

  describe(): Record<string, unknown> {
    return { kind: this.kind, file: this.file, ...this.vit.describe() };
  }

  async dispose(): Promise<void> { this.vit.dispose(); }
}
