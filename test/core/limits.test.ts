// Sizes a user or a file chooses are capped before allocation (issue 17, item 4): the shared
// helpers, NPY/IDX size claims, gzip bombs and label values that would size arrays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputError, ParseError } from '../../src/core/errors.js';
import { MAX_CLASSES, assertAllocatable, assertArrayFits, capSize, formatBytes, memoryBudget } from '../../src/core/limits.js';
import { makeDataset } from '../../src/core/data/dataset.js';
import { parseNpy } from '../../src/core/data/npy.js';
import { loadIdxFolder, parseIdx } from '../../src/core/data/idx.js';

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) { saved[k] = process.env[k]; if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  try { return fn(); } finally {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

test('capSize: integers up to the limit pass, others are one InputError naming the value and limit', () => {
  assert.equal(capSize('--n', 5, 10, 'cmd'), 5);
  assert.equal(capSize('--n', 10, 10, 'cmd'), 10);
  assert.throws(() => capSize('--n', 11, 10, 'cmd'), /cmd: --n = 11 is above the limit of 10/);
  for (const bad of [-1, 1.5, NaN, Infinity]) assert.throws(() => capSize('--n', bad, 10, 'cmd'), InputError);
});

test('memoryBudget: half of the machine by default, PERENNIAL_MAX_BYTES with a suffix, bad values refused', () => {
  withEnv({ PERENNIAL_MAX_BYTES: undefined }, () => assert.ok(memoryBudget().bytes > 0));
  withEnv({ PERENNIAL_MAX_BYTES: '2G' }, () => assert.equal(memoryBudget().bytes, 2 * 2 ** 30));
  withEnv({ PERENNIAL_MAX_BYTES: '1500' }, () => {
    assert.equal(memoryBudget().bytes, 1500);
    assert.doesNotThrow(() => assertAllocatable(1500, 'x'));
    assert.throws(() => assertAllocatable(1501, 'a buffer', 'here'), /here: a buffer needs about 1\.47 KiB, more than the 1\.46 KiB allowed \(PERENNIAL_MAX_BYTES=1500\)/);
    assert.throws(() => assertAllocatable(NaN, 'overflowed estimate'), InputError);
  });
  withEnv({ PERENNIAL_MAX_BYTES: 'lots' }, () => assert.throws(() => memoryBudget(), /PERENNIAL_MAX_BYTES/));
  assert.throws(() => assertArrayFits(2 ** 40, 1, 'a grid'), /more than the 4294967296 one array can hold/);
  assert.equal(formatBytes(1024 ** 3), '1.00 GiB');
});

/** An NPY v1 file with the given shape text in its header and `data` bytes after it. */
function npyWithShape(shape: string, data: Uint8Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(data, 10 + header.length);
  return out;
}

test('NPY: a header claiming more data than the file holds, or a dimension no array can have, is refused', () => {
  const data = new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer);
  assert.deepEqual(parseNpy(npyWithShape('(2, 2)', data)).shape, [2, 2]);
  const cases: [string, string][] = [['(99999999999, 99999999999)', 'shape'], ['(99999, 99999)', 'data'], ['(0, 99999999999999)', 'shape'], ['(2000000000, 3)', 'data'], ['(4, 5000000000)', 'shape']];
  for (const [shape, field] of cases) {
    const e = (() => { try { parseNpy(npyWithShape(shape, data), 'huge.npy'); } catch (err) { return err; } return null; })();
    assert.ok(e instanceof ParseError && e.field === field, `${shape}: ${String(e)}`);
  }
});

test('IDX: an empty image array (a 0 dimension beside huge claimed ones), and gzip streams inflating past the budget, are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-limits-idx-'));
  try {
    const head = new Uint8Array(4 + 12);
    head[2] = 0x08; head[3] = 3;
    new DataView(head.buffer).setUint32(8, 4_000_000_000, false);
    new DataView(head.buffer).setUint32(12, 4_000_000_000, false);
    assert.deepEqual(parseIdx(head, 'empty.idx').shape, [0, 4_000_000_000, 4_000_000_000]);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), head);
    const lbl = new Uint8Array(8); lbl[2] = 0x08; lbl[3] = 1;
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), lbl);
    assert.throws(() => loadIdxFolder(dir, 'train'), (e: unknown) => e instanceof ParseError && e.field === 'dims');
  } finally { rmSync(dir, { recursive: true, force: true }); }
  // 4 MiB of zeros in a few KiB of gzip, against a 1 MiB budget.
  const big = new Uint8Array(4 + 4 + 4 * 2 ** 20);
  big[2] = 0x08; big[3] = 1;
  new DataView(big.buffer).setUint32(4, 4 * 2 ** 20, false);
  const bomb = gzipSync(big);
  assert.ok(bomb.length < 100_000);
  withEnv({ PERENNIAL_MAX_BYTES: '1M' }, () => assert.throws(() => parseIdx(bomb, 'bomb.gz'), (e: unknown) => e instanceof ParseError && e.field === 'gzip' && /at most/.test(e.message)));
  withEnv({ PERENNIAL_MAX_BYTES: '64M' }, () => assert.equal(parseIdx(bomb, 'bomb.gz').shape[0], 4 * 2 ** 20));
});

test('labels: one huge label value is refused (dataset, IDX folder) instead of sizing arrays by it', () => {
  assert.throws(() => makeDataset({ x: new Float32Array(2), y: Int32Array.from([0, 2147483647]), d: 1, source: 's' }), /label 2147483647 at row 1 is above the limit/);
  assert.doesNotThrow(() => makeDataset({ x: new Float32Array(2), y: Int32Array.from([0, MAX_CLASSES - 1]), d: 1, source: 's' }));
  const dir = mkdtempSync(join(tmpdir(), 'perennial-limits-'));
  try {
    const idx = (type: number, dims: number[], payload: Uint8Array): Uint8Array => {
      const h = new Uint8Array(4 + 4 * dims.length + payload.length);
      h[2] = type; h[3] = dims.length;
      dims.forEach((d, i) => new DataView(h.buffer).setUint32(4 + 4 * i, d, false));
      h.set(payload, 4 + 4 * dims.length);
      return h;
    };
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx(0x08, [2, 1, 1], Uint8Array.from([1, 2])));
    const lbl = new Uint8Array(8);
    new DataView(lbl.buffer).setInt32(4, 2147483647, false);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx(0x0c, [2], lbl));
    assert.throws(() => loadIdxFolder(dir, 'train'), (e: unknown) => e instanceof ParseError && /2147483647 at item 1/.test(e.message));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
