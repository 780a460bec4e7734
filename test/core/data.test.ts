// core/data: NPY round trips and errors, IDX parsing with byte offsets, CSV line numbers,
// seeded synthetic generators and splits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  encodeNpy, parseNpy, readNpy, writeNpy, readMatrixNpy, parseIdx, readIdx, loadIdxFolder, parseCsv, csvNumber, toCsv,
  gaussianMixture, imagePatterns, stratifiedSplit, stratifiedFractionSplit, classOrder, makeDataset,
} from '../../src/core/data/index.js';
import { ParseError, InputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-data-'));

function parseErr(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ParseError, `expected a ParseError, got ${String(e)}`);
    return e;
  }
  assert.fail('no error thrown');
}

test('NPY round trip for float32, float64 and int32 in 1-D, 2-D and 3-D, through a file', () => {
  const rng = new Rng(31);
  const cases: [Float32Array | Float64Array | Int32Array, number[]][] = [
    [rng.fillNormal(new Float32Array(12)), [3, 4]],
    [rng.fillNormal(new Float64Array(7)), [7]],
    [Int32Array.from({ length: 24 }, () => rng.int(1000) - 500), [2, 3, 4]],
    [new Float64Array(0), [0, 5]],
  ];
  for (const [data, shape] of cases) {
    const back = parseNpy(encodeNpy(data, shape));
    assert.deepEqual(back.shape, shape);
    assert.equal(back.data.constructor, data.constructor);
    assert.deepEqual(Array.from(back.data), Array.from(data));
  }
  const f = join(dir, 'm.npy');
  writeNpy(f, Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual(readNpy(f).shape, [2, 3]);
  const m = readMatrixNpy(f);
  assert.equal(m.rows, 2);
  assert.equal(m.data[5], 6);
  // Data starts on a 64-byte boundary like numpy's files.
  const bytes = encodeNpy(new Float32Array(3), [3]);
  assert.equal((bytes.length - 12) % 64, 0);
});

test('NPY errors name the file, offset and field', () => {
  const good = encodeNpy(Float32Array.from([1, 2, 3, 4]), [2, 2]);
  let e = parseErr(() => parseNpy(good.slice(0, good.length - 4), 'short.npy'));
  assert.equal(e.file, 'short.npy');
  assert.equal(e.field, 'data');
  assert.ok(e.offset > 0 && e.message.includes('short.npy@'));
  const badMagic = good.slice();
  badMagic[1] = 0x41;
  e = parseErr(() => parseNpy(badMagic, 'magic.npy'));
  assert.equal(e.offset, 1);
  const text = new TextDecoder('latin1').decode(good).replace("'<f4'", "'>f4'");
  e = parseErr(() => parseNpy(Uint8Array.from(text, (c) => c.charCodeAt(0)), 'bigendian.npy'));
  assert.equal(e.field, 'descr');
  const f = join(dir, 'nan.npy');
  writeNpy(f, Float64Array.from([1, Number.NaN]), [1, 2]);
  e = parseErr(() => readMatrixNpy(f));
  assert.match(e.message, /row 0, column 1/);
});

function idx(type: number, dims: number[], payload: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  const dv = new DataView(head.buffer);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

test('IDX parses uint8 and big-endian int32/float32, gzipped or not', () => {
  const u8 = idx(0x08, [2, 3], Uint8Array.from([0, 1, 2, 253, 254, 255]));
  assert.deepEqual(Array.from(parseIdx(u8).data), [0, 1, 2, 253, 254, 255]);
  assert.deepEqual(parseIdx(gzipSync(u8)).shape, [2, 3]);
  const be = new Uint8Array(8);
  new DataView(be.buffer).setInt32(0, -7, false);
  new DataView(be.buffer).setFloat32(4, 1.5, false);
  assert.deepEqual(Array.from(parseIdx(idx(0x0c, [1], be.subarray(0, 4))).data), [-7]);
  assert.deepEqual(Array.from(parseIdx(idx(0x0d, [1], be.subarray(4))).data), [1.5]);
  // From a file (a Node Buffer, not a plain Uint8Array): signed bytes.
  const f = join(dir, 'i8.idx');
  writeFileSync(f, idx(0x09, [3], Uint8Array.from([255, 0, 1])));
  assert.deepEqual(Array.from(readIdx(f).data), [-1, 0, 1]);
});

test('IDX errors carry byte offsets: magic, type code, dims, data length, gzip', () => {
  const good = idx(0x08, [2, 2], new Uint8Array(4));
  const bad = good.slice();
  bad[0] = 1;
  assert.equal(parseErr(() => parseIdx(bad, 'a.idx')).offset, 0);
  const badType = good.slice();
  badType[2] = 0x42;
  const e = parseErr(() => parseIdx(badType, 'b.idx'));
  assert.equal(e.offset, 2);
  assert.equal(e.field, 'type');
  assert.match(e.message, /^b\.idx@2 \(type\)/);
  assert.equal(parseErr(() => parseIdx(good.subarray(0, 8), 'c.idx')).field, 'dims');
  const short = parseErr(() => parseIdx(good.subarray(0, good.length - 1), 'd.idx'));
  assert.equal(short.offset, 12);
  assert.equal(short.field, 'data');
  assert.equal(parseErr(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), 'e.gz')).field, 'gzip');
});

test('an IDX folder loads as a Dataset with pixels in [0, 1]; a missing folder is an InputError', () => {
  const d = mkdtempSync(join(tmpdir(), 'perennial-idx-'));
  const imgs = Uint8Array.from({ length: 3 * 4 }, (_, i) => (i * 20) % 256);
  writeFileSync(join(d, 'train-images-idx3-ubyte'), idx(0x08, [3, 2, 2], imgs));
  writeFileSync(join(d, 'train-labels-idx1-ubyte.gz'), gzipSync(idx(0x08, [3], Uint8Array.from([2, 0, 1]))));
  const ds = loadIdxFolder(d, 'train', ['a', 'b', 'c']);
  assert.equal(ds.n, 3);
  assert.equal(ds.d, 4);
  assert.deepEqual(ds.shape, [2, 2, 1]);
  assert.deepEqual(Array.from(ds.y), [2, 0, 1]);
  assert.ok(Math.abs(ds.x[1]! - 20 / 255) < 1e-7);
  assert.throws(() => loadIdxFolder(d, 'test'), InputError);
});

test('CSV keeps 1-based line numbers past quoted newlines and reports bad numbers by line and column', () => {
  const text = 'name,value\na,1\n"multi\nline",2\nc,oops\n';
  const t = parseCsv(text, 'f.csv');
  assert.deepEqual(t.header, ['name', 'value']);
  assert.equal(t.rows.length, 3);
  assert.equal(t.rows[0]!.line, 2);
  assert.equal(t.rows[1]!.values[0], 'multi\nline');
  assert.equal(t.rows[2]!.line, 5, 'the record after a two-line record starts on line 5');
  assert.equal(csvNumber(t, t.rows[1]!, 1), 2);
  const e = parseErr(() => csvNumber(t, t.rows[2]!, 1));
  assert.equal(e.line, 5);
  assert.equal(e.field, 'value');
  assert.match(e.message, /^f\.csv:5 \(value\): expected a number, found "oops"/);
  const ragged = parseErr(() => parseCsv('a,b\n1,2\n3\n', 'r.csv'));
  assert.equal(ragged.file, 'r.csv');
  assert.equal(ragged.line, 3);
  assert.equal(parseErr(() => parseCsv('', 'empty.csv')).line, 1);
  const round = parseCsv(toCsv(['x', 'y'], [['a,b', 1.25], ['say "hi"', -3]]));
  assert.deepEqual(round.rows.map((r) => r.values), [['a,b', '1.25'], ['say "hi"', '-3']]);
});

test('gaussianMixture and imagePatterns are deterministic per seed and differ across seeds and streams', () => {
  const a = gaussianMixture({ classes: 3, perClass: 20, dim: 12 }, new Rng(41));
  const b = gaussianMixture({ classes: 3, perClass: 20, dim: 12 }, new Rng(41));
  const c = gaussianMixture({ classes: 3, perClass: 20, dim: 12 }, new Rng(42));
  const t = gaussianMixture({ classes: 3, perClass: 20, dim: 12 }, new Rng(41), 'test');
  assert.deepEqual(a.x, b.x);
  assert.deepEqual(a.y, b.y);
  assert.notDeepEqual(a.x, c.x);
  assert.notDeepEqual(a.x, t.x);
  assert.equal(a.n, 60);
  assert.equal(a.d, 12);
  for (const v of a.x) assert.ok(v > -1 && v < 1, 'tanh range');
  // Classes are separated: class means are farther apart than the typical within-class spread.
  const mean = (cls: number): number[] => {
    const m = new Array<number>(a.d).fill(0);
    let k = 0;
    for (let i = 0; i < a.n; i++) if (a.y[i] === cls) { k++; for (let j = 0; j < a.d; j++) m[j]! += a.x[i * a.d + j]!; }
    return m.map((v) => v / k);
  };
  const m0 = mean(0), m1 = mean(1);
  assert.ok(Math.hypot(...m0.map((v, j) => v - m1[j]!)) > 0.3);

  const p = imagePatterns({ classes: 4, perClass: 5 }, new Rng(43));
  const q = imagePatterns({ classes: 4, perClass: 5 }, new Rng(43));
  assert.deepEqual(p.x, q.x);
  assert.deepEqual(p.shape, [28, 28, 1]);
  assert.equal(p.x.length, 20 * 784);
  for (const v of p.x) assert.ok(v >= 0 && v <= 1);
  assert.notDeepEqual(p.x, imagePatterns({ classes: 4, perClass: 5 }, new Rng(44)).x);
});

test('stratified splits keep per-class counts, are seeded, and refuse impossible counts', () => {
  const ds = gaussianMixture({ classes: 3, perClass: 10, dim: 4 }, new Rng(51));
  const [p0, p1] = stratifiedSplit(ds, [6, 3], new Rng(52));
  for (const [part, k] of [[p0!, 6], [p1!, 3]] as const) {
    for (let c = 0; c < 3; c++) assert.equal(Array.from(part.y).filter((v) => v === c).length, k);
  }
  const again = stratifiedSplit(ds, [6, 3], new Rng(52));
  assert.deepEqual(again[0]!.x, p0!.x);
  assert.notDeepEqual(stratifiedSplit(ds, [6, 3], new Rng(53))[0]!.x, p0!.x);
  assert.throws(() => stratifiedSplit(ds, [8, 3], new Rng(52)), InputError);
  const [tr, te] = stratifiedFractionSplit(ds, 0.7, new Rng(54));
  assert.equal(tr.n, 21);
  assert.equal(te.n, 9);
  const order = classOrder(10, new Rng(55));
  assert.deepEqual([...order].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(order, classOrder(10, new Rng(55)));
  assert.throws(() => makeDataset({ x: new Float32Array(3), y: Int32Array.from([0, 1]), d: 2, source: 't' }), InputError);
});
