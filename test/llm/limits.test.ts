// Issue 17: no request can stall or take over `llm serve`, and the HTTP provider bounds what it
// reads and retries timeouts. Servers bind 127.0.0.1, every loop is bounded, every server closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LlamaCppProvider, OpenAICompatibleProvider, serveProvider, writeTinyGguf, samplingProblem,
  type CompletionRequest, type CompletionResponse, type LlmProvider,
} from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-limits-'));
const modelPath = join(dir, 'tiny.gguf');
writeTinyGguf(modelPath);
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Reply { status: number; headers: IncomingHttpHeaders; body: string }

/** One HTTP request on 127.0.0.1 with full control of headers and body (chunks written in order). */
function http(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer | Buffer[] } = {}): Promise<Reply> {
  return new Promise((resolveP, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/v1/chat/completions', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveP({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    const parts = opts.body === undefined ? [] : Array.isArray(opts.body) ? opts.body : [opts.body];
    for (const p of parts) req.write(p);
    req.end();
  });
}

const json = { 'content-type': 'application/json' };
const chat = (extra: Record<string, unknown> = {}): string => JSON.stringify({ messages: [{ role: 'user', content: 'Tell me about the cat' }], ...extra });
const errorOf = (r: Reply): string => (JSON.parse(r.body) as { error: { message: string } }).error.message;

/** Answers when released, or reports the abort it was sent (as llama.cpp does). */
class Gate implements LlmProvider {
  started = 0;
  private waiting: (() => void)[] = [];
  id(): string { return 'gate'; }
  complete(_r: CompletionRequest, opts: { signal?: AbortSignal } = {}): Promise<CompletionResponse> {
    this.started++;
    return new Promise((resolveP) => {
      const done = (): void => resolveP({ text: 'released', latencyMs: 0 });
      this.waiting.push(done);
      opts.signal?.addEventListener('abort', () => resolveP({ text: '', error: { kind: 'aborted', message: 'aborted' }, latencyMs: 0 }), { once: true });
    });
  }
  release(): void { for (const w of this.waiting.splice(0)) w(); }
}

test('sampling values are range-checked in one place', () => {
  assert.equal(samplingProblem({ temperature: 0.7, topP: 1, maxTokens: 1, topK: 0, seed: 3 }), null);
  assert.match(samplingProblem({ maxTokens: 0 })!, /max_tokens/);
  assert.match(samplingProblem({ maxTokens: -5 })!, /max_tokens/);
  assert.match(samplingProblem({ maxTokens: 1e12 })!, /max_tokens/);
  assert.match(samplingProblem({ maxTokens: 2.5 })!, /max_tokens/);
  assert.match(samplingProblem({ temperature: -0.1 })!, /temperature/);
  assert.match(samplingProblem({ temperature: 2.5 })!, /temperature/);
  assert.match(samplingProblem({ topP: 0 })!, /top_p/);
  assert.match(samplingProblem({ topP: 1.5 })!, /top_p/);
  assert.match(samplingProblem({ topK: -1 })!, /top_k/);
});

test('serve: max_tokens 0, negative, 1e12 or over the context left is a 400; an over-long prompt is a 400 naming both token counts', { timeout: 60_000 }, async () => {
  const provider = new LlamaCppProvider({ modelPath, threads: 1, contextSize: 128 });
  const s = await serveProvider(provider, { modelName: 'tiny' });
  try {
    for (const bad of [0, -3, 1e12, 1.5]) {
      const r = await http(s.port, { headers: json, body: chat({ max_tokens: bad }) });
      assert.equal(r.status, 400, `max_tokens ${bad}`);
      assert.match(errorOf(r), /max_tokens/);
    }
    // Over the server's cap, and over what the context leaves after the prompt.
    const cap = await http(s.port, { headers: json, body: chat({ max_tokens: 5000 }) });
    assert.equal(cap.status, 400);
    assert.match(errorOf(cap), /cap of 4096/);
    // (llama.cpp rounds the 128 asked for up to its context granularity: read it from the message.)
    const left = await http(s.port, { headers: json, body: chat({ max_tokens: 1000 }) });
    assert.equal(left.status, 400);
    const m = /max_tokens 1000 exceeds the (\d+) tokens left in the context \((\d+)\) after the (\d+)-token prompt/.exec(errorOf(left));
    assert.ok(m, errorOf(left));
    assert.equal(Number(m[1]), Number(m[2]) - Number(m[3]));
    const exact = await http(s.port, { headers: json, body: chat({ max_tokens: Number(m[1]) + 1 }) });
    assert.equal(exact.status, 400, 'one token over what is left');
    const long = await http(s.port, { headers: json, body: JSON.stringify({ messages: [{ role: 'user', content: 'the cat sat '.repeat(100) }], max_tokens: 4 }) });
    assert.equal(long.status, 400, 'no silent truncation');
    assert.match(errorOf(long), new RegExp(`prompt is \\d{4} tokens; the context holds ${m[2]}`));
    // Out-of-range sampling values.
    assert.equal((await http(s.port, { headers: json, body: chat({ temperature: 9 }) })).status, 400);
    assert.equal((await http(s.port, { headers: json, body: chat({ top_p: 0 }) })).status, 400);
    // A request within the limits is served, and the default max_tokens fits the context.
    const ok = await http(s.port, { headers: json, body: chat({ max_tokens: 10 }) });
    assert.equal(ok.status, 200, ok.body);
    const dflt = await http(s.port, { headers: json, body: chat() });
    assert.equal(dflt.status, 200, dflt.body);
  } finally {
    await s.close();
    await provider.close();
  }
  // The in-process provider refuses the same values at once (maxTokens 0 was "no limit" to llama.cpp).
  const p = new LlamaCppProvider({ modelPath, threads: 1 });
  try {
    const t0 = performance.now();
    const r = await p.complete({ messages: [{ role: 'user', content: 'x' }], maxTokens: 0 });
    assert.equal(r.error?.kind, 'bad_request');
    assert.ok(performance.now() - t0 < 10_000);
  } finally {
    await p.close();
  }
});

test('serve: a full queue answers 429, a request past the wall-clock limit 504, and the server keeps serving', { timeout: 30_000 }, async () => {
  const gate = new Gate();
  const s = await serveProvider(gate, { maxPending: 2, requestTimeoutMs: 400 });
  try {
    const t0 = performance.now();
    const held = [http(s.port, { headers: json, body: chat() }), http(s.port, { headers: json, body: chat() })];
    for (let i = 0; i < 100 && gate.started < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(gate.started, 2);
    const busy = await http(s.port, { headers: json, body: chat() });
    assert.equal(busy.status, 429);
    assert.equal(busy.headers['retry-after'], '1');
    assert.equal(gate.started, 2, 'the refused request never reached the model');
    const timedOut = await Promise.all(held);
    assert.deepEqual(timedOut.map((r) => r.status), [504, 504]);
    assert.match(errorOf(timedOut[0]!), /within 400 ms/);
    assert.ok(performance.now() - t0 < 5000);
    // The slots are free again.
    const next = http(s.port, { headers: json, body: chat() });
    for (let i = 0; i < 100 && gate.started < 3; i++) await new Promise((r) => setTimeout(r, 10));
    gate.release();
    const r = await next;
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content, 'released');
  } finally {
    gate.release();
    await s.close();
  }
});

test('serve: a body over the limit gets a real 413 (declared length and chunked), not a reset', { timeout: 30_000 }, async () => {
  const gate = new Gate();
  const s = await serveProvider(gate, { maxBodyBytes: 4096 });
  try {
    const big = Buffer.alloc(1 << 20, 0x20);
    const declared = await http(s.port, { headers: { ...json, 'content-length': String(big.length) }, body: big });
    assert.equal(declared.status, 413);
    assert.match(errorOf(declared), /over the limit of 4096 bytes/);
    const chunks = Array.from({ length: 32 }, () => Buffer.alloc(32 * 1024, 0x20));
    const chunked = await http(s.port, { headers: json, body: chunks });
    assert.equal(chunked.status, 413);
    // fetch, as a client library would send it.
    const viaFetch = await fetch(`${s.url}/chat/completions`, { method: 'POST', headers: json, body: big });
    assert.equal(viaFetch.status, 413);
    assert.equal(gate.started, 0);
  } finally {
    await s.close();
  }
});

test('serve: Host and Origin must name this server, the API key is checked, only JSON bodies are read', { timeout: 30_000 }, async () => {
  const gate = new Gate();
  const s = await serveProvider(gate, { apiKey: 'sekrit', requestTimeoutMs: 2000 });
  const auth = { authorization: 'Bearer sekrit' };
  try {
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own name as Host.
    const rebound = await http(s.port, { method: 'GET', path: '/v1/models', headers: { ...auth, host: `evil.example:${s.port}` } });
    assert.equal(rebound.status, 403);
    assert.match(errorOf(rebound), /Host/);
    const crossSite = await http(s.port, { headers: { ...auth, ...json, origin: 'http://evil.example' }, body: chat() });
    assert.equal(crossSite.status, 403);
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, 'localhost']) {
      assert.equal((await http(s.port, { method: 'GET', path: '/v1/models', headers: { ...auth, host } })).status, 200, host);
    }
    assert.equal((await http(s.port, { method: 'GET', path: '/v1/models', headers: { ...auth, origin: `http://127.0.0.1:${s.port}` } })).status, 200);
    // Bearer check.
    const none = await http(s.port, { method: 'GET', path: '/v1/models' });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await http(s.port, { method: 'GET', path: '/v1/models', headers: { authorization: 'Bearer sekrix' } })).status, 401);
    assert.equal((await http(s.port, { headers: { ...json }, body: chat() })).status, 401);
    // A form or text/plain post (what a page can send without a preflight) is never read.
    for (const ctype of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const r = await http(s.port, { headers: { ...auth, ...(ctype ? { 'content-type': ctype } : {}) }, body: chat() });
      assert.equal(r.status, 415, ctype);
    }
    assert.equal(gate.started, 0, 'no refused request reached the model');
    const ok = http(s.port, { headers: { ...auth, 'content-type': 'application/json; charset=utf-8' }, body: chat() });
    for (let i = 0; i < 100 && gate.started < 1; i++) await new Promise((r) => setTimeout(r, 10));
    gate.release();
    assert.equal((await ok).status, 200);
  } finally {
    gate.release();
    await s.close();
  }
});

test('serve: a port in use, port 99999 and an address not on this machine are one-line errors', async () => {
  const gate = new Gate();
  const first = await serveProvider(gate);
  try {
    await assert.rejects(serveProvider(gate, { port: first.port }), (e: Error) => e.name === 'InputError' && /already in use/.test(e.message) && !e.message.includes('\n'));
  } finally {
    await first.close();
  }
  await assert.rejects(serveProvider(gate, { port: 99999 }), (e: Error) => e.name === 'InputError' && /port must be an integer in \[0, 65535\], got 99999/.test(e.message));
  // 203.0.113.0/24 is TEST-NET-3: never an address of this machine.
  await assert.rejects(serveProvider(gate, { host: '203.0.113.7' }), (e: Error) => e.name === 'InputError' && /not an address of this machine/.test(e.message));
});

async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { server, url, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const okBody = (content: string): string => JSON.stringify({ model: 'm', choices: [{ message: { role: 'assistant', content } }], usage: { prompt_tokens: 1, completion_tokens: 1 } });
const req: CompletionRequest = { messages: [{ role: 'user', content: 'hi' }], maxTokens: 8 };

test('OpenAI provider: a response body over maxResponseBytes is abandoned with a clear error (streamed or declared)', { timeout: 30_000 }, async () => {
  // Streams 64 KiB chunks until the client goes away (at most 64 MiB).
  let sent = 0;
  const endless = await rawServer((_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const push = (): void => {
      while (sent < 64 << 20) {
        sent += chunk.length;
        if (!res.write(chunk)) { res.once('drain', push); return; }
      }
      res.end();
    };
    res.on('close', () => { sent = Infinity; });
    push();
  });
  try {
    const r = await new OpenAICompatibleProvider({ baseURL: endless.url, model: 'm', maxResponseBytes: 1 << 20, maxRetries: 2 }).complete(req);
    assert.equal(r.error?.kind, 'malformed');
    assert.match(r.error!.message, /over maxResponseBytes 1048576/);
    assert.equal(r.attempts, 1, 'an oversized body is not retried');
  } finally {
    await endless.close();
  }
  const declared = await rawServer((_q, res) => { const b = okBody('x'.repeat(5000)); res.writeHead(200, { 'content-length': String(Buffer.byteLength(b)) }); res.end(b); });
  try {
    const r = await new OpenAICompatibleProvider({ baseURL: declared.url, model: 'm', maxResponseBytes: 1000 }).complete(req);
    assert.match(r.error?.message ?? '', /response body of \d+ bytes is over maxResponseBytes 1000/);
    const fine = await new OpenAICompatibleProvider({ baseURL: declared.url, model: 'm' }).complete(req);
    assert.equal(fine.text.length, 5000);
  } finally {
    await declared.close();
  }
});

test('OpenAI provider: a timeout is retried like a 5xx, with bounded attempts', { timeout: 30_000 }, async () => {
  let calls = 0;
  const slowOnce = await rawServer((_q, res) => { if (++calls === 1) return; res.writeHead(200); res.end(okBody('late but fine')); });
  try {
    const r = await new OpenAICompatibleProvider({ baseURL: slowOnce.url, model: 'm', timeoutMs: 150, maxRetries: 2, backoffMs: 1 }).complete(req);
    assert.equal(r.error, undefined);
    assert.equal(r.text, 'late but fine');
    assert.equal(r.attempts, 2);
  } finally {
    await slowOnce.close();
  }
  const hang = await rawServer(() => undefined);
  try {
    const r = await new OpenAICompatibleProvider({ baseURL: hang.url, model: 'm', timeoutMs: 100, maxRetries: 2, backoffMs: 1 }).complete(req);
    assert.equal(r.error?.kind, 'timeout');
    assert.equal(r.attempts, 3);
  } finally {
    await hang.close();
  }
});
