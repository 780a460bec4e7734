// Issue 17, through the CLI: bad sizes and sampling values, environment faults of `llm serve` and
// runs in which nothing succeeded are one line on stderr and a non-zero exit, never a hang or a stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { buildTinyGguf, parseGgufHeader, serveProvider, writeTinyGguf, EchoProvider } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-cli-limits-'));
const model = join(dir, 'tiny.gguf');
writeTinyGguf(model);
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI with stderr captured. */
async function run(args: string[]): Promise<{ code: number; err: string }> {
  // Only stderr: the test runner reports through stdout.
  const err: string[] = [];
  const e = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, err: err.join('') };
  } finally {
    process.stderr.write = e;
    process.exitCode = undefined;
  }
}

const oneLine = (s: string): void => {
  const lines = s.trim().split('\n');
  assert.equal(lines.length, 1, s);
  assert.match(lines[0]!, /^perennial: /);
  assert.doesNotMatch(s, /\n\s+at /, 'no stack trace');
};

test('llm complete: --max-tokens 0 or -1, --temperature 5, --top-p 0 are refused at once', { timeout: 30_000 }, async () => {
  for (const [flag, v, name] of [['--max-tokens', '0', /--max-tokens/], ['--max-tokens', '-1', /--max-tokens/], ['--temperature', '5', /--temperature must be in \[0, 2\]/], ['--top-p', '0', /--top-p must be in \(0, 1\]/]] as const) {
    const r = await run(['llm', 'complete', '--model', `gguf:${model}`, '--prompt', 'hi', flag, v]);
    assert.equal(r.code, 2, `${flag} ${v}`);
    oneLine(r.err);
    assert.match(r.err, name);
  }
  // Within range it answers (and 1 token is a valid limit).
  const ok = await run(['llm', 'complete', '--model', `gguf:${model}`, '--prompt', 'hi', '--max-tokens', '1']);
  assert.equal(ok.code, 0, ok.err);
});

test('llm selfknow: --temperature and --top-p are range-checked', async () => {
  const r = await run(['llm', 'selfknow', '--model', 'echo:numbers', '--temperature', '-1', '--items', '1', '--repeats', '1']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--temperature/);
  const p = await run(['llm', 'selfknow', '--model', 'echo:numbers', '--top-p', '1.5', '--items', '1', '--repeats', '1']);
  assert.equal(p.code, 2);
  assert.match(p.err, /--top-p/);
});

test('llm make-tiny: --context-length past the cap is one line and nothing is written', async () => {
  for (const v of ['99999999999', '0', '4294967296']) {
    const out = join(dir, `ctx-${v}.gguf`);
    const r = await run(['llm', 'make-tiny', '--out', out, '--context-length', v]);
    assert.equal(r.code, 2, v);
    oneLine(r.err);
    assert.match(r.err, /context length must be an integer in \[16, 16777216\]/);
    assert.equal(existsSync(out), false);
  }
});

test('llm selfknow: a run in which every request failed exits 1 (the record is still written)', { timeout: 60_000 }, async () => {
  // A port that was just closed: every request is a refused connection.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const json = join(dir, 'all-failed.json');
  const r = await run(['llm', 'selfknow', '--model', `openai:http://127.0.0.1:${port}/v1#m`, '--tasks', 'word_count', '--items', '2', '--repeats', '1', '--retries', '0', '--no-cache', '--json', json]);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /every one of the 2 runs failed/);
  assert.ok(existsSync(json));
  // A run that succeeds at all still exits 0.
  const ok = await run(['llm', 'selfknow', '--model', 'echo:numbers', '--tasks', 'word_count', '--items', '2', '--repeats', '1', '--no-cache']);
  assert.equal(ok.code, 0, ok.err);
});

test('llm serve: port in use, --port 99999, a host not on this machine and a model llama.cpp would abort on are one line, exit 2', { timeout: 60_000 }, async () => {
  const busy = await serveProvider(new EchoProvider('numbers'));
  try {
    const inUse = await run(['llm', 'serve', '--model', `gguf:${model}`, '--port', String(busy.port)]);
    assert.equal(inUse.code, 2);
    oneLine(inUse.err);
    assert.match(inUse.err, /already in use/);
  } finally {
    await busy.close();
  }
  const bad = await run(['llm', 'serve', '--model', `gguf:${model}`, '--port', '99999']);
  assert.equal(bad.code, 2);
  oneLine(bad.err);
  assert.match(bad.err, /--port must be in \[0, 65535\], got 99999/);
  const far = await run(['llm', 'serve', '--model', 'echo:numbers', '--port', '0', '--host', '203.0.113.7']);
  assert.equal(far.code, 2);
  oneLine(far.err);
  assert.match(far.err, /203\.0\.113\.7 is not an address of this machine/);
  // head_count = 0: llama.cpp would GGML_ASSERT and take the server down; the reader refuses it.
  const t = buildTinyGguf();
  const at = parseGgufHeader(t.bytes).metadataOffsets.get('llama.attention.head_count')!;
  const b = Buffer.from(t.bytes);
  b.writeUInt32LE(0, at + 4);
  const heads0 = join(dir, 'heads0.gguf');
  writeFileSync(heads0, b);
  const h = await run(['llm', 'serve', '--model', `gguf:${heads0}`, '--port', '0']);
  assert.equal(h.code, 2);
  oneLine(h.err);
  assert.match(h.err, /heads0\.gguf@\d+ \(llama\.attention\.head_count\)/);
});
