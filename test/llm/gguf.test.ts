import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ParseError } from '../../src/core/errors.js';
import { buildTinyGguf, encodeGguf, kv, LlamaCppProvider, parseGgufHeader, readGgufHeader, renderPlain, tinyTokenize, writeTinyGguf, TOKEN_EOS_FOR_TESTS } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-gguf-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('GGUF writer and header reader round-trip metadata and the tensor table', () => {
  const meta = new Map([['general.architecture', kv.str('llama')], ['a.u32', kv.u32(7)], ['a.f32', kv.f32(0.5)], ['a.bool', kv.bool(true)], ['a.strs', kv.strs(['x', 'é', ''])], ['a.i32s', kv.i32s([-1, 2])]]);
  const t1 = new Float32Array([1, 2, 3, 4, 5, 6]);
  const bytes = encodeGguf(meta, [{ name: 'w', dims: [3, 2], data: t1 }, { name: 'b', dims: [5], data: new Float32Array(5) }]);
  const h = parseGgufHeader(bytes, 'mem.gguf');
  assert.equal(h.version, 3);
  assert.equal(h.metadata.get('a.u32'), 7);
  assert.equal(h.metadata.get('a.f32'), 0.5);
  assert.equal(h.metadata.get('a.bool'), true);
  assert.deepEqual(h.metadata.get('a.strs'), ['x', 'é', '']);
  assert.deepEqual(h.metadata.get('a.i32s'), [-1, 2]);
  assert.equal(h.metadata.get('general.alignment'), 32);
  assert.deepEqual(h.tensors.map((t) => [t.name, t.dims, t.offset]), [['w', [3, 2], 0], ['b', [5], 32]]);
  assert.equal(h.dataOffset % 32, 0);
  // The data really sits at dataOffset + offset.
  assert.equal(bytes.readFloatLE(h.dataOffset + 4 * 5), 6);
  assert.equal(bytes.length % 32, 0);
});

test('header reader caps claimed sizes against the file and reports offset and field', () => {
  const good = buildTinyGguf({ corpus: 'ab ba' }).bytes;
  // Truncations anywhere in the header or data fail with a ParseError, never a crash.
  for (const cut of [3, 10, 30, 200, 5000, good.length - 1]) {
    assert.throws(() => parseGgufHeader(good.subarray(0, cut), 'cut.gguf'), (e: unknown) => e instanceof ParseError && e.file === 'cut.gguf', `cut at ${cut}`);
  }
  // A huge tensor count is refused before any allocation.
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(1n << 60n, 8);
  assert.throws(() => parseGgufHeader(huge, 'huge.gguf'), (e: unknown) => e instanceof ParseError && e.offset === 8 && e.field === 'tensor_count');
  const badMagic = Buffer.from(good);
  badMagic.write('GGML', 0, 'latin1');
  assert.throws(() => parseGgufHeader(badMagic, 'magic.gguf'), /magic/);
});

test('header reader fuzz: random byte corruption yields a header or a ParseError', () => {
  const good = buildTinyGguf({ corpus: 'ab' }).bytes.subarray(0, 12000);
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(11999), fc.nat(255)), { minLength: 1, maxLength: 8 }), (edits) => {
    const b = Buffer.from(good);
    for (const [at, v] of edits) b[at] = v;
    try {
      parseGgufHeader(b, 'fuzz.gguf', b.length);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }), { numRuns: 300 });
});

test('tiny bigram model: vocabulary fits the embedding, llama.cpp loads it and greedy decoding follows the bigram argmax exactly', async () => {
  const path = join(dir, 'tiny.gguf');
  const m = writeTinyGguf(path);
  assert.ok(m.vocab.tokens.length <= m.embedding);
  assert.equal(m.embedding % 64, 0);
  const h = readGgufHeader(path);
  assert.equal(h.metadata.get('general.architecture'), 'llama');
  assert.equal(h.fileSize, m.bytes.length);
  const p = new LlamaCppProvider({ modelPath: path, threads: 1 });
  try {
    const messages = [{ role: 'user' as const, content: 'Tell me about the cat' }];
    const r = await p.complete({ messages, temperature: 0, maxTokens: 24 });
    assert.equal(r.error, undefined);
    // Oracle: start from the prompt's last token and follow argmax_j log P(j | i).
    const V = m.vocab.tokens.length;
    const ids = tinyTokenize(m.vocab, renderPlain(messages));
    let cur = ids[ids.length - 1]!;
    let want = '';
    for (let t = 0; t < 24; t++) {
      let best = 0;
      for (let j = 1; j < V; j++) if (m.logProbs![cur * V + j]! > m.logProbs![cur * V + best]!) best = j;
      if (best === TOKEN_EOS_FOR_TESTS) break;
      const tok = m.vocab.tokens[best]!;
      want += tok === '\u2581' ? ' ' : tok;
      cur = best;
    }
    assert.equal(r.text, want);
    // Seeded sampling repeats exactly; another seed gives another text.
    const s1 = await p.complete({ messages, temperature: 1, seed: 11, maxTokens: 40 });
    const s2 = await p.complete({ messages, temperature: 1, seed: 11, maxTokens: 40 });
    const s3 = await p.complete({ messages, temperature: 1, seed: 12, maxTokens: 40 });
    assert.equal(s1.text, s2.text);
    assert.notEqual(s1.text, s3.text);
    // A JSON-schema grammar makes the output parse.
    const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false };
    const j = await p.complete({ messages, temperature: 0.8, seed: 5, maxTokens: 30, jsonSchema: schema });
    assert.equal(typeof (JSON.parse(j.text) as { answer: number }).answer, 'number');
    // A stop string ends the output before it.
    const st = await p.complete({ messages, temperature: 0, maxTokens: 24, stop: ['the'] });
    assert.ok(!st.text.includes('the') && want.startsWith(st.text));
  } finally {
    await p.close();
  }
});

test('random-weight twin loads and generates', async () => {
  const path = join(dir, 'random.gguf');
  writeTinyGguf(path, { kind: 'random', seed: 3 });
  const p = new LlamaCppProvider({ modelPath: path, threads: 1 });
  try {
    const r = await p.complete({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 8 });
    assert.equal(r.error, undefined);
    assert.ok(r.usage && r.usage.promptTokens > 0);
  } finally {
    await p.close();
  }
});

test('configuration faults throw at construction; per-call faults come back as data', async () => {
  const tiny = join(dir, 'tiny-faults.gguf');
  writeTinyGguf(tiny);
  assert.throws(() => new LlamaCppProvider({ modelPath: join(dir, 'missing.gguf'), threads: 1 }), /not found/);
  assert.throws(() => new LlamaCppProvider({ modelPath: tiny, threads: 0 }), /threads/);
  assert.throws(() => new LlamaCppProvider({ modelPath: tiny, thread: 1 } as never), /known: modelPath/);
  const bad = join(dir, 'bad.gguf');
  writeFileSync(bad, 'GGUF not really');
  assert.throws(() => new LlamaCppProvider({ modelPath: bad, threads: 1 }), (e: unknown) => e instanceof ParseError && e.file.endsWith('bad.gguf'));
  const p = new LlamaCppProvider({ modelPath: tiny, threads: 1 });
  try {
    const ac = new AbortController();
    ac.abort();
    const a = await p.complete({ messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal });
    assert.equal(a.error?.kind, 'aborted');
    const ok = await p.complete({ messages: [{ role: 'user', content: 'x' }], maxTokens: 4 });
    assert.equal(ok.error, undefined, 'the provider still works after per-call errors');
  } finally {
    await p.close();
  }
});

test('a GGUF carrying a chat template is prompted through it (auto), deterministically', async () => {
  const path = join(dir, 'templated.gguf');
  const tpl = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
  writeTinyGguf(path, { chatTemplate: tpl });
  assert.equal(readGgufHeader(path).metadata.get('tokenizer.chat_template'), tpl);
  const p = new LlamaCppProvider({ modelPath: path, threads: 1 });
  const plain = new LlamaCppProvider({ modelPath: path, threads: 1, chatTemplate: 'plain' });
  try {
    assert.match(await p.fingerprint(), /"template":"model"/);
    assert.match(await plain.fingerprint(), /"template":"plain-v1"/);
    const req = { messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Tell me about the cat' }], temperature: 0.8, seed: 4, maxTokens: 20 };
    const [a, b] = [await p.complete(req), await p.complete(req)];
    assert.equal(a.error, undefined);
    assert.equal(a.text, b.text);
    assert.deepEqual(a.usage, b.usage, 'usage is per call, not cumulative');
    const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false };
    const j = await p.complete({ ...req, jsonSchema: schema });
    assert.equal(typeof (JSON.parse(j.text) as { answer: number }).answer, 'number');
  } finally {
    await p.close();
    await plain.close();
  }
});

test('the file reader grows its window for long headers and stops at maxHeaderBytes', () => {
  // A 6 MB string pushes the header past the first 4 MiB window.
  const big = encodeGguf(new Map([['general.architecture', kv.str('llama')], ['x.blob', kv.str('a'.repeat(6_000_000))]]), [{ name: 't', dims: [2], data: new Float32Array(2) }]);
  const path = join(dir, 'long-header.gguf');
  writeFileSync(path, big);
  const h = readGgufHeader(path, { maxStringBytes: 8 << 20 });
  assert.equal((h.metadata.get('x.blob') as string).length, 6_000_000);
  assert.throws(() => readGgufHeader(path, { maxStringBytes: 8 << 20, maxHeaderBytes: 1 << 20 }), (e: unknown) => e instanceof ParseError && e.field === 'header');
});
