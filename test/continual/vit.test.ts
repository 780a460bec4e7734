import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../../src/core/tensor.js';
import { Rng } from '../../src/core/rng.js';
import { VisionTransformer, type VitConfig } from '../../src/continual/backbones/vit.js';
import type { WeightTensor } from '../../src/core/nn.js';

const cfg: VitConfig = { imageSize: 4, patchSize: 2, channels: 2, dim: 4, depth: 2, heads: 2, mlpRatio: 2, numClasses: 3 };

function randomWeights(v: VisionTransformer, rng: Rng): Map<string, WeightTensor> {
  const m = new Map<string, WeightTensor>();
  for (const [name, p] of v.params) {
    const data = new Float32Array(p.size);
    for (let i = 0; i < data.length; i++) data[i] = (name.endsWith('norm1.weight') || name.endsWith('norm2.weight') || name === 'norm.weight' ? 1 : 0) + 0.3 * rng.normal();
    m.set(name, { shape: p.shape.slice(), data });
  }
  return m;
}

// erf with |error| < 1.2e-7 (Numerical Recipes erfc Chebyshev fit).
function erf(x: number): number {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

/** timm's forward in plain loops, reading the same weight map (PyTorch layouts), input NHWC. */
function referenceFeatures(w: Map<string, WeightTensor>, img: Float32Array, c: VitConfig): number[] {
  const { imageSize: S, patchSize: p, channels: C, dim: D, depth, heads } = c;
  const g = S / p, L = g * g, T = L + 1, H = D * c.mlpRatio, hd = D / heads;
  const W = (k: string): Float32Array => w.get(k)!.data;
  const lin = (x: number[], k: string, out: number, inp: number): number[] => {
    const a = W(`${k}.weight`), b = W(`${k}.bias`);
    return Array.from({ length: out }, (_, o) => { let s = b[o]!; for (let i = 0; i < inp; i++) s += a[o * inp + i]! * x[i]!; return s; });
  };
  const ln = (x: number[], k: string): number[] => {
    const m = x.reduce((a, b) => a + b, 0) / x.length;
    const v = x.reduce((a, b) => a + (b - m) ** 2, 0) / x.length;
    return x.map((xi, i) => ((xi - m) / Math.sqrt(v + 1e-6)) * W(`${k}.weight`)[i]! + W(`${k}.bias`)[i]!);
  };
  let tok: number[][] = [Array.from(W('cls_token'))];
  const pw = W('patch_embed.proj.weight'), pb = W('patch_embed.proj.bias');
  for (let gy = 0; gy < g; gy++) for (let gx = 0; gx < g; gx++) {
    tok.push(Array.from({ length: D }, (_, d) => {
      let s = pb[d]!;
      for (let ch = 0; ch < C; ch++) for (let ky = 0; ky < p; ky++) for (let kx = 0; kx < p; kx++) {
        s += pw[((d * C + ch) * p + ky) * p + kx]! * img[((gy * p + ky) * S + (gx * p + kx)) * C + ch]!;
      }
      return s;
    }));
  }
  const pos = W('pos_embed');
  tok = tok.map((t, i) => t.map((v, d) => v + pos[i * D + d]!));
  for (let b = 0; b < depth; b++) {
    const n1 = tok.map((t) => ln(t, `blocks.${b}.norm1`));
    const qkv = n1.map((t) => lin(t, `blocks.${b}.attn.qkv`, 3 * D, D));
    const att: number[][] = tok.map(() => new Array<number>(D).fill(0));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < T; i++) {
        const sc = Array.from({ length: T }, (_, j) => {
          let s = 0;
          for (let e = 0; e < hd; e++) s += qkv[i]![h * hd + e]! * qkv[j]![D + h * hd + e]!;
          return s * hd ** -0.5;
        });
        const mx = Math.max(...sc), ex = sc.map((s) => Math.exp(s - mx)), z = ex.reduce((a, b) => a + b, 0);
        for (let e = 0; e < hd; e++) for (let j = 0; j < T; j++) att[i]![h * hd + e]! += (ex[j]! / z) * qkv[j]![2 * D + h * hd + e]!;
      }
    }
    tok = tok.map((t, i) => { const pr = lin(att[i]!, `blocks.${b}.attn.proj`, D, D); return t.map((v, d) => v + pr[d]!); });
    tok = tok.map((t) => {
      const hdn = lin(ln(t, `blocks.${b}.norm2`), `blocks.${b}.mlp.fc1`, H, D).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      const o = lin(hdn, `blocks.${b}.mlp.fc2`, D, H);
      return t.map((v, d) => v + o[d]!);
    });
  }
  return ln(tok[0]!, 'norm');
}

test('ViT features match a plain-loop timm forward on the same timm-named weights', async () => {
  await initTf();
  const v = new VisionTransformer(cfg, 1);
  const w = randomWeights(v, new Rng(2));
  v.setWeights(w);
  const rng = new Rng(3);
  const n = 3, img = new Float32Array(n * 4 * 4 * 2);
  for (let i = 0; i < img.length; i++) img[i] = rng.normal();
  const f = v.features(tf.tensor4d(img, [n, 4, 4, 2]));
  const got = f.arraySync() as number[][];
  for (let i = 0; i < n; i++) {
    const ref = referenceFeatures(w, img.subarray(i * 32, (i + 1) * 32), cfg);
    for (let d = 0; d < cfg.dim; d++) assert.ok(Math.abs(got[i]![d]! - ref[d]!) < 1e-4, `row ${i} dim ${d}: ${got[i]![d]} vs ${ref[d]}`);
  }
  // The flattened-row input gives the same features.
  const f2 = v.features(tf.tensor2d(img, [n, 32]));
  assert.ok(tf.max(tf.abs(f.sub(f2))).dataSync()[0]! < 1e-6);
  assert.deepEqual(v.logits(tf.tensor2d(img, [n, 32])).shape, [n, 3]);
});

test('ViT setWeights: wrong shapes, unknown and missing names are errors; the head may be omitted', async () => {
  await initTf();
  const v = new VisionTransformer(cfg, 1);
  const w = randomWeights(v, new Rng(2));
  const bad = new Map(w);
  bad.set('pos_embed', { shape: [1, 4, 4], data: new Float32Array(16) });
  assert.throws(() => v.setWeights(bad), /pos_embed: expected shape \[1, 5, 4\]/);
  const extra = new Map(w);
  extra.set('blocks.9.norm1.weight', { shape: [4], data: new Float32Array(4) });
  assert.throws(() => v.setWeights(extra), /unknown weight blocks\.9\.norm1\.weight/);
  const missing = new Map(w);
  missing.delete('norm.bias');
  assert.throws(() => v.setWeights(missing), /weights missing: norm\.bias/);
  const noHead = new Map(w);
  noHead.delete('head.weight');
  noHead.delete('head.bias');
  v.setWeights(noHead);
  assert.throws(() => new VisionTransformer({ ...cfg, dim: 5 }), /not divisible by heads/);
  assert.throws(() => new VisionTransformer({ ...cfg, depht: 2 } as unknown as VitConfig), /ViT config: unknown option \"depht\"/);
});

test('PET modules: SSF and adapters start as the identity; VPT prompts change the features', async () => {
  await initTf();
  const v = new VisionTransformer(cfg, 1);
  const x = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 4);
  const base = v.features(x);
  const rng = new Rng(1);
  const ssfAd = v.createPet({ ssf: true, adapter: { bottleneck: 2, scale: 0.1 } }, rng);
  assert.ok(tf.max(tf.abs(v.features(x, { pet: ssfAd }).sub(base))).dataSync()[0]! < 1e-6);
  const vpt = v.createPet({ vpt: { tokens: 2 } }, rng);
  assert.ok(tf.max(tf.abs(v.features(x, { pet: vpt }).sub(base))).dataSync()[0]! > 1e-4);
  assert.equal(vpt.size, cfg.depth);
  // SSF scale 2 on the final norm doubles the features minus nothing (shift 0).
  ssfAd.get('ssf.norm.scale')!.assign(tf.fill([cfg.dim], 2));
  assert.ok(tf.max(tf.abs(v.features(x, { pet: ssfAd }).sub(base.mul(2)))).dataSync()[0]! < 1e-5);
});
