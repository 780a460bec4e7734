import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { InputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { VitConfig } from '../../src/continual/backbones/vit.js';
import { extractFeatureCache, loadFeatureBackbone, readFeatureCache } from '../../src/continual/features.js';
import { decodeInto, listImageFolder } from '../../src/continual/images.js';
import { VitFeatureBackbone, inferTimmVitConfig, loadTimmVit, randomTimmVitWeights, timmVitProblems, writeTimmVit, type Weight } from '../../src/continual/vit-weights.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-vit-'));
const cfg: VitConfig = { imageSize: 8, patchSize: 4, channels: 3, dim: 16, depth: 2, heads: 2, mlpRatio: 2 };

/** timm's ViT forward in plain float64 TS: NHWC image -> CLS features after the final norm. */
function referenceVit(w: ReadonlyMap<string, Weight>, c: VitConfig, img: Float32Array): Float64Array {
  const { imageSize: S, patchSize: p, channels: C, dim, heads } = c;
  const g = S / p, T = g * g + 1, hd = dim / heads, hidden = dim * c.mlpRatio;
  const W = (k: string): Float32Array => w.get(k)!.data;
  const x: Float64Array[] = [];
  const cls = W('cls_token'), pos = W('pos_embed'), pw = W('patch_embed.proj.weight'), pb = W('patch_embed.proj.bias');
  x.push(Float64Array.from({ length: dim }, (_, d) => cls[d]! + pos[d]!));
  for (let gy = 0; gy < g; gy++) for (let gx = 0; gx < g; gx++) {
    const t = 1 + gy * g + gx;
    x.push(Float64Array.from({ length: dim }, (_, d) => {
      let a = pb[d]!;
      for (let ch = 0; ch < C; ch++) for (let ky = 0; ky < p; ky++) for (let kx = 0; kx < p; kx++) a += pw[((d * C + ch) * p + ky) * p + kx]! * img[((gy * p + ky) * S + gx * p + kx) * C + ch]!;
      return a + pos[t * dim + d]!;
    }));
  }
  const ln = (v: Float64Array, k: string): Float64Array => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const varr = v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
    const s = 1 / Math.sqrt(varr + 1e-6), gw = W(`${k}.weight`), gb = W(`${k}.bias`);
    return v.map((z, i) => (z - m) * s * gw[i]! + gb[i]!);
  };
  const lin = (v: Float64Array, k: string, out: number): Float64Array => {
    const m = W(`${k}.weight`), b = W(`${k}.bias`), inp = v.length;
    return Float64Array.from({ length: out }, (_, o) => { let a = b[o]!; for (let i = 0; i < inp; i++) a += m[o * inp + i]! * v[i]!; return a; });
  };
  const erf = (z: number): number => {
    // Abramowitz-Stegun 7.1.26 is too coarse for 1e-5; use a series / continued fraction split.
    const t = Math.abs(z);
    if (t < 3) { let sum = 0, term = t, n = 0; while (Math.abs(term) > 1e-17) { sum += term / (2 * n + 1); n++; term = -term * t * t / n; } return Math.sign(z) * 2 / Math.sqrt(Math.PI) * sum; }
    let f = 0; for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
    return Math.sign(z) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
  };
  for (let i = 0; i < c.depth; i++) {
    const b = `blocks.${i}`;
    const h = x.map((v) => ln(v, `${b}.norm1`));
    const qkv = h.map((v) => lin(v, `${b}.attn.qkv`, 3 * dim));
    const att = x.map(() => new Float64Array(dim));
    for (let hh = 0; hh < heads; hh++) for (let q = 0; q < T; q++) {
      const s = new Float64Array(T);
      for (let k = 0; k < T; k++) { let a = 0; for (let e = 0; e < hd; e++) a += qkv[q]![hh * hd + e]! * qkv[k]![dim + hh * hd + e]!; s[k] = a / Math.sqrt(hd); }
      const mx = Math.max(...s); let z = 0; for (let k = 0; k < T; k++) { s[k] = Math.exp(s[k]! - mx); z += s[k]!; }
      for (let e = 0; e < hd; e++) { let a = 0; for (let k = 0; k < T; k++) a += s[k]! / z * qkv[k]![2 * dim + hh * hd + e]!; att[q]![hh * hd + e] = a; }
    }
    for (let t = 0; t < T; t++) { const pr = lin(att[t]!, `${b}.attn.proj`, dim); for (let d = 0; d < dim; d++) x[t]![d] += pr[d]!; }
    for (let t = 0; t < T; t++) {
      const h1 = lin(ln(x[t]!, `${b}.norm2`), `${b}.mlp.fc1`, hidden).map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2)));
      const h2 = lin(h1, `${b}.mlp.fc2`, dim);
      for (let d = 0; d < dim; d++) x[t]![d] += h2[d]!;
    }
  }
  return ln(x[0]!, 'norm');
}

test('a timm-layout ViT read from safetensors gives the same CLS features as an independent TS forward pass', async () => {
  const sd = randomTimmVitWeights(cfg, new Rng(11));
  const p = join(dir, 'vit.safetensors');
  writeTimmVit(p, sd, cfg);
  const { vit, config } = await loadTimmVit(p);
  assert.deepEqual(config, cfg, 'architecture read off the shapes (heads from metadata)');
  const backbone = new VitFeatureBackbone(vit, p);
  try {
    const n = 3, per = 8 * 8 * 3;
    const x = new Rng(12).fillNormal(new Float32Array(n * per));
    const got = await backbone.run(x, n);
    let maxErr = 0;
    for (let s = 0; s < n; s++) {
      const want = referenceVit(sd, cfg, x.subarray(s * per, (s + 1) * per));
      for (let d = 0; d < 16; d++) maxErr = Math.max(maxErr, Math.abs(got[s * 16 + d]! - want[d]!));
    }
    assert.ok(maxErr < 1e-4, `max abs error ${maxErr}`);
  } finally { await backbone.dispose(); }
});

test('BF16 weights load as their rounded values (checked against the TS forward on rounded weights)', async () => {
  const sd = randomTimmVitWeights(cfg, new Rng(13));
  const p = join(dir, 'vit-bf16.safetensors');
  writeTimmVit(p, sd, cfg, 'BF16');
  const { vit } = await loadTimmVit(p);
  const rounded = vit.getWeights();
  for (const [k, w] of sd) {
    const r = rounded.get(k)!.data;
    for (let i = 0; i < w.data.length; i++) assert.ok(Math.abs(r[i]! - w.data[i]!) <= Math.abs(w.data[i]!) * 2 ** -8 + 1e-30, `${k}[${i}]`);
  }
  const backbone = new VitFeatureBackbone(vit, p);
  const x = new Rng(14).fillNormal(new Float32Array(192));
  const got = await backbone.run(x, 1);
  const want = referenceVit(rounded, cfg, x);
  for (let d = 0; d < 16; d++) assert.ok(Math.abs(got[d]! - want[d]!) < 1e-4);
  await backbone.dispose();
});

test('missing, mis-shaped and unexpected keys are named exactly', async () => {
  const sd = randomTimmVitWeights(cfg, new Rng(15));
  const missing = new Map(sd); missing.delete('blocks.1.attn.qkv.weight');
  assert.deepEqual(timmVitProblems(missing, cfg), ['missing key blocks.1.attn.qkv.weight (expected shape [48, 16])']);
  const misshaped = new Map(sd); misshaped.set('blocks.0.mlp.fc1.bias', { shape: [31], data: new Float32Array(31) });
  assert.deepEqual(timmVitProblems(misshaped, cfg), ['mis-shaped key blocks.0.mlp.fc1.bias: expected [32], found [31]']);
  const extra = new Map(sd); extra.set('fc_norm.weight', { shape: [16], data: new Float32Array(16) });
  assert.deepEqual(timmVitProblems(extra, cfg), ['unexpected key fc_norm.weight [16]']);
  const p = join(dir, 'broken.safetensors');
  writeTimmVit(p, missing, cfg);
  await assert.rejects(loadTimmVit(p), (e: unknown) => e instanceof InputError && e.message.startsWith(`${p}: not a timm ViT state dict`) && e.message.includes('missing key blocks.1.attn.qkv.weight'));
  const noPos = new Map(sd); noPos.delete('pos_embed');
  assert.throws(() => inferTimmVitConfig(noPos, 'v.safetensors'), /v\.safetensors: missing key pos_embed/);
  // Heads cannot be read off the shapes: metadata, option, or dim/64.
  assert.throws(() => inferTimmVitConfig(sd, 'v.safetensors'), /cannot tell the number of attention heads for dim 16; pass --heads/);
  assert.equal(inferTimmVitConfig(sd, 'v', { heads: 4 }).heads, 4);
  const withHead = new Map(sd);
  withHead.set('head.weight', { shape: [5, 16], data: new Float32Array(80) }); withHead.set('head.bias', { shape: [5], data: new Float32Array(5) });
  assert.equal(inferTimmVitConfig(withHead, 'v', { heads: 2 }).numClasses, 5);
});

test('cil features runs a safetensors ViT over an RGB ImageFolder (NHWC, imagenet normalisation)', async () => {
  const root = join(dir, 'rgb');
  for (let c = 0; c < 2; c++) {
    mkdirSync(join(root, `c${c}`), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const px = Buffer.alloc(12 * 10 * 3);
      for (let j = 0; j < px.length; j++) px[j] = (j * (7 + c) + i * 31) % 256;
      await sharp(px, { raw: { width: 12, height: 10, channels: 3 } }).png().toFile(join(root, `c${c}`, `${i}.png`));
    }
  }
  const p = join(dir, 'vit2.safetensors');
  writeTimmVit(p, randomTimmVitWeights(cfg, new Rng(16)), cfg);
  const b = await loadFeatureBackbone(p);
  try {
    assert.deepEqual(b.input, { channels: 3, height: 8, width: 8, layout: 'nhwc' });
    const list = listImageFolder(root);
    const r = await extractFeatureCache(b, p, list, join(dir, 'vf.npy'), join(dir, 'vl.npy'), { batchSize: 4, quiet: true });
    assert.equal(r.normalize, 'imagenet');
    const ds = readFeatureCache(join(dir, 'vf.npy'), join(dir, 'vl.npy'));
    const x = new Float32Array(192);
    await decodeInto(list.items[4]!.path, b.input, x, 0, { normalize: 'imagenet' });
    const one = await b.run(x, 1);
    for (let d = 0; d < 16; d++) assert.ok(Math.abs(one[d]! - ds.x[4 * 16 + d]!) < 1e-5);
  } finally { await b.dispose(); }
  await assert.rejects(loadFeatureBackbone(p, { output: 'x' }), /applies to ONNX backbones/);
});
