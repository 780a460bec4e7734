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
