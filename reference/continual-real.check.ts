// Reference checks for continual/ real models: PyTorch (Debian python3-torch) exports a small CNN
// to ONNX and writes a timm-layout ViT state dict to safetensors (by hand: struct + json); perennial
// must reproduce PyTorch's outputs to max abs error <= 1e-4 through
//   1. OnnxBackbone on the exported CNN (random inputs),
//   2. the safetensors ViT (loadTimmVit -> tfjs VisionTransformer) on random inputs, and the same
//      ViT exported to ONNX as a fixed-batch token model (CLS token taken, short batches padded),
//   3. the whole image path (PNG ImageFolder -> sharp decode -> unit scaling -> ONNX -> feats.npy)
//      on Fashion-MNIST test images when the dataset is installed, against PyTorch on the raw pixels.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ensurePython, runPython } from './peers.js';
import { parseNpy, writeNpy } from '../src/core/data/npy.js';
import { findFashionMnist, loadFashionMnist } from '../src/core/data/idx.js';
import { readFileSync } from 'node:fs';
import { OnnxBackbone } from '../src/continual/onnx.js';
import { VitFeatureBackbone, loadTimmVit } from '../src/continual/vit-weights.js';
import { extractFeatureCache, readFeatureCache } from '../src/continual/features.js';
import { listImageFolder } from '../src/continual/images.js';

const TOL = 1e-4;
let failed = 0;
function report(name: string, err: number, extra = ''): void {
  const ok = err <= TOL;
  if (!ok) failed++;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: max abs error ${err.toExponential(2)} (tolerance ${TOL})${extra ? ' ' + extra : ''}\n`);
}
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const npy = (p: string) => parseNpy(new Uint8Array(readFileSync(p)), p);

if (!ensurePython('torch', 'python3-torch')) {
  process.stdout.write('FAIL python3-torch is not available\n');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'perennial-cilreal-ref-'));

// Fashion-MNIST images for the end-to-end path (written before PyTorch runs, read by both).
const fm = findFashionMnist();
const NFM = 512;
if (fm) {
  const test = loadFashionMnist('test', fm);
  const root = join(dir, 'fmnist');
  const x = new Float32Array(NFM * 784);
  for (let i = 0; i < NFM; i++) {
    const px = Buffer.alloc(784);
    for (let j = 0; j < 784; j++) { px[j] = Math.round(test.x[i * 784 + j]! * 255); x[i * 784 + j] = px[j]!; }
    const c = join(root, String(test.y[i]));
    mkdirSync(c, { recursive: true });
    await sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(c, `${String(i).padStart(5, '0')}.png`));
  }
  writeNpy(join(dir, 'fm_x.npy'), x, [NFM, 1, 28, 28]);
} else {
  process.stdout.write('skip Fashion-MNIST end-to-end: dataset not installed (findFashionMnist() is null)\n');
}

const PY = String.raw`
import sys, json, struct, os
import numpy as np, torch, torch.nn as nn
out = sys.argv[1]
torch.manual_seed(0)

class CNN(nn.Module):
    def __init__(s):
        super().__init__()
        s.body = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 64), nn.ReLU())
        s.head = nn.Linear(64, 10)
    def forward(s, x):
        f = s.body(x)
        return f, s.head(f)
cnn = CNN().eval()
x = torch.randn(9, 1, 28, 28)
with torch.no_grad():
    f, _ = cnn(x)
torch.onnx.export(cnn, x, os.path.join(out, 'cnn.onnx'), input_names=['input'], output_names=['embedding', 'logits'], dynamic_axes={'input': {0: 'N'}, 'embedding': {0: 'N'}, 'logits': {0: 'N'}}, opset_version=13)
np.save(os.path.join(out, 'cnn_x.npy'), x.numpy().astype(np.float32))
np.save(os.path.join(out, 'cnn_f.npy'), f.numpy().astype(np.float32))
if os.path.exists(os.path.join(out, 'fm_x.npy')):
    fx = torch.from_numpy(np.load(os.path.join(out, 'fm_x.npy'))) / 255.0
    with torch.no_grad():
        ff, _ = cnn(fx)
    np.save(os.path.join(out, 'fm_f.npy'), ff.numpy().astype(np.float32))

# A timm-layout ViT (timm's VisionTransformer semantics, written out so timm is not needed).
class Attn(nn.Module):
    def __init__(s, dim, heads):
        super().__init__(); s.h = heads; s.qkv = nn.Linear(dim, 3 * dim); s.proj = nn.Linear(dim, dim)
    def forward(s, x):
        B, T, D = x.shape
        qkv = s.qkv(x).reshape(B, T, 3, s.h, D // s.h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)) * (D // s.h) ** -0.5
        return s.proj((a.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D))
class Mlp(nn.Module):
    def __init__(s, dim, hidden):
        super().__init__(); s.fc1 = nn.Linear(dim, hidden); s.act = nn.GELU(); s.fc2 = nn.Linear(hidden, dim)
    def forward(s, x): return s.fc2(s.act(s.fc1(x)))
class Block(nn.Module):
    def __init__(s, dim, heads, ratio):
        super().__init__(); s.norm1 = nn.LayerNorm(dim, eps=1e-6); s.attn = Attn(dim, heads); s.norm2 = nn.LayerNorm(dim, eps=1e-6); s.mlp = Mlp(dim, dim * ratio)
    def forward(s, x):
        x = x + s.attn(s.norm1(x)); return x + s.mlp(s.norm2(x))
class PatchEmbed(nn.Module):
    def __init__(s, C, dim, p):
        super().__init__(); s.proj = nn.Conv2d(C, dim, p, p)
    def forward(s, x): return s.proj(x).flatten(2).transpose(1, 2)
class ViT(nn.Module):
    def __init__(s, S=32, p=8, C=3, dim=64, depth=3, heads=4, ratio=4):
        super().__init__()
        s.patch_embed = PatchEmbed(C, dim, p)
        s.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.5)
        s.pos_embed = nn.Parameter(torch.randn(1, (S // p) ** 2 + 1, dim) * 0.5)
        s.blocks = nn.Sequential(*[Block(dim, heads, ratio) for _ in range(depth)])
        s.norm = nn.LayerNorm(dim, eps=1e-6)
    def forward(s, x):
        x = s.patch_embed(x)
        x = torch.cat([s.cls_token.expand(x.shape[0], -1, -1), x], 1) + s.pos_embed
        return s.norm(s.blocks(x))[:, 0]
vit = ViT().eval()
with torch.no_grad():
    for n, prm in vit.named_parameters():
        if n.endswith('norm1.weight') or n.endswith('norm2.weight') or n == 'norm.weight':
            prm.copy_(1 + 0.1 * torch.randn_like(prm))
        elif n.endswith('.bias'):
            prm.copy_(0.05 * torch.randn_like(prm))
    xv = torch.randn(5, 3, 32, 32)
    fv = vit(xv)
sd = {k: v.detach().contiguous().numpy().astype(np.float32) for k, v in vit.state_dict().items()}
header, off, blobs = {'__metadata__': {'format': 'pt', 'heads': '4'}}, 0, []
for k, v in sd.items():
    b = v.tobytes(); header[k] = {'dtype': 'F32', 'shape': list(v.shape), 'data_offsets': [off, off + len(b)]}; off += len(b); blobs.append(b)
h = json.dumps(header).encode(); h += b' ' * ((8 - (8 + len(h)) % 8) % 8)
with open(os.path.join(out, 'vit.safetensors'), 'wb') as fh:
    fh.write(struct.pack('<Q', len(h))); fh.write(h); [fh.write(b) for b in blobs]
# The same ViT exported to ONNX as a token model ([N, T, D], like timm's forward_features) with a
# fixed batch of 5 (no dynamic axes, as many exports are).
class Tokens(nn.Module):
    def __init__(s, v):
        super().__init__(); s.v = v
    def forward(s, x):
        v = s.v; t = v.patch_embed(x)
        t = torch.cat([v.cls_token.expand(t.shape[0], -1, -1), t], 1) + v.pos_embed
        return v.norm(v.blocks(t))
torch.onnx.export(Tokens(vit).eval(), xv, os.path.join(out, 'vit_tokens.onnx'), input_names=['pixel_values'], output_names=['last_hidden_state'], opset_version=13)
np.save(os.path.join(out, 'vit_x_nchw.npy'), xv.contiguous().numpy())
np.save(os.path.join(out, 'vit_x_nhwc.npy'), xv.permute(0, 2, 3, 1).contiguous().numpy())
np.save(os.path.join(out, 'vit_f.npy'), fv.numpy().astype(np.float32))
print(json.dumps({'torch': torch.__version__, 'keys': len(sd)}))
`;
const info = runPython(PY, [dir]);
process.stdout.write(`peer: ${info.trim()}\n`);

// 1. ONNX CNN on random inputs; the feature output is found by name ("embedding" beside "logits").
const cnn = await OnnxBackbone.load(join(dir, 'cnn.onnx'));
const cx = npy(join(dir, 'cnn_x.npy')), cf = npy(join(dir, 'cnn_f.npy'));
const got = await cnn.run(cx.data as Float32Array, cx.shape[0]!);
report(`ONNX CNN features (${cnn.outputName}, ${cx.shape[0]} inputs, ${cnn.threads} threads)`, maxAbs(got, cf.data as Float32Array));
await cnn.dispose();

// 2. safetensors ViT through the tfjs VisionTransformer.
const { vit, config } = await loadTimmVit(join(dir, 'vit.safetensors'));
const vb = new VitFeatureBackbone(vit, join(dir, 'vit.safetensors'));
const vx = npy(join(dir, 'vit_x_nhwc.npy')), vf = npy(join(dir, 'vit_f.npy'));
const vgot = await vb.run(vx.data as Float32Array, vx.shape[0]!);
report(`safetensors ViT CLS features (${JSON.stringify(config)})`, maxAbs(vgot, vf.data as Float32Array));
await vb.dispose();

// 2b. The same ViT as an ONNX token model with a fixed batch of 5: CLS token, short batch padded.
const vt = await OnnxBackbone.load(join(dir, 'vit_tokens.onnx'));
const xn = npy(join(dir, 'vit_x_nchw.npy')).data as Float32Array;
const per = 3 * 32 * 32;
const full = await vt.run(xn, 5);
const short = await vt.run(xn.subarray(0, 3 * per), 3);
report(`ONNX ViT token output -> CLS (reduce ${vt.reduce}, fixed batch ${vt.fixedBatch})`, maxAbs(full, vf.data as Float32Array));
report('ONNX ViT, short batch of 3 zero-padded to 5', maxAbs(short, (vf.data as Float32Array).subarray(0, 3 * 64)));
await vt.dispose();

// 3. Fashion-MNIST PNGs -> cil features -> PyTorch on the same pixels.
if (fm) {
  const b = await OnnxBackbone.load(join(dir, 'cnn.onnx'));
  const list = listImageFolder(join(dir, 'fmnist'));
  // ImageFolder order is by class, then file name; map rows back to the original index.
  const r = await extractFeatureCache(b, join(dir, 'cnn.onnx'), list, join(dir, 'feats.npy'), join(dir, 'labels.npy'), { quiet: true });
  await b.dispose();
  const ds = readFeatureCache(join(dir, 'feats.npy'), join(dir, 'labels.npy'));
  const ff = npy(join(dir, 'fm_f.npy')).data as Float32Array;
  let err = 0;
  list.items.forEach((it, row) => {
    const idx = Number(/(\d+)\.png$/.exec(it.path)![1]);
    for (let j = 0; j < 64; j++) err = Math.max(err, Math.abs(ds.x[row * 64 + j]! - ff[idx * 64 + j]!));
  });
  report(`Fashion-MNIST test[0:${NFM}] PNG -> cil features vs PyTorch on raw pixels`, err, `(${r.rows} rows, ${r.imagesPerSecond.toFixed(0)} images/s)`);
}

rmSync(dir, { recursive: true, force: true });
process.stdout.write(failed ? `continual-real: ${failed} check(s) failed\n` : 'continual-real: all checks passed\n');
process.exit(failed ? 1 : 0);
