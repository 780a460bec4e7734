// One stray huge label must not size the learners' arrays (issue 17, item 4): `cil run` with a
// label of 2147483647 took 1.9 GB and ran out of memory. Now it is one line naming file and row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gaussianMixture } from '../../src/core/data/synthetic.js';
import { writeNpy } from '../../src/core/data/npy.js';
import { Rng } from '../../src/core/rng.js';
import { ParseError } from '../../src/core/errors.js';
import { main } from '../../src/cli/index.js';
import { readFeatureCache } from '../../src/continual/features.js';
import { readSplitFile } from '../../src/continual/images.js';
import { textOnly } from '../helpers/stdout.js';

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const e = process.stderr.write.bind(process.stderr), o = process.stdout.write.bind(process.stdout);
  let err = '';
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  process.stdout.write = textOnly();
  try { return { code: await main(argv), err }; } finally { process.stderr.write = e; process.stdout.write = o; }
}

test('cil run --features F --labels L with one label of 2147483647 is refused naming the file and row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cil-label-cap-'));
  try {
    const ds = gaussianMixture({ classes: 4, perClass: 10, dim: 8 }, new Rng(5));
    writeNpy(join(dir, 'f.npy'), ds.x, [ds.n, ds.d]);
    const y = Int32Array.from(ds.y);
    y[7] = 2147483647;
    writeNpy(join(dir, 'l.npy'), y, [ds.n]);
    const json = join(dir, 'out.json');
    const r = await run(['cil', 'run', '--features', join(dir, 'f.npy'), '--labels', join(dir, 'l.npy'), '--methods', 'simplecil', '--seeds', '1', '--json', json]);
    assert.equal(r.code, 2);
    assert.match(r.err, /l\.npy:0 \(data\): expected class indices 0\.\.C-1 with C at most 100000 .*2147483647 at row 7/);
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.equal(existsSync(json), false);
    // int64 labels beyond 2^31: the same refusal.
    const i64 = new BigInt64Array(ds.n);
    ds.y.forEach((v, i) => { i64[i] = BigInt(v); });
    i64[3] = 6_000_000_000n;
    let header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${ds.n},), }`;
    header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
    const bytes = new Uint8Array(10 + header.length + i64.byteLength);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    bytes.set(Buffer.from(header, 'latin1'), 10);
    bytes.set(new Uint8Array(i64.buffer), 10 + header.length);
    writeFileSync(join(dir, 'l64.npy'), bytes);
    assert.throws(() => readFeatureCache(join(dir, 'f.npy'), join(dir, 'l64.npy')), (e: unknown) => e instanceof ParseError && /6000000000 at row 3/.test((e as Error).message));
    assert.throws(() => readFeatureCache(join(dir, 'f.npy'), join(dir, 'l.npy')), (e: unknown) => e instanceof ParseError && e.field === 'data');
    // An empty feature cache is an error too.
    writeNpy(join(dir, 'empty.npy'), new Float32Array(0), [0, 8]);
    writeNpy(join(dir, 'empty-l.npy'), new Int32Array(0), [0]);
    assert.throws(() => readFeatureCache(join(dir, 'empty.npy'), join(dir, 'empty-l.npy')), (e: unknown) => e instanceof ParseError && e.field === 'shape');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a split file with a huge label is refused at its line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cil-split-cap-'));
  try {
    writeFileSync(join(dir, 'split.txt'), 'a.png 0\nb.png 1\nc.png 2147483647\n');
    assert.throws(() => readSplitFile(join(dir, 'split.txt')), (e: unknown) => e instanceof ParseError && e.line === 3 && e.field === 'label');
    writeFileSync(join(dir, 'ok.txt'), 'a.png 0\nb.png 99999\n');
    assert.equal(readSplitFile(join(dir, 'ok.txt')).classNames.length, 100000);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
