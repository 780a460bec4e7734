// Inputs the fuzzer found that once made a reader throw something other than a typed error, kept
// so that they stay fixed. Each case: the bytes, the reader, and the field the error must name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/core/errors.js';
import { SafeTensors } from '../../src/continual/safetensors.js';

function safetensorsWithHeader(header: string): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + h.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

test('safetensors: a tensor entry without data_offsets (or shape) is a ParseError, not a TypeError', () => {
  // Found by the fuzzer: JSON.stringify(undefined) gave an undefined "found" to ParseError.
  const cases: [string, string][] = [
    ['{"w":{"dtype":"F32","shape":[1]}}', 'w.data_offsets'],
    ['{"w":{"dtype":"F32","data_offsets":[0,4]}}', 'w.shape'],
  ];
  for (const [header, field] of cases) {
    assert.throws(() => SafeTensors.parse(safetensorsWithHeader(header), 'reg.safetensors'), (e: unknown) => {
      assert.ok(e instanceof ParseError, `ParseError, got ${String(e)}`);
      assert.equal(e.file, 'reg.safetensors');
      assert.equal(e.field, field);
      assert.equal(e.found, 'undefined');
      return true;
    });
  }
});

test('headers that claim far more than the file holds are refused before anything is allocated', async () => {
  const { encodeNpy, parseNpy } = await import('../../src/core/data/npy.js');
  const { parseIdx } = await import('../../src/core/data/idx.js');
  const { encodeGguf, parseGgufHeader, kv } = await import('../../src/llm/gguf.js');
  const { encodeIdx } = await import('../fuzz/targets.js');
  const lies: [string, () => unknown][] = [];
  // NPY: a shape of 10^11 floats in a 200-byte file.
  const npy = Buffer.from(encodeNpy(new Float32Array(4), [4]));
  lies.push(['npy', () => parseNpy(Buffer.from(npy.toString('latin1').replace("'shape': (4,)", "'shape': (99999999999,)"), 'latin1'), 'lie.npy')]);
  // IDX: three dimensions of 2^32 - 1.
  const idx = encodeIdx(0x08, [1, 1, 1], [7]);
  new DataView(idx.buffer).setUint32(4, 0xffffffff); new DataView(idx.buffer).setUint32(8, 0xffffffff); new DataView(idx.buffer).setUint32(12, 0xffffffff);
  lies.push(['idx', () => parseIdx(idx, 'lie.idx')]);
  // safetensors: a header length of 2^63 and a tensor of 2^40 floats.
  const st = new Uint8Array(64); new DataView(st.buffer).setBigUint64(0, 1n << 63n, true);
  lies.push(['safetensors size', () => SafeTensors.parse(st, 'lie.safetensors')]);
  lies.push(['safetensors tensor', () => SafeTensors.parse(safetensorsWithHeader(`{"w":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}`), 'lie.safetensors')]);
  // GGUF: an array claiming 2^62 items, a string claiming 2^40 bytes.
  const gg = encodeGguf(new Map([['k', kv.i32s([1, 2])]]), []);
  const at = gg.indexOf(Buffer.from('k')) + 1 + 4 + 4;
  const g1 = Buffer.from(gg); g1.writeBigUInt64LE(1n << 62n, at);
  lies.push(['gguf array', () => parseGgufHeader(g1, 'lie.gguf')]);
  const g2 = Buffer.from(gg); g2.writeBigUInt64LE(1n << 40n, 24);
  lies.push(['gguf string', () => parseGgufHeader(g2, 'lie.gguf')]);
  for (const [name, f] of lies) {
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(f, (e: unknown) => e instanceof ParseError && /^lie\./.test(e.file), name);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, `${name}: no large allocation`);
  }
});

test('safetensors: a tensor named "__proto__" is written and read back like any other', async () => {
  // Found by the round-trip property: the writer's plain-object header turned it into a prototype
  // change and the tensor vanished from the file.
  const { encodeSafetensors } = await import('../../src/continual/safetensors.js');
  const tensors = new Map([['__proto__', { shape: [2], data: Float32Array.from([1, 2]) }], ['w', { shape: [1], data: Float32Array.from([3]) }]]);
  const st = SafeTensors.parse(encodeSafetensors(tensors), 'proto.safetensors');
  assert.deepEqual(st.names().sort(), ['__proto__', 'w']);
  assert.deepEqual([...st.float32('__proto__')], [1, 2]);
});
