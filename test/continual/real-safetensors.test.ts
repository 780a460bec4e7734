import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { SafeTensors, encodeSafetensors, f16ToF32, f32ToBf16, f32ToF16, writeSafetensors } from '../../src/continual/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-st-'));

/** A safetensors file assembled independently of the writer: header JSON + raw bytes. */
function handMade(header: Record<string, unknown>, data: Uint8Array, claimedLen?: number): Uint8Array {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(claimedLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('reads a hand-assembled F32 file, zero-copy, with metadata', () => {
  const vals = new Float32Array([1, -2.5, 3.25, 4, 5, 6]);
  const bytes = handMade({ __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] } }, new Uint8Array(vals.buffer));
  // Pad-free header: the view may be unaligned and then is a copy; values must match either way.
  const st = SafeTensors.parse(bytes, 'hand.safetensors');
  assert.deepEqual(st.names(), ['w']);
  assert.deepEqual(st.get('w').shape, [2, 3]);
  assert.deepEqual([...st.float32('w')], [...vals]);
  assert.equal(st.metadata.format, 'pt');
  assert.equal(st.get('w').bytes.buffer, bytes.buffer, 'bytes are a view into the file buffer');
});

test('writer output is 8-byte aligned and its F32 values are views into the file bytes', () => {
  const rng = new Rng(1);
  const a = rng.fillNormal(new Float32Array(12)), b = rng.fillNormal(new Float32Array(5));
  const bytes = encodeSafetensors({ a: { shape: [3, 4], data: a }, b: { shape: [5], data: b } }, { heads: '3' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const st = SafeTensors.parse(bytes);
  const ra = st.get('a').raw;
  assert.ok(ra instanceof Float32Array);
  assert.equal(ra.buffer, bytes.buffer, 'aligned F32 data is not copied');
  assert.deepEqual([...st.float32('a')], [...a]);
  assert.deepEqual([...st.float32('b')], [...b]);
  assert.equal(st.metadata.heads, '3');
});

test('F16 and BF16 conversions match the IEEE bit patterns', () => {
  assert.equal(f32ToF16(1), 0x3c00);
  assert.equal(f32ToF16(-2), 0xc000);
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(1e6), 0x7c00, 'overflow to +Inf');
  assert.equal(f32ToF16(2 ** -24), 0x0001, 'smallest subnormal');
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00, 'tie rounds to even (down)');
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02, 'tie rounds to even (up)');
  assert.equal(f16ToF32(0x3555), 0.333251953125);
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)));
  // bf16 is the top half of the float32 bits when no rounding is needed.
  const u = new Uint32Array(new Float32Array([3.140625]).buffer);
  assert.equal(f32ToBf16(3.140625), u[0]! >>> 16);
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80, 'tie to even');
});

test('F16/BF16 round trip within their precision; file read back from disk', () => {
  const rng = new Rng(2);
  const x = rng.fillNormal(new Float32Array(257));
  const p = join(dir, 'mixed.safetensors');
  writeSafetensors(p, new Map([
    ['h', { shape: [257], data: x, dtype: 'F16' as const }],
    ['b', { shape: [257], data: x, dtype: 'BF16' as const }],
    ['f', { shape: [257], data: x }],
  ]));
  const st = SafeTensors.read(p);
  assert.equal(st.get('h').dtype, 'F16');
  const h = st.float32('h'), b = st.float32('b'), f = st.float32('f');
  for (let i = 0; i < x.length; i++) {
    assert.ok(Math.abs(h[i]! - x[i]!) <= Math.abs(x[i]!) * 2 ** -11 + 2 ** -25, `f16 ${i}`);
    assert.ok(Math.abs(b[i]! - x[i]!) <= Math.abs(x[i]!) * 2 ** -8, `bf16 ${i}`);
    assert.equal(f[i], x[i]);
  }
});

function parseErr(bytes: Uint8Array, field: RegExp, offset?: number): void {
  assert.throws(() => SafeTensors.parse(bytes, 'bad.safetensors'), (e: unknown) => {
    assert.ok(e instanceof ParseError, String(e));
    assert.match(e.message, /^bad\.safetensors@\d+/);
    assert.match(e.field ?? '', field);
    if (offset !== undefined) assert.equal(e.offset, offset);
    return true;
  });
}

test('header lies are ParseErrors naming the file, offset and field', () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const ok = { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } };
  parseErr(new Uint8Array(4), /header_size/, 0);
  parseErr(handMade(ok, data, 10_000), /header_size/, 0);
  parseErr(handMade(ok, data, 2 ** 40), /header_size/, 0);
  parseErr(handMade({ w: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, data), /w\.data_offsets/);
  parseErr(handMade({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 12] } }, data), /w\.data_offsets/);
  parseErr(handMade({ w: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data), /w\.dtype/);
  parseErr(handMade({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 16] } }, data), /w\.shape/);
  parseErr(handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data), /b\.data_offsets/);
  const bad = handMade(ok, data); bad[8] = 0x7b; bad[9] = 0x7b;
  parseErr(bad, /header/, 8);
  // A file truncated after writing: the header's sizes are checked against the real size.
  const p = join(dir, 'trunc.safetensors');
  writeSafetensors(p, { w: { shape: [100], data: new Float32Array(100) } });
  const full = readFileSync(p);
  writeFileSync(p, full.subarray(0, full.length - 4));
  assert.throws(() => SafeTensors.read(p), (e: unknown) => e instanceof ParseError && e.message.includes('trunc.safetensors') && e.field === 'w.data_offsets');
});

test('get() on a missing name lists what the file has', () => {
  const st = SafeTensors.parse(encodeSafetensors({ a: { shape: [1], data: new Float32Array(1) } }), 'x.safetensors');
  assert.throws(() => st.get('b'), /x\.safetensors: no tensor "b" \(has 1: a\)/);
});
