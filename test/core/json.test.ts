import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonText } from '../../src/core/json.js';
import { ParseError } from '../../src/core/errors.js';

function lineOfError(text: string): number {
  try {
    parseJsonText(text, 'x.json');
  } catch (e) {
    assert.ok(e instanceof ParseError);
    assert.equal(e.file, 'x.json');
    return e.line;
  }
  assert.fail('parsed');
}

test('JSON syntax errors name the line of the fault, with and without a V8 position', () => {
  // "Unexpected token" carries no position in V8's message; the others do.
  assert.equal(lineOfError('{\n  "a": 1,\n  "b": 2,\n  "c": }\n'), 4);
  assert.equal(lineOfError('{\n  "a": 1,\n  "b" 2\n}'), 3);
  assert.equal(lineOfError('[1,\n2,\n\n,3]'), 4);
  assert.equal(lineOfError('{"a":\n\n\ntrue,}'), 4);
  // Cut short: the fault is at the end.
  assert.equal(lineOfError('{\n"a": [1,\n2'), 3);
});

test('valid JSON parses, a BOM is accepted, and the message keeps only the fault', () => {
  assert.deepEqual(parseJsonText('\ufeff{"a": [1, 2]}', 'b.json'), { a: [1, 2] });
  assert.throws(() => parseJsonText('{\n"a": }', 'c.json'), (e: Error) => /^c\.json:2 \(json\): expected JSON, found "Unexpected token '\}'"$/.test(e.message));
});

test('the fault scanner agrees with V8 wherever V8 gives a position, and accepts what V8 accepts', async () => {
  const fc = (await import('fast-check')).default;
  const { jsonFaultOffset } = await import('../../src/core/json.js');
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.constantFrom('', ',', '}', ']', ':', '"', 'x', '1', '{', '['), (v, k, ins) => {
    const text = JSON.stringify(v, null, 1);
    assert.equal(jsonFaultOffset(text), -1);
    const at = k % (text.length + 1);
    const bad = text.slice(0, at) + ins + text.slice(at + (ins === '' ? 1 : 0));
    let pos: number | null = null;
    let ok = true;
    try { JSON.parse(bad); } catch (e) { ok = false; const m = /position (\d+)/.exec((e as Error).message); if (m) pos = Number(m[1]); }
    if (ok) assert.equal(jsonFaultOffset(bad), -1, bad);
    else {
      assert.notEqual(jsonFaultOffset(bad), -1, bad);
      if (pos !== null) assert.equal(jsonFaultOffset(bad), pos, bad);
    }
  }), { numRuns: 2000 });
});
