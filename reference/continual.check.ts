// Reference checks for continual/ (not part of `npm test`):
//  1. the RanPAC ridge head accumulated over sessions equals numpy's batch ridge on all rows (float64);
//  2. the ViT forward equals a PyTorch implementation of timm's ViT on the same timm-named weights;
//  3. optionally (PERENNIAL_CIL_RESULT=F, a `cil run --dataset fashion-mnist` record) the miniature's
//     numbers against the PyTorch reference run: each method within 1.5 points, and the orderings.
// Exits non-zero on any failure.
import { readFileSync } from 'node:fs';
import { initTf, tf } from '../src/core/tensor.js';
import { Rng } from '../src/core/rng.js';
import { AnalyticRidgeHead, RandomReluProjection } from '../src/continual/heads.js';
import { VisionTransformer } from '../src/continual/backbones/vit.js';
import { paired } from '../src/continual/report.js';
import type { CilRunResult } from '../src/continual/trainer.js';
import { ensurePython, runPython } from './peers.js';

let failed = 0;
const check = (name: string, ok: boolean, detail: string): void => {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`);
  if (!ok) failed++;
};

await initTf();

// 1. Ridge head vs numpy.
{
  const rng = new Rng(11);
  const d = 32, C = 10, lambda = 3.0;
  const proj = new RandomReluProjection(d, 256, 5);
  const head = new AnalyticRidgeHead(256, C);
  const allH: number[][] = [], allY: number[] = [];
  for (let t = 0; t < 5; t++) {
    const n = 200;
    const x = new Float32Array(n * d);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const y = Int32Array.from({ length: n }, () => 2 * t + rng.int(2));
    const h = proj.apply({ x, n, d });
    head.accumulate(h, y);
    for (let i = 0; i < n; i++) { allH.push(Array.from(h.x.subarray(i * 256, (i + 1) * 256))); allY.push(y[i]!); }
  }
  head.solve(lambda);
  const out = runPython(`
import sys, json, numpy as np
d = json.load(sys.stdin)
H = np.array(d['H'], dtype=np.float32).astype(np.float64); Y = np.eye(${C})[d['y']]
W = np.linalg.solve(H.T @ H + ${lambda} * np.eye(H.shape[1]), H.T @ Y)
print(json.dumps(W.ravel().tolist()))
`, [], JSON.stringify({ H: allH, y: allY }));
  const W = JSON.parse(out) as number[];
  let num = 0, den = 0;
  W.forEach((v, i) => { num = Math.max(num, Math.abs(v - head.weights.data[i]!)); den = Math.max(den, Math.abs(v)); });
  check('ridge head after 5 sessions vs numpy batch ridge', num / den < 1e-8, `max relative difference ${(num / den).toExponential(2)}`);
}

// 2. ViT vs PyTorch.
if (ensurePython('torch', 'python3-torch')) {
  const cfg = { imageSize: 8, patchSize: 4, channels: 3, dim: 16, depth: 2, heads: 4, mlpRatio: 4 };
  const v = new VisionTransformer(cfg, 3);
  const rng = new Rng(4);
  const weights: Record<string, { shape: number[]; data: number[] }> = {};
  const map = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, p] of v.params) {
    const data = new Float32Array(p.size);
    for (let i = 0; i < data.length; i++) data[i] = (/norm\d?\.weight$|^norm\.weight$/.test(name) ? 1 : 0) + 0.2 * rng.normal();
    map.set(name, { shape: p.shape.slice(), data });
    weights[name] = { shape: p.shape.slice(), data: Array.from(data) };
  }
  v.setWeights(map);
  const n = 4, img = new Float32Array(n * 8 * 8 * 3);
  for (let i = 0; i < img.length; i++) img[i] = rng.normal();
  const ours = v.features(tf.tensor4d(img, [n, 8, 8, 3])).arraySync() as number[][];
  const out = runPython(`
import sys, json, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
d = json.load(sys.stdin); c = d['cfg']
W = {k: torch.tensor(v['data'], dtype=torch.float32).reshape(v['shape']) for k, v in d['w'].items()}
x = torch.tensor(d['img'], dtype=torch.float32).reshape(-1, c['imageSize'], c['imageSize'], c['channels']).permute(0, 3, 1, 2)
D, Hh = c['dim'], c['heads']
t = F.conv2d(x, W['patch_embed.proj.weight'], W['patch_embed.proj.bias'], stride=c['patchSize']).flatten(2).transpose(1, 2)
t = torch.cat([W['cls_token'].expand(t.shape[0], -1, -1), t], 1) + W['pos_embed']
ln = lambda z, k: F.layer_norm(z, (D,), W[k + '.weight'], W[k + '.bias'], eps=1e-6)
for b in range(c['depth']):
    p = f'blocks.{b}.'
    h = ln(t, p + 'norm1')
    B, N, _ = h.shape
    qkv = F.linear(h, W[p + 'attn.qkv.weight'], W[p + 'attn.qkv.bias']).reshape(B, N, 3, Hh, D // Hh).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    a = ((q @ k.transpose(-2, -1)) * (D // Hh) ** -0.5).softmax(-1)
    o = (a @ v).transpose(1, 2).reshape(B, N, D)
    t = t + F.linear(o, W[p + 'attn.proj.weight'], W[p + 'attn.proj.bias'])
    h = F.gelu(F.linear(ln(t, p + 'norm2'), W[p + 'mlp.fc1.weight'], W[p + 'mlp.fc1.bias']))
    t = t + F.linear(h, W[p + 'mlp.fc2.weight'], W[p + 'mlp.fc2.bias'])
print(json.dumps(ln(t, 'norm')[:, 0].tolist()))
`, [], JSON.stringify({ cfg, w: weights, img: Array.from(img) }));
  const ref = JSON.parse(out) as number[][];
  let maxd = 0;
  ref.forEach((row, i) => row.forEach((val, j) => { maxd = Math.max(maxd, Math.abs(val - ours[i]![j]!)); }));
  check('ViT CLS features vs PyTorch timm-style forward', maxd < 1e-4, `max abs difference ${maxd.toExponential(2)}`);
} else {
  check('ViT vs PyTorch', false, 'python3-torch not available');
}

// 3. The miniature against the PyTorch reference run (10 seeds, last accuracy, mean).
const REFERENCE: Record<string, number> = { simplecil: 68.0, 'ranpac-m0': 77.1, ranpac: 83.9, 'safe-slow': 84.4, 'safe-fast': 78.3, safe: 83.5 };
const resultPath = process.env.PERENNIAL_CIL_RESULT;
if (resultPath) {
  const r = JSON.parse(readFileSync(resultPath, 'utf8')) as CilRunResult;
  for (const [m, ref] of Object.entries(REFERENCE)) {
    const s = r.summary[m];
    if (!s) { check(`miniature ${m}`, false, 'missing'); continue; }
    check(`miniature ${m} within 1.5 of the reference ${ref}`, Math.abs(s.last_acc_mean - ref) <= 1.5, `${s.last_acc_mean.toFixed(1)} +- ${s.last_acc_std.toFixed(1)} over ${s.n} seeds`);
  }
  const need = (a: string, b: string, frac: number): void => {
    const p = paired(r, a, b);
    if (!p) { check(`${a} > ${b}`, false, 'missing'); return; }
    check(`${a} > ${b} in >= ${Math.round(frac * 100)}% of seeds`, p.wins >= Math.ceil(frac * p.n), `${p.wins}/${p.n}, mean difference ${p.meanDiff.toFixed(2)}`);
  };
  need('ranpac', 'simplecil', 1);
  need('ranpac', 'ranpac-m0', 0.9);
  need('safe', 'safe-fast', 0.9);
} else {
  process.stdout.write('skip miniature comparison (set PERENNIAL_CIL_RESULT to a `cil run --dataset fashion-mnist` record)\n');
}
process.exit(failed ? 1 : 0);
