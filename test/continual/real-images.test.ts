import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { InputError, ParseError } from '../../src/core/errors.js';
import { decodeInto, defaultNormalize, imageBatches, listImageFolder, listImages, listingHash, readSplitFile } from '../../src/continual/images.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-img-'));

async function png(path: string, w: number, h: number, ch: 1 | 3, fill: (x: number, y: number, c: number) => number): Promise<void> {
  const px = Buffer.alloc(w * h * ch);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < ch; c++) px[(y * w + x) * ch + c] = fill(x, y, c);
  await sharp(px, { raw: { width: w, height: h, channels: ch } }).png().toFile(path);
}

test('normalisations: unit, half and imagenet scale exact pixel values; defaults by channels', async () => {
  const p = join(dir, 'rgb.png');
  await png(p, 4, 4, 3, (_x, _y, c) => [255, 128, 0][c]!);
  const input = { channels: 3, height: 4, width: 4, layout: 'nchw' as const };
  const out = new Float32Array(48);
  await decodeInto(p, input, out, 0, { normalize: 'unit' });
  assert.ok(Math.abs(out[0]! - 1) < 1e-6 && Math.abs(out[16]! - 128 / 255) < 1e-6 && out[32] === 0);
  await decodeInto(p, input, out, 0, { normalize: 'half' });
  assert.ok(Math.abs(out[0]! - 1) < 1e-6 && Math.abs(out[16]! - (128 / 255 - 0.5) / 0.5) < 1e-6 && Math.abs(out[32]! + 1) < 1e-6);
  await decodeInto(p, input, out, 0, { normalize: 'imagenet' });
  const want = [(1 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (0 - 0.406) / 0.225];
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(out[c * 16]! - want[c]!) < 1e-5, `channel ${c}`);
  // NHWC layout interleaves channels.
  const nhwc = new Float32Array(48);
  await decodeInto(p, { ...input, layout: 'nhwc' }, nhwc, 0, { normalize: 'unit' });
  assert.deepEqual([...nhwc.subarray(0, 3)].map((v) => Math.round(v * 255)), [255, 128, 0]);
  assert.equal(defaultNormalize(3), 'imagenet');
  assert.equal(defaultNormalize(1), 'unit');
});

test('channels follow the backbone: RGB to gray, gray to RGB', async () => {
  const gray = join(dir, 'gray.png'), rgb = join(dir, 'rgb2.png');
  await png(gray, 3, 3, 1, () => 100);
  await png(rgb, 3, 3, 3, () => 200);
  const g = new Float32Array(9), c = new Float32Array(27);
  await decodeInto(rgb, { channels: 1, height: 3, width: 3, layout: 'nchw' }, g, 0, { normalize: 'unit' });
  for (const v of g) assert.equal(Math.round(v * 255), 200);
  await decodeInto(gray, { channels: 3, height: 3, width: 3, layout: 'nchw' }, c, 0, { normalize: 'unit' });
  for (const v of c) assert.equal(Math.round(v * 255), 100);
});

test('resize + center crop keeps the middle of a wide image', async () => {
  // 40x20: left quarter 0, middle half 255, right quarter 0. Cover-resize to 10x10 -> 20x10 -> crop x 5..15 = all middle.
  const p = join(dir, 'wide.png');
  await png(p, 40, 20, 1, (x) => (x >= 10 && x < 30 ? 255 : 0));
  const out = new Float32Array(100);
  await decodeInto(p, { channels: 1, height: 10, width: 10, layout: 'nchw' }, out, 0, { normalize: 'unit' });
  for (let y = 0; y < 10; y++) for (let x = 1; x < 9; x++) assert.ok(out[y * 10 + x]! > 0.95, `(${x}, ${y}) = ${out[y * 10 + x]}`);
  // Resize the shorter side to 20 first, then crop 10x10 from the centre: x 15..25 of the original.
  const out2 = new Float32Array(100);
  await decodeInto(p, { channels: 1, height: 10, width: 10, layout: 'nchw' }, out2, 0, { normalize: 'unit', resize: 20 });
  for (const v of out2) assert.ok(v > 0.95);
  await assert.rejects(decodeInto(p, { channels: 1, height: 10, width: 10, layout: 'nchw' }, out2, 0, { resize: 5 }), /resize 5 is smaller than the crop/);
});

test('an unreadable image names the file', async () => {
  const p = join(dir, 'broken.png');
  writeFileSync(p, 'this is not a png');
  await assert.rejects(decodeInto(p, { channels: 1, height: 4, width: 4, layout: 'nchw' }, new Float32Array(16), 0), (e: unknown) => e instanceof InputError && e.message.startsWith(`cannot decode image ${p}`));
});

test('ImageFolder lists classes and files in sorted order; split files parse with line-numbered errors', async () => {
  const root = join(dir, 'folder');
  for (const c of ['b', 'a']) {
    mkdirSync(join(root, c, 'sub'), { recursive: true });
    await png(join(root, c, '2.png'), 2, 2, 1, () => 1);
    await png(join(root, c, 'sub', '1.png'), 2, 2, 1, () => 1);
    writeFileSync(join(root, c, 'notes.txt'), 'ignored');
  }
  const list = listImageFolder(root);
  assert.deepEqual(list.classNames, ['a', 'b']);
  assert.deepEqual(list.items.map((i) => [i.path.slice(root.length + 1), i.label]), [['a/2.png', 0], ['a/sub/1.png', 0], ['b/2.png', 1], ['b/sub/1.png', 1]]);
  assert.equal(listImages(root).items.length, 4);
  mkdirSync(join(root, 'empty'));
  assert.throws(() => listImageFolder(root), /empty: class folder holds no images/);

  const split = join(root, 'train.txt');
  writeFileSync(split, '# comment\na/2.png 3\n\nb/sub/1.png 0\n');
  const s = readSplitFile(split);
  assert.deepEqual(s.items.map((i) => i.label), [3, 0]);
  assert.equal(s.classNames.length, 4);
  assert.notEqual(listingHash(s), listingHash(list));
  writeFileSync(split, 'a/2.png 1\nb/2.png cat\n');
  assert.throws(() => readSplitFile(split), (e: unknown) => e instanceof ParseError && e.line === 2 && e.field === 'label' && e.message.includes(`${split}:2`));
  writeFileSync(split, 'a/2.png 1\njustapath\n');
  assert.throws(() => readSplitFile(split), (e: unknown) => e instanceof ParseError && e.line === 2);
  writeFileSync(split, '../../etc/passwd 1\n');
  assert.throws(() => readSplitFile(split), (e: unknown) => e instanceof ParseError && e.field === 'path');
});

test('batches stream every item once, in order, from any start', async () => {
  const root = join(dir, 'stream');
  mkdirSync(join(root, 'c'), { recursive: true });
  for (let i = 0; i < 11; i++) await png(join(root, 'c', `${String(i).padStart(2, '0')}.png`), 2, 2, 1, () => i * 20);
  const list = listImageFolder(root);
  const input = { channels: 1, height: 2, width: 2, layout: 'nchw' as const };
  const seen: number[] = [];
  const buffers = new Set<Float32Array>();
  for await (const b of imageBatches(list, input, { batchSize: 4, normalize: 'unit' })) {
    buffers.add(b.x);
    for (let i = 0; i < b.n; i++) seen.push(Math.round(b.x[i * 4]! * 255) / 20);
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(buffers.size, 2, 'two alternating buffers, whatever the number of images');
  const rest: number[] = [];
  for await (const b of imageBatches(list, input, { batchSize: 4, normalize: 'unit', start: 9 })) for (let i = 0; i < b.n; i++) rest.push(b.start + i);
  assert.deepEqual(rest, [9, 10]);
});
