import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { InputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { extractFeatureCache, loadFeatureBackbone, readFeatureCache } from '../../src/continual/features.js';
import { decodeInto, listImageFolder, type ImageList } from '../../src/continual/images.js';
import { tinyCnnOnnx, writeOnnx } from '../../src/continual/onnx.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-feat-'));
const repo = join(fileURLToPath(import.meta.url), '..', '..', '..');

async function makeFolder(root: string, classes: number, perClass: number, seed: number): Promise<ImageList> {
  const rng = new Rng(seed);
  for (let c = 0; c < classes; c++) {
    mkdirSync(join(root, `k${c}`), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(16 * 16);
      for (let j = 0; j < px.length; j++) px[j] = Math.min(255, Math.max(0, Math.round(40 * c + 60 * rng.next() + ((j % 16) > 8 ? 60 : 0))));
      await sharp(px, { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(root, `k${c}`, `${i}.png`));
    }
  }
  return listImageFolder(root);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

test('the cache holds the backbone features of every image in listing order, and labels', async () => {
  const list = await makeFolder(join(dir, 'imgs'), 3, 5, 1);
  const model = join(dir, 'cnn.onnx');
  writeOnnx(model, tinyCnnOnnx({ channels: 1, size: 16, widths: [4], featureDim: 6, classes: 3 }, new Rng(2)).bytes);
  const b = await loadFeatureBackbone(model, { threads: 1 });
  try {
    const r = await extractFeatureCache(b, model, list, join(dir, 'f.npy'), join(dir, 'l.npy'), { batchSize: 4, quiet: true });
    assert.equal(r.complete, true);
    assert.equal(r.rows, 15);
    assert.equal(r.normalize, 'unit');
    const ds = readFeatureCache(join(dir, 'f.npy'), join(dir, 'l.npy'));
    assert.equal(ds.n, 15); assert.equal(ds.d, 6);
    assert.deepEqual([...ds.y], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    // Row 7 equals the backbone run on that image alone.
    const x = new Float32Array(256);
    await decodeInto(list.items[7]!.path, b.input, x, 0, { normalize: 'unit' });
    const one = await b.run(x, 1);
    for (let j = 0; j < 6; j++) assert.ok(Math.abs(one[j]! - ds.x[7 * 6 + j]!) < 1e-5);
    assert.equal(existsSync(join(dir, 'f.npy.partial')), false, 'partial files are removed when complete');
    // Never overwrite an input.
    await assert.rejects(extractFeatureCache(b, model, list, model, join(dir, 'l2.npy'), { quiet: true }), /is the same file as input .*refusing to overwrite an input/);
    await assert.rejects(extractFeatureCache(b, model, list, join(dir, 'same.npy'), join(dir, 'same.npy'), { quiet: true }), /name the same file/);
  } finally { await b.dispose(); }
});

test('a stopped run resumes at the last committed row: no duplicated or lost rows, torn tails cut', async () => {
  const list = await makeFolder(join(dir, 'imgs2'), 2, 9, 3);
  const model = join(dir, 'cnn2.onnx');
  writeOnnx(model, tinyCnnOnnx({ channels: 1, size: 16, widths: [4], featureDim: 5 }, new Rng(4)).bytes);
  const b = await loadFeatureBackbone(model, { threads: 1 });
  try {
    const full = join(dir, 'full.npy'), part = join(dir, 'part.npy');
    await extractFeatureCache(b, model, list, full, join(dir, 'full-l.npy'), { batchSize: 4, quiet: true });
    const r1 = await extractFeatureCache(b, model, list, part, join(dir, 'part-l.npy'), { batchSize: 4, quiet: true, maxBatches: 2 });
    assert.equal(r1.complete, false);
    assert.equal(r1.rows, 8);
    assert.equal(existsSync(part), false, 'no final file before the end');
    // A kill between writing rows and committing them leaves a torn tail: it must be cut.
    appendFileSync(`${part}.partial`, Buffer.alloc(13, 7));
    const r2 = await extractFeatureCache(b, model, list, part, join(dir, 'part-l.npy'), { batchSize: 4, quiet: true, maxBatches: 1 });
    assert.equal(r2.resumedFrom, 8); assert.equal(r2.rows, 12);
    const r3 = await extractFeatureCache(b, model, list, part, join(dir, 'part-l.npy'), { batchSize: 3, quiet: true });
    assert.equal(r3.resumedFrom, 12); assert.equal(r3.complete, true);
    assert.ok(same(readFileSync(full), readFileSync(part)), 'resumed features equal an uninterrupted run byte for byte');
    assert.ok(same(readFileSync(join(dir, 'full-l.npy')), readFileSync(join(dir, 'part-l.npy'))));
    // A partial cache made from another listing is refused, not silently mixed.
    await extractFeatureCache(b, model, list, join(dir, 'mix.npy'), join(dir, 'mix-l.npy'), { batchSize: 4, quiet: true, maxBatches: 1 });
    const other: ImageList = { ...list, items: list.items.slice(1) };
    await assert.rejects(extractFeatureCache(b, model, other, join(dir, 'mix.npy'), join(dir, 'mix-l.npy'), { quiet: true }), (e: unknown) => e instanceof InputError && /listingHash/.test(e.message) && /--restart/.test(e.message));
    const r4 = await extractFeatureCache(b, model, other, join(dir, 'mix.npy'), join(dir, 'mix-l.npy'), { quiet: true, resume: false });
    assert.equal(r4.resumedFrom, 0); assert.equal(r4.rows, 17);
  } finally { await b.dispose(); }
});

test('perennial cil features killed with SIGKILL mid-run resumes to the same file', async () => {
  const list = await makeFolder(join(dir, 'imgs3'), 2, 60, 5);
  const model = join(dir, 'cnn3.onnx');
  writeOnnx(model, tinyCnnOnnx({ channels: 1, size: 16, widths: [8, 8], featureDim: 8 }, new Rng(6)).bytes);
  const ref = join(dir, 'ref.npy');
  const b = await loadFeatureBackbone(model, { threads: 1 });
  await extractFeatureCache(b, model, list, ref, join(dir, 'ref-l.npy'), { batchSize: 2, quiet: true });
  await b.dispose();
  const out = join(dir, 'killed.npy'), labels = join(dir, 'killed-l.npy');
  const script = join(dir, 'run.mts');
  writeFileSync(script, `import { runFeaturesCommand } from ${JSON.stringify(join(repo, 'src/continual/features-command.ts'))};\nawait runFeaturesCommand({ backbone: ${JSON.stringify(model)}, images: ${JSON.stringify(join(dir, 'imgs3'))}, out: ${JSON.stringify(out)}, labels: ${JSON.stringify(labels)}, batchSize: 1, threads: 1, ep: 'cpu', quiet: true });\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repo, stdio: 'ignore' });
  const state = `${out}.partial.json`;
  let killedAt = -1;
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      try {
        if (existsSync(state)) {
          const rows = (JSON.parse(readFileSync(state, 'utf8')) as { rows: number }).rows;
          if (rows >= 5) { killedAt = rows; child.kill('SIGKILL'); clearInterval(t); }
        }
      } catch { /* state being renamed */ }
    }, 5);
    child.on('exit', () => { clearInterval(t); res(); });
    child.on('error', rej);
  });
  assert.ok(killedAt >= 5 && killedAt < 120, `killed at row ${killedAt}`);
  assert.equal(existsSync(out), false);
  const b2 = await loadFeatureBackbone(model, { threads: 1 });
  try {
    const r = await extractFeatureCache(b2, model, list, out, labels, { batchSize: 7, quiet: true });
    assert.ok(r.resumedFrom >= killedAt, `resumed from ${r.resumedFrom}`);
    assert.ok(same(readFileSync(ref), readFileSync(out)), 'killed + resumed equals an uninterrupted run');
  } finally { await b2.dispose(); }
});

test('a feature cache runs the continual trainer: pool/test split, identity backbone with SSF, imbalance handled', async () => {
  const { gaussianMixture } = await import('../../src/core/data/synthetic.js');
  const { writeNpy } = await import('../../src/core/data/npy.js');
  const { initTf, tf } = await import('../../src/core/tensor.js');
  const { loadFeatureRun } = await import('../../src/continual/features.js');
  const { runCil } = await import('../../src/continual/trainer.js');
  await initTf();
  const ds = gaussianMixture({ classes: 4, perClass: 30, dim: 12, separation: 4 }, new Rng(9));
  // Drop 5 rows of class 3: the trainer takes the smallest class's count from every class.
  const keep = Array.from({ length: ds.n }, (_, i) => i).filter((i) => !(ds.y[i] === 3 && i > 100));
  const x = new Float32Array(keep.length * 12), y = new Int32Array(keep.length);
  keep.forEach((r, i) => { x.set(ds.x.subarray(r * 12, r * 12 + 12), i * 12); y[i] = ds.y[r]!; });
  writeNpy(join(dir, 'g.npy'), x, [keep.length, 12]);
  writeNpy(join(dir, 'gl.npy'), y, [keep.length]);
  const { mini, backbone } = loadFeatureRun({ features: join(dir, 'g.npy'), labels: join(dir, 'gl.npy'), split: 'B2Inc2', testFraction: 0.25 });
  assert.equal(mini.numClasses, 4);
  assert.equal(mini.cilPool.n + mini.test.n, keep.length);
  const minPool = Math.min(...[0, 1, 2, 3].map((c) => mini.cilPool.y.filter((v) => v === c).length));
  assert.equal(mini.perClassTrain + mini.perClassVal, minPool);
  // The backbone is the identity, and its SSF PET starts as the identity too.
  const t = tf.tensor2d(x.subarray(0, 24), [2, 12]);
  const pet = backbone.createPet({ ssf: true }, new Rng(0));
  assert.deepEqual([...backbone.forward(t).dataSync()], [...x.subarray(0, 24)]);
  assert.deepEqual([...backbone.forward(t, { pet }).dataSync()], [...x.subarray(0, 24)]);
  assert.throws(() => backbone.createPet({ adapter: { bottleneck: 4, scale: 0.1 } }, new Rng(0)), /only SSF/);
  t.dispose();
  const r = await runCil(mini, backbone, { split: 'B2Inc2', seeds: [0], methods: ['simplecil'] });
  assert.ok(r.summary.simplecil!.last_acc_mean > 50, `well-separated classes: ${r.summary.simplecil!.last_acc_mean}`);
  assert.throws(() => loadFeatureRun({ features: join(dir, 'g.npy'), labels: join(dir, 'gl.npy'), testFeatures: join(dir, 'g.npy') }), /both --test-features and --test-labels/);
  writeNpy(join(dir, 'short.npy'), new Int32Array(3), [3]);
  assert.throws(() => loadFeatureRun({ features: join(dir, 'g.npy'), labels: join(dir, 'short.npy') }), /has 3 labels, .* has 115 rows/);
});

test('an unreadable image stops the run with its name; after fixing it the run resumes', async () => {
  const root = join(dir, 'imgs4');
  const list = await makeFolder(root, 1, 10, 7);
  const victim = list.items[6]!.path;
  const good = readFileSync(victim);
  writeFileSync(victim, 'garbage');
  const model = join(dir, 'cnn4.onnx');
  writeOnnx(model, tinyCnnOnnx({ channels: 1, size: 16, widths: [4], featureDim: 3 }, new Rng(10)).bytes);
  const b = await loadFeatureBackbone(model, { threads: 1 });
  try {
    const out = join(dir, 'bad.npy'), lab = join(dir, 'bad-l.npy');
    await assert.rejects(extractFeatureCache(b, model, list, out, lab, { batchSize: 4, quiet: true }), (e: unknown) => e instanceof InputError && e.message.includes(`cannot decode image ${victim}`));
    assert.equal((JSON.parse(readFileSync(`${out}.partial.json`, 'utf8')) as { rows: number }).rows, 4, 'the batch before the bad image is committed');
    writeFileSync(victim, good);
    const r = await extractFeatureCache(b, model, list, out, lab, { batchSize: 4, quiet: true });
    assert.equal(r.resumedFrom, 4); assert.equal(r.rows, 10);
    await extractFeatureCache(b, model, list, join(dir, 'good.npy'), join(dir, 'good-l.npy'), { batchSize: 4, quiet: true });
    assert.ok(same(readFileSync(out), readFileSync(join(dir, 'good.npy'))));
  } finally { await b.dispose(); }
});
