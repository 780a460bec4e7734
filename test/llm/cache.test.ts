import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { cacheKey, canonicalJson, ResponseCache, type CompletionRequest } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-cache-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const base: CompletionRequest = {
  messages: [{ role: 'user', content: 'How many words?' }],
  temperature: 0.7, topP: 0.9, topK: 40, maxTokens: 32, seed: 5, stop: ['\n'],
  jsonSchema: { type: 'object', properties: { answer: { type: 'integer' } } },
};
const parts = { providerId: 'gguf:/m.gguf', fingerprint: 'sha', repeatIndex: 0 };

test('canonical JSON sorts keys at every level', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  assert.equal(cacheKey(base, parts), cacheKey({ ...base, jsonSchema: { properties: { answer: { type: 'integer' } }, type: 'object' } }, { ...parts }));
});

test('changing any sampling field, the seed, the repeat index, the model or the messages misses the cache', () => {
  const k0 = cacheKey(base, parts);
  const variants = fc.oneof(
    fc.double({ min: 0, max: 2, noNaN: true }).filter((t) => t !== base.temperature).map((temperature) => ({ req: { ...base, temperature }, parts })),
    fc.double({ min: 0, max: 1, noNaN: true }).filter((t) => t !== base.topP).map((topP) => ({ req: { ...base, topP }, parts })),
    fc.integer({ min: 1, max: 100 }).filter((t) => t !== base.topK).map((topK) => ({ req: { ...base, topK }, parts })),
    fc.integer({ min: 1, max: 4096 }).filter((t) => t !== base.maxTokens).map((maxTokens) => ({ req: { ...base, maxTokens }, parts })),
    fc.nat().filter((s) => s !== base.seed).map((seed) => ({ req: { ...base, seed }, parts })),
    fc.array(fc.string(), { maxLength: 3 }).filter((s) => JSON.stringify(s) !== JSON.stringify(base.stop)).map((stop) => ({ req: { ...base, stop }, parts })),
    fc.string().filter((c) => c !== 'How many words?').map((content) => ({ req: { ...base, messages: [{ role: 'user' as const, content }] }, parts })),
    fc.constantFrom('system' as const, 'assistant' as const).map((role) => ({ req: { ...base, messages: [{ role, content: 'How many words?' }] }, parts })),
    fc.nat({ max: 1000 }).filter((r) => r !== 0).map((repeatIndex) => ({ req: base, parts: { ...parts, repeatIndex } })),
    fc.string().filter((f) => f !== 'sha').map((fingerprint) => ({ req: base, parts: { ...parts, fingerprint } })),
    fc.string().filter((p) => p !== 'gguf:/m.gguf').map((providerId) => ({ req: base, parts: { ...parts, providerId } })),
    fc.constant({ req: { ...base, jsonSchema: undefined }, parts }),
    fc.constant({ req: { ...base, seed: undefined }, parts }),
  );
  fc.assert(fc.property(variants, (v) => cacheKey(v.req, v.parts) !== k0), { numRuns: 400 });
});

test('the JSONL cache persists, never caches errors, and repairs a torn last line', () => {
  const path = join(dir, 'c.jsonl');
  const c = new ResponseCache(path);
  c.put('k1', { text: 'one', latencyMs: 3, usage: { promptTokens: 1, completionTokens: 2 } });
  c.put('k2', { text: '', error: { kind: 'timeout', message: 'slow' }, latencyMs: 9 });
  c.put('k1', { text: 'again', latencyMs: 1 });
  c.close();
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 1, 'one line: no error entry, no duplicate');
  // A killed writer leaves half a line behind.
  appendFileSync(path, '{"key":"k3","value":{"te');
  const c2 = new ResponseCache(path);
  assert.equal(c2.repaired, 1);
  assert.equal(c2.get('k1')?.text, 'one');
  assert.equal(c2.get('k2'), undefined);
  c2.put('k3', { text: 'three', latencyMs: 1 });
  c2.close();
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 2);
  for (const l of lines) JSON.parse(l);
  const c3 = new ResponseCache(path);
  assert.equal(c3.size, 2);
  c3.close();
  // A corrupt line in the middle is a ParseError naming the line.
  writeFileSync(join(dir, 'bad.jsonl'), '{"key":"a","value":{"text":"x","latencyMs":1}}\nnot json\n');
  assert.throws(() => new ResponseCache(join(dir, 'bad.jsonl')), /bad\.jsonl:2/);
});
