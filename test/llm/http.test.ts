import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LlamaCppProvider, OpenAICompatibleProvider, parseModelSpec, parseRetryAfter, runSelfKnowledge, selectTasks, serveProvider, writeTinyGguf,
  type CompletionRequest, type CompletionResponse, type LlmProvider,
} from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-http-'));
const modelPath = join(dir, 'tiny.gguf');
writeTinyGguf(modelPath);
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { server, url, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const ok = (content: string): string => JSON.stringify({ model: 'm', choices: [{ message: { role: 'assistant', content } }], usage: { prompt_tokens: 3, completion_tokens: 1 } });
const req: CompletionRequest = { messages: [{ role: 'user', content: 'hi' }], maxTokens: 8 };

test('HTTP provider against `llm serve` gives the same answers as in-process', async () => {
  const served = new LlamaCppProvider({ modelPath, threads: 1 });
  const local = new LlamaCppProvider({ modelPath, threads: 1 });
  const s = await serveProvider(served, { modelName: 'tiny' });
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = (await (await fetch(`${s.url}/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(models.data.map((m) => m.id), ['tiny']);
    const http = parseModelSpec(`openai:${s.url}#tiny`);
    const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false };
    const requests: CompletionRequest[] = [
      { messages: [{ role: 'user', content: 'Tell me about the cat' }], temperature: 0, maxTokens: 30 },
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Count the words' }], temperature: 0.9, seed: 7, maxTokens: 40 },
      { messages: [{ role: 'user', content: 'How many?' }], temperature: 0.8, topP: 0.9, seed: 3, maxTokens: 30, jsonSchema: schema },
      { messages: [{ role: 'user', content: 'Go on' }], temperature: 0, maxTokens: 30, stop: ['the'] },
    ];
    for (const r of requests) {
      const [a, b] = [await local.complete(r), await http.complete(r)];
      assert.equal(a.error, undefined);
      assert.equal(b.error, undefined, b.error?.message);
      assert.equal(b.text, a.text);
      assert.deepEqual(b.usage, a.usage);
    }
    // The whole evaluation over HTTP (4 requests in flight) equals the in-process one.
    const tasks = selectTasks('word_count,arithmetic');
    const opts = { items: 3, repeats: 2, seed: 2, quiet: true };
    const viaHttp = await runSelfKnowledge(tasks, http, { ...opts, concurrency: 4 });
    const inProc = await runSelfKnowledge(tasks, local, opts);
    assert.equal(JSON.stringify(viaHttp.outcomes), JSON.stringify(inProc.outcomes));
    assert.equal(JSON.stringify(viaHttp.tasks), JSON.stringify(inProc.tasks));
    // Bad requests are 400s with an OpenAI-style error body.
    const bad = await fetch(`${s.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": "nope"}' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /messages/);
    assert.equal((await fetch(`${s.url}/nothing`)).status, 404);
  } finally {
    await s.close();
    await served.close();
    await local.close();
  }
});

test('broken endpoints give typed per-call errors: refused, timeout, malformed, 5xx with bounded retries', async () => {
  // Refused: a port that was just closed.
  const gone = await rawServer(() => undefined);
  await gone.close();
  const refused = await new OpenAICompatibleProvider({ baseURL: gone.url, model: 'm', maxRetries: 2, backoffMs: 1 }).complete(req);
  assert.equal(refused.error?.kind, 'connection');
  assert.equal(refused.attempts, 3);

  const hang = await rawServer(() => undefined);
  const slow = await new OpenAICompatibleProvider({ baseURL: hang.url, model: 'm', timeoutMs: 150, maxRetries: 0 }).complete(req);
  assert.equal(slow.error?.kind, 'timeout');
  await hang.close();

  const junk = await rawServer((_q, res) => { res.writeHead(200); res.end('{"choices": [oops'); });
  const mal = await new OpenAICompatibleProvider({ baseURL: junk.url, model: 'm', maxRetries: 3 }).complete(req);
  assert.equal(mal.error?.kind, 'malformed');
  assert.equal(mal.attempts, 1, 'a malformed body is not retried');
  await junk.close();

  let calls = 0;
  const flaky = await rawServer((_q, res) => { calls++; if (calls <= 2) { res.writeHead(503); res.end('busy'); } else { res.writeHead(200); res.end(ok('fine')); } });
  const r = await new OpenAICompatibleProvider({ baseURL: flaky.url, model: 'm', maxRetries: 3, backoffMs: 1 }).complete(req);
  assert.equal(r.text, 'fine');
  assert.equal(r.attempts, 3);
  calls = -100;
  const down = await new OpenAICompatibleProvider({ baseURL: flaky.url, model: 'm', maxRetries: 2, backoffMs: 1 }).complete(req);
  assert.equal(down.error?.kind, 'http');
  assert.equal(down.error?.status, 503);
  assert.equal(down.attempts, 3, 'retries are bounded');
  await flaky.close();

  const bad = await rawServer((_q, res) => { res.writeHead(400); res.end('{"error":{"message":"no"}}'); });
  const r400 = await new OpenAICompatibleProvider({ baseURL: bad.url, model: 'm', maxRetries: 3, backoffMs: 1 }).complete(req);
  assert.equal(r400.error?.status, 400);
  assert.equal(r400.attempts, 1, 'client errors are not retried');
  await bad.close();
});

test('429 honours Retry-After; the concurrency limit holds', async () => {
  assert.equal(parseRetryAfter('2'), 2000);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 7_000), 3000);
  assert.equal(parseRetryAfter('soon'), null);
  let n = 0;
  const limited = await rawServer((_q, res) => {
    if (n++ === 0) { res.writeHead(429, { 'retry-after': '0.3' }); res.end('slow down'); } else { res.writeHead(200); res.end(ok('done')); }
  });
  const t0 = performance.now();
  const r = await new OpenAICompatibleProvider({ baseURL: limited.url, model: 'm', backoffMs: 1 }).complete(req);
  assert.equal(r.text, 'done');
  assert.ok(performance.now() - t0 >= 250, 'waited for Retry-After rather than the 1 ms backoff');
  await limited.close();

  let inFlight = 0, peak = 0;
  const slow = await rawServer((_q, res) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    setTimeout(() => { inFlight--; res.writeHead(200); res.end(ok('x')); }, 40);
  });
  const p = new OpenAICompatibleProvider({ baseURL: slow.url, model: 'm', concurrency: 2 });
  await Promise.all(Array.from({ length: 7 }, () => p.complete(req)));
  assert.equal(peak, 2);
  await slow.close();
  assert.throws(() => new OpenAICompatibleProvider({ baseURL: 'ftp://x', model: 'm' }), /http/);
  assert.throws(() => parseModelSpec('openai:http://x/v1'), /BASE_URL#MODEL/);
  assert.throws(() => parseModelSpec('llama:x'), /known forms/);
});

/** Wraps a provider; while `failing`, every third call fails (the server turns that into a 500). */
class Flaky implements LlmProvider {
  failing = true;
  private n = 0;
  constructor(private readonly inner: LlmProvider) {}
  id(): string { return this.inner.id(); }
  async complete(r: CompletionRequest): Promise<CompletionResponse> {
    if (this.failing && this.n++ % 3 === 2) return { text: '', error: { kind: 'internal', message: 'injected failure' }, latencyMs: 0 };
    return this.inner.complete(r);
  }
}

test('a run against a failing server reports per-item errors, continues, and resumes from its cache', async () => {
  const inner = new LlamaCppProvider({ modelPath, threads: 1 });
  const flaky = new Flaky(inner);
  const s = await serveProvider(flaky, { modelName: 'tiny' });
  const cache = join(dir, 'resume.cache.jsonl');
  const tasks = selectTasks('word_count,theorem');
  const opts = { items: 4, repeats: 2, seed: 9, quiet: true, cache };
  try {
    const http = new OpenAICompatibleProvider({ baseURL: s.url, model: 'tiny', maxRetries: 0 });
    const first = await runSelfKnowledge(tasks, http, opts);
    assert.ok(first.errors.length > 0, 'some runs failed');
    assert.ok(first.errors.every((e) => e.kind === 'http' && /500/.test(e.message)));
    assert.ok(Object.values(first.tasks).every((t) => t.evaluated > 0), 'the run went on');
    flaky.failing = false;
    const second = await runSelfKnowledge(tasks, http, opts);
    assert.equal(second.errors.length, 0);
    assert.ok(second.throughput.cache_hits > 0);
    assert.ok(second.throughput.calls < first.throughput.calls, 'only what failed is recomputed');
    const clean = await runSelfKnowledge(tasks, inner, { items: 4, repeats: 2, seed: 9, quiet: true });
    assert.equal(JSON.stringify(second.outcomes), JSON.stringify(clean.outcomes), 'nothing lost or duplicated');
  } finally {
    await s.close();
    await inner.close();
  }
});
