// `npm run bench -- onnx [--quick]` (or `node --import tsx bench/onnx.bench.ts --json F [--quick]`):
//   1. wrapper: perennial's OnnxBackbone.run vs onnxruntime's own session.run on the same model,
//      threads, batch and input buffers (target: perennial throughput >= 0.9 x onnxruntime's);
//      measured for the small 28x28 CNN and a heavier 64x64 RGB CNN, interleaved rounds, medians.
//   2. end-to-end: `cil features` on an ImageFolder of 10,000 28x28 PNGs (2,000 with --quick)
//      through the small CNN: PNG decode + scaling + ONNX + atomic, resumable writes
//      (target: 10,000 images in < 60 s on 2 cores).
// Timings come from a shared 2-core machine: expect noise of several percent.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { Rng } from '../src/core/rng.js';
import { median } from '../src/core/stats.js';
import { imagePatterns } from '../src/core/data/synthetic.js';
import { OnnxBackbone, machineThreads, tinyCnnOnnx } from '../src/continual/onnx.js';
import { extractFeatureCache } from '../src/continual/features.js';
import { listImageFolder } from '../src/continual/images.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ji = args.indexOf('--json');
const json = ji >= 0 ? args[ji + 1] : undefined;
const threads = machineThreads();
const dir = mkdtempSync(join(tmpdir(), 'perennial-onnx-bench-'));
const rec = new RunRecorder('bench onnx', { quick, threads }, 0);
const rng = new Rng(0, 'bench/onnx');

interface WrapperResult { model: string; batch: number; images: number; ort_images_per_s: number; perennial_images_per_s: number; ratio: number }

async function wrapper(name: string, opts: Parameters<typeof tinyCnnOnnx>[0], batch: number, images: number): Promise<WrapperResult> {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, tinyCnnOnnx(opts, rng.split(name)).bytes);
  const C = opts.channels ?? 1, S = opts.size ?? 28, per = C * S * S;
  const x = rng.split(`${name}/x`).fillNormal(new Float32Array(batch * per));
  const ours = await OnnxBackbone.load(path, { threads });
  // onnxruntime on its own, configured as OnnxBackbone configures it.
  const raw = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', executionProviders: ['cpu'] });
  const feed = new ort.Tensor('float32', x, [batch, C, S, S]);
  const calls = Math.max(1, Math.round(images / batch));
  const runRaw = async (): Promise<number> => {
    const t = performance.now();
    for (let i = 0; i < calls; i++) await raw.run({ image: feed }, ['features']);
    return (performance.now() - t) / 1000;
  };
  const runOurs = async (): Promise<number> => {
    const t = performance.now();
    for (let i = 0; i < calls; i++) await ours.run(x, batch);
    return (performance.now() - t) / 1000;
  };
  await runRaw(); await runOurs(); // warm-up
  const tr: number[] = [], to: number[] = [];
  const rounds = quick ? 5 : 9;
  for (let r = 0; r < rounds; r++) {
    if (r % 2) { tr.push(await runRaw()); to.push(await runOurs()); } else { to.push(await runOurs()); tr.push(await runRaw()); }
  }
  await ours.dispose(); await raw.release();
  const n = calls * batch;
  const res = { model: name, batch, images: n, ort_images_per_s: n / median(tr), perennial_images_per_s: n / median(to), ratio: median(tr) / median(to) };
  process.stdout.write(`wrapper ${name} batch ${batch}: onnxruntime ${res.ort_images_per_s.toFixed(0)} img/s, perennial ${res.perennial_images_per_s.toFixed(0)} img/s, ratio ${res.ratio.toFixed(3)} (target >= 0.9)\n`);
  return res;
}

const small = { channels: 1, size: 28, widths: [16, 32], featureDim: 64 };
const wrappers: WrapperResult[] = [];
wrappers.push(await rec.time('wrapper-small', () => wrapper('cnn28', small, 64, quick ? 4096 : 16384)));
wrappers.push(await rec.time('wrapper-small-b256', () => wrapper('cnn28', small, 256, quick ? 4096 : 16384)));
wrappers.push(await rec.time('wrapper-large', () => wrapper('cnn64rgb', { channels: 3, size: 64, widths: [32, 64, 128], featureDim: 256 }, 32, quick ? 256 : 1024)));

// End-to-end over PNG files.
const N = quick ? 2000 : 10000;
const folder = join(dir, 'images');
await rec.time('write-pngs', async () => {
  const ds = imagePatterns({ classes: 10, perClass: N / 10 }, rng.split('images'));
  for (let c = 0; c < 10; c++) mkdirSync(join(folder, `c${c}`), { recursive: true });
  for (let s = 0; s < ds.n; s += 256) {
    const jobs: Promise<unknown>[] = [];
    for (let i = s; i < Math.min(ds.n, s + 256); i++) {
      const px = Buffer.alloc(784);
      for (let j = 0; j < 784; j++) px[j] = Math.max(0, Math.min(255, Math.round(ds.x[i * 784 + j]! * 255)));
      jobs.push(sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(folder, `c${ds.y[i]}`, `${i}.png`)));
    }
    await Promise.all(jobs);
  }
});
const e2e: Record<string, number>[] = [];
for (const batch of [64, 256]) {
  const b = await OnnxBackbone.load(join(dir, 'cnn28.onnx'), { threads });
  // Peak resident memory while extracting: flat memory means it does not grow with the image count.
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  const t = performance.now();
  const list = listImageFolder(folder);
  const r = await rec.time(`extract-b${batch}`, () => extractFeatureCache(b, join(dir, 'cnn28.onnx'), list, join(dir, `f${batch}.npy`), join(dir, `l${batch}.npy`), { batchSize: batch, quiet: true }));
  const s = (performance.now() - t) / 1000;
  clearInterval(sampler);
  await b.dispose();
  const growMb = (peak - rss0) / 2 ** 20;
  e2e.push({ batch, images: r.rows, seconds: s, images_per_s: r.rows / s, seconds_per_10k: (s * 10000) / r.rows, rss_start_mb: rss0 / 2 ** 20, rss_peak_growth_mb: growMb });
  process.stdout.write(`end-to-end batch ${batch}: ${r.rows} PNGs in ${s.toFixed(2)} s = ${(r.rows / s).toFixed(0)} img/s -> ${((s * 10000) / r.rows).toFixed(1)} s per 10,000 (target < 60 s); peak RSS growth ${growMb.toFixed(0)} MB\n`);
}

rmSync(dir, { recursive: true, force: true });
const record = rec.finish({
  threads,
  wrapper: wrappers,
  wrapper_ratio_min: Math.min(...wrappers.map((w) => w.ratio)),
  end_to_end: e2e,
  targets: { wrapper_ratio_min: 0.9, seconds_per_10k_max: 60 },
  met: { wrapper: Math.min(...wrappers.map((w) => w.ratio)) >= 0.9, end_to_end: Math.min(...e2e.map((e) => e.seconds_per_10k!)) < 60 },
});
if (json) writeRecord(json, record);
process.stdout.write(`met: ${JSON.stringify(record.met)}\n`);
