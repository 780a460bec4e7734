// Issue 17: GGUF files that are well-formed byte for byte but carry hyperparameters llama.cpp
// GGML_ASSERTs on (aborting the process, `llm serve` included) are refused by our reader first,
// naming the field; unknown tensor types are refused; a model that fails to load names its file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { ParseError } from '../../src/core/errors.js';
import { main } from '../../src/cli/index.js';
import { buildTinyGguf, checkModelHyperparameters, encodeGguf, kv, LlamaCppProvider, modelProblems, parseGgufHeader, GgufType } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-hyper-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const tiny = buildTinyGguf({ corpus: 'ab ba' });
const header = parseGgufHeader(tiny.bytes, 'tiny.gguf');

/** The tiny model with the u32 metadata value `key` replaced (same bytes otherwise). */
function withU32(key: string, value: number): Buffer {
  const at = header.metadataOffsets.get(key);
  assert.ok(at !== undefined, key);
  const b = Buffer.from(tiny.bytes);
  assert.equal(b.readUInt32LE(at), GgufType.UINT32, `${key} is a u32`);
  b.writeUInt32LE(value >>> 0, at + 4);
  return b;
}

/** Offset of the u32 type field of tensor `name` in the tensor table. */
function tensorTypeOffset(bytes: Buffer, name: string, nDims: number): number {
  const nameBytes = Buffer.from(name, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(nameBytes.length));
  const at = bytes.indexOf(Buffer.concat([len, nameBytes]));
  assert.ok(at > 0, name);
  return at + 8 + nameBytes.length + 4 + 8 * nDims;
}

const refused = (bytes: Buffer, field: string, file = 'bad.gguf'): void => {
  const h = parseGgufHeader(bytes, file);
  assert.ok(modelProblems(h).some((p) => p.field === field), `${field}: ${JSON.stringify(modelProblems(h))}`);
  assert.throws(() => checkModelHyperparameters(h, file), (e: unknown) => e instanceof ParseError && e.file === file && typeof e.field === 'string', field);
};

test('the tiny models pass the hyperparameter checks', () => {
  assert.deepEqual(modelProblems(header), []);
  assert.deepEqual(modelProblems(parseGgufHeader(buildTinyGguf({ kind: 'random' }).bytes)), []);
});

test('hyperparameters llama.cpp asserts on are refused, naming the field', () => {
  const E = tiny.embedding, H = E / 64;
  refused(withU32('llama.attention.head_count', 0), 'llama.attention.head_count');
  refused(withU32('llama.block_count', 1000), 'llama.block_count');
  refused(withU32('llama.block_count', 2), 'llama.block_count'); // one block of tensors present
  refused(withU32('llama.block_count', 0), 'llama.block_count');
  refused(withU32('llama.attention.head_count', E + 1), 'llama.attention.head_count');
  refused(withU32('llama.attention.head_count', 7), 'llama.attention.head_count'); // does not divide E
  refused(withU32('llama.attention.head_count_kv', 0), 'llama.attention.head_count_kv');
  refused(withU32('llama.attention.head_count_kv', H + 1), 'llama.attention.head_count_kv');
  refused(withU32('llama.context_length', 0), 'llama.context_length');
  refused(withU32('llama.context_length', 0xffffffff), 'llama.context_length');
  refused(withU32('llama.embedding_length', 0), 'llama.embedding_length');
  refused(withU32('llama.embedding_length', E + 64), 'token_embd.weight'); // the embedding tensor says otherwise
  refused(withU32('llama.vocab_size', 5), 'llama.vocab_size');
  refused(withU32('llama.rope.dimension_count', 4096), 'llama.rope.dimension_count');
  refused(withU32('tokenizer.ggml.bos_token_id', 1_000_000), 'tokenizer.ggml.bos_token_id');
  refused(withU32('tokenizer.ggml.eos_token_id', tiny.vocab.tokens.length), 'tokenizer.ggml.eos_token_id');
  // The ParseError places the field at its byte offset in the file.
  const h = parseGgufHeader(withU32('llama.attention.head_count', 0), 'x.gguf');
  assert.throws(() => checkModelHyperparameters(h, 'x.gguf'), (e: unknown) => e instanceof ParseError && e.offset === header.metadataOffsets.get('llama.attention.head_count') && /x\.gguf@\d+ \(llama\.attention\.head_count\)/.test(e.message));
  // Missing required keys and the wrong value type are named too.
  const noHeads = new Map([['general.architecture', kv.str('llama')], ['llama.block_count', kv.u32(1)], ['llama.context_length', kv.u32(64)], ['llama.embedding_length', kv.u32(64)], ['llama.attention.head_count', kv.str('eight')]]);
  const t = { name: 'blk.0.attn_norm.weight', dims: [64], data: new Float32Array(64) };
  assert.ok(modelProblems(parseGgufHeader(encodeGguf(noHeads, [t]))).some((p) => p.field === 'llama.attention.head_count'));
  noHeads.delete('llama.attention.head_count');
  assert.ok(modelProblems(parseGgufHeader(encodeGguf(noHeads, [t]))).some((p) => p.field === 'llama.attention.head_count' && /present/.test(p.expected)));
  // A recurrent architecture legitimately has no heads: only the general checks apply.
  const mamba = new Map([['general.architecture', kv.str('mamba')], ['mamba.block_count', kv.u32(1)], ['mamba.attention.head_count', kv.u32(0)], ['mamba.context_length', kv.u32(1 << 20)]]);
  assert.deepEqual(modelProblems(parseGgufHeader(encodeGguf(mamba, [{ name: 'blk.0.ssm_in.weight', dims: [4], data: new Float32Array(4) }]))), []);
});

test('the provider refuses such a model at construction, before llama.cpp sees it', () => {
  const path = join(dir, 'heads0.gguf');
  writeFileSync(path, withU32('llama.attention.head_count', 0));
  assert.throws(() => new LlamaCppProvider({ modelPath: path, threads: 1 }), (e: unknown) => e instanceof ParseError && e.file === resolve(path) && e.field === 'llama.attention.head_count');
  const blocks = join(dir, 'blocks1000.gguf');
  writeFileSync(blocks, withU32('llama.block_count', 1000));
  assert.throws(() => new LlamaCppProvider({ modelPath: blocks, threads: 1 }), (e: unknown) => e instanceof ParseError && e.field === 'llama.block_count');
});

test('unknown tensor types (999) and blocks that do not fit the type are refused by the reader; llm inspect exits 2', async () => {
  const at = tensorTypeOffset(tiny.bytes, 'output_norm.weight', 1);
  assert.equal(tiny.bytes.readUInt32LE(at), 0, 'f32 type field found');
  const b = Buffer.from(tiny.bytes);
  b.writeUInt32LE(999, at);
  assert.throws(() => parseGgufHeader(b, 't999.gguf'), (e: unknown) => e instanceof ParseError && e.field === 'output_norm.weight.type' && e.offset === at);
  for (const retired of [4, 5, 31, 36]) {
    b.writeUInt32LE(retired, at);
    assert.throws(() => parseGgufHeader(b, 'old.gguf'), (e: unknown) => e instanceof ParseError && e.field === 'output_norm.weight.type', `type ${retired}`);
  }
  // Q4_0 packs 32 elements per block: a first dimension of 5 cannot be that type.
  const q = encodeGguf(new Map(), [{ name: 'w', dims: [5], data: new Float32Array(5) }]);
  const qb = Buffer.from(q);
  qb.writeUInt32LE(2, tensorTypeOffset(qb, 'w', 1));
  assert.throws(() => parseGgufHeader(qb, 'q.gguf'), (e: unknown) => e instanceof ParseError && e.field === 'w.dims[0]');
  // Through the CLI: one line, exit 2, and nothing written.
  const path = join(dir, 't999.gguf');
  b.writeUInt32LE(999, at);
  writeFileSync(path, b);
  const errs: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => { errs.push(String(s)); return true; }) as typeof process.stderr.write;
  let code: number;
  let codeHeads: number;
  const heads = join(dir, 'inspect-heads0.gguf');
  writeFileSync(heads, withU32('llama.attention.head_count', 0));
  try {
    code = await main(['llm', 'inspect', path, '--json', join(dir, 'inspect.json')]);
    codeHeads = await main(['llm', 'inspect', heads, '--json', join(dir, 'inspect-heads.json')]);
  } finally {
    process.stderr.write = orig;
    process.exitCode = undefined;
  }
  assert.equal(code, 2);
  assert.ok(errs.some((l) => /t999\.gguf@\d+ \(output_norm\.weight\.type\): expected a ggml tensor type known to llama\.cpp, found "999"/.test(l)), errs.join(''));
  // A well-formed file with a bad hyperparameter is listed, flagged, and exits 2.
  assert.equal(codeHeads, 2);
  assert.ok(errs.some((l) => /inspect-heads0\.gguf \(llama\.attention\.head_count\)/.test(l)));
  const rec = JSON.parse(readFileSync(join(dir, 'inspect-heads.json'), 'utf8')) as { problems: { field: string }[] };
  assert.deepEqual(rec.problems.map((p) => p.field), ['llama.attention.head_count']);
});

test('a model llama.cpp fails to load names the file', { timeout: 60_000 }, async () => {
  // Same length rename: our checks pass (block 0 has tensors), llama.cpp misses ffn_down.
  const b = Buffer.from(tiny.bytes);
  const at = b.indexOf(Buffer.from('blk.0.ffn_down.weight'));
  b.write('blk.0.ffn_dowX.weight', at, 'latin1');
  const path = join(dir, 'missing-tensor.gguf');
  writeFileSync(path, b);
  const p = new LlamaCppProvider({ modelPath: path, threads: 1 });
  try {
    const r = await p.complete({ messages: [{ role: 'user', content: 'x' }], maxTokens: 2 });
    assert.equal(r.error?.kind, 'internal');
    assert.ok(r.error!.message.includes(resolve(path)), r.error!.message);
    await assert.rejects(p.fingerprint(), (e: Error) => e.name === 'InputError' && e.message.includes(resolve(path)));
  } finally {
    await p.close();
  }
});

// Property: any value written into a semantic field of a valid file is either refused by the
// reader, naming a field, or accepted; and what is accepted llama.cpp loads without aborting.
// The load runs in a child process (an abort there is exit 134, not the end of the test run).
test('property: semantic fields take any u32; refused with a field, or accepted and loaded without an abort', { timeout: 120_000 }, () => {
  const fields = ['llama.attention.head_count', 'llama.attention.head_count_kv', 'llama.block_count', 'llama.context_length', 'llama.embedding_length',
    'llama.feed_forward_length', 'llama.rope.dimension_count', 'llama.vocab_size', 'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id'];
  const interesting = fc.oneof(fc.constantFrom(0, 1, 2, 3, 6, 7, 63, 64, 65, 128, 384, 1000, 0x7fffffff, 0xffffffff), fc.nat());
  const accepted: string[] = [];
  const what: string[] = [];
  fc.assert(fc.property(fc.constantFrom(...fields), interesting, (field, value) => {
    const b = withU32(field, value);
    const h = parseGgufHeader(b, 'p.gguf');
    const problems = modelProblems(h);
    if (problems.length === 0) {
      if (accepted.length < 8) {
        const path = join(dir, `accepted-${accepted.length}.gguf`);
        writeFileSync(path, b);
        accepted.push(path);
        what.push(`${field}=${value}`);
      }
    } else {
      for (const p of problems) assert.ok(p.field.length > 0 && p.expected.length > 0);
    }
  }), { numRuns: 200, seed: 17 });
  assert.ok(accepted.length > 0, 'some mutations are harmless');
  // Load each accepted file with llama.cpp in one child; it must exit 0 (no GGML_ASSERT abort).
  const entry = pathToFileURL(resolve('node_modules/node-llama-cpp/dist/index.js')).href;
  const code = `const { getLlama, LlamaLogLevel } = await import(${JSON.stringify(entry)});
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.disabled, progressLogs: false });
for (const p of process.argv.slice(2)) {
  try { const m = await llama.loadModel({ modelPath: p }); const c = await m.createContext({ contextSize: 64, threads: 1 }); await c.dispose(); await m.dispose(); console.log('loaded', p); }
  catch (e) { console.log('refused', p, e.message); }
}
await llama.dispose();`;
  const script = join(dir, 'load.mjs');
  writeFileSync(script, code);
  const r = spawnSync(process.execPath, [script, ...accepted], { encoding: 'utf8', timeout: 90_000 });
  const done = r.stdout.trim().split('\n').filter(Boolean).length;
  assert.equal(r.signal, null, `llama.cpp aborted on ${what[done]}: ${r.stderr.slice(-300)}`);
  assert.equal(r.status, 0, `${r.stdout.slice(-500)}\n${r.stderr.slice(-1500)}`);
  assert.equal(r.stdout.trim().split('\n').length, accepted.length);
});
