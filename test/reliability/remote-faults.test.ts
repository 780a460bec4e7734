// The OpenAI-compatible provider against a local fault-injecting server: refused connections,
// resets mid-body, 429 with Retry-After, 500s, slow bodies past the timeout, malformed and
// truncated JSON, wrong content types. Every item ends answered or as a counted, typed failure;
// retries stay bounded; a whole self-knowledge run finishes and counts its failures exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { OpenAICompatibleProvider } from '../../src/llm/openai.js';
import { EchoProvider } from '../../src/llm/testing.js';
import { runSelfKnowledge } from '../../src/llm/selfknow.js';
import { selectTasks } from '../../src/llm/tasks.js';
import type { CompletionRequest, CompletionResponse, LlmProvider } from '../../src/llm/provider.js';
import { note } from './kill-harness.js';

type Fault = 'ok' | 'reset' | '429' | '500' | 'slow' | 'malformed' | 'truncated' | 'html' | 'json-as-text';
const MAX_RETRIES = 2;
const TIMEOUT_MS = 400;

/** Which typed failure a fault ends in when it persists (null: the body is still an answer). */
const PERSISTENT_KIND: Record<Fault, string | null> = {
  ok: null, reset: 'connection', '429': 'rate_limit', '500': 'http', slow: 'timeout', malformed: 'malformed', truncated: 'malformed', html: 'malformed', 'json-as-text': null,
};
/** Faults the provider retries (the rest fail on the first attempt). A timeout is retried like a 5xx (issue 17). */
const RETRIED = new Set<Fault>(['reset', '429', '500', 'slow']);

const okBody = (content: string): string => JSON.stringify({ model: 'fault', choices: [{ message: { role: 'assistant', content } }], usage: { prompt_tokens: 1, completion_tokens: 1 } });

/** Send one faulty (or good) response. */
function respond(res: ServerResponse, fault: Fault, content: string): void {
  const body = okBody(content);
  switch (fault) {
    case 'ok': res.writeHead(200, { 'content-type': 'application/json' }).end(body); return;
    case 'json-as-text': res.writeHead(200, { 'content-type': 'text/plain' }).end(body); return;
    case 'reset': {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.write(body.slice(0, 10));
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    case '429': res.writeHead(429, { 'retry-after': '0.02', 'content-type': 'application/json' }).end('{"error":"slow down"}'); return;
    case '500': res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error'); return;
    case 'slow': {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed || i >= body.length) { clearInterval(t); if (!res.destroyed) res.end(); return; }
        res.write(body[i++]!);
      }, 60);
      res.on('close', () => clearInterval(t));
      return;
    }
    case 'malformed': res.writeHead(200, { 'content-type': 'application/json' }).end('this is not json'); return;
    case 'truncated': { const cut = body.slice(0, body.length >> 1); res.writeHead(200, { 'content-type': 'application/json' }).end(cut); return; }
    case 'html': res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>'); return;
  }
}

async function faultServer(decide: (body: Record<string, unknown>, raw: string, attempt: number) => Fault, answer: (body: Record<string, unknown>) => Promise<string>) {
  const attempts = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d: Buffer) => { raw += d.toString(); });
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      const key = createHash('sha256').update(raw).digest('hex');
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      const fault = decide(body, raw, n);
      void answer(body).then((content) => respond(res, fault, content));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { url, attempts, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const provider = (baseURL: string): OpenAICompatibleProvider =>
  new OpenAICompatibleProvider({ baseURL, model: 'm', maxRetries: MAX_RETRIES, timeoutMs: TIMEOUT_MS, backoffMs: 10, maxBackoffMs: 100, concurrency: 4, seed: 1 });

test('each fault kind ends answered or as its typed failure, with bounded retries', { timeout: 60_000 }, async () => {
  // Item: a fault and how many attempts it lasts (Infinity: every attempt).
  const items: { fault: Fault; times: number }[] = [];
  for (const fault of Object.keys(PERSISTENT_KIND) as Fault[]) {
    items.push({ fault, times: Infinity });
    if (RETRIED.has(fault)) items.push({ fault, times: 1 }, { fault, times: MAX_RETRIES }, { fault, times: MAX_RETRIES + 1 });
  }
  const s = await faultServer((body, _raw, attempt) => {
    const m = /item (\d+)/.exec(String((body.messages as { content: string }[])[0]!.content))!;
    const it = items[Number(m[1])]!;
    return attempt <= it.times ? it.fault : 'ok';
  }, async () => 'fine');
  try {
    const p = provider(s.url);
    const t0 = performance.now();
    const out = await Promise.all(items.map((_, i) => p.complete({ messages: [{ role: 'user', content: `item ${i}` }] })));
    assert.ok(performance.now() - t0 < 30_000, 'the batch finishes');
    const expectedCounts: Record<string, number> = {};
    const gotCounts: Record<string, number> = {};
    items.forEach((it, i) => {
      const r = out[i]!;
      const permanent = PERSISTENT_KIND[it.fault];
      const fails = permanent !== null && (RETRIED.has(it.fault) ? it.times > MAX_RETRIES : true);
      const label = `item ${i} (${it.fault} x${it.times})`;
      if (fails) {
        assert.equal(r.error?.kind, permanent, `${label}: ${JSON.stringify(r.error)}`);
        assert.equal(r.text, '');
        expectedCounts[permanent!] = (expectedCounts[permanent!] ?? 0) + 1;
      } else {
        assert.equal(r.error, undefined, `${label} is answered: ${JSON.stringify(r.error)}`);
        assert.equal(r.text, 'fine');
      }
      if (r.error) gotCounts[r.error.kind] = (gotCounts[r.error.kind] ?? 0) + 1;
      // Bounded: never more than 1 + maxRetries attempts, and only retryable faults are retried.
      assert.ok((r.attempts ?? 1) <= MAX_RETRIES + 1, `${label}: ${r.attempts} attempts`);
      const expectedAttempts = RETRIED.has(it.fault) ? Math.min(it.times + 1, MAX_RETRIES + 1) : 1;
      assert.equal(r.attempts, expectedAttempts, `${label}: attempts`);
    });
    assert.deepEqual(gotCounts, expectedCounts, 'failures counted exactly, by kind');
    for (const n of s.attempts.values()) assert.ok(n <= MAX_RETRIES + 1, `the server saw at most ${MAX_RETRIES + 1} attempts per request`);
    note('faults', {
      test: 'fault kinds', items: items.map((it, i) => ({ fault: it.fault, times: Number.isFinite(it.times) ? it.times : 'always', outcome: out[i]!.error?.kind ?? 'answered', attempts: out[i]!.attempts })),
      failures: gotCounts, expected_failures: expectedCounts, max_attempts: Math.max(...out.map((r) => r.attempts ?? 1)), retry_limit: MAX_RETRIES + 1,
    });
  } finally {
    await s.close();
  }
});

test('a refused connection is a counted connection failure after exactly 1 + maxRetries attempts', async () => {
  const s = await faultServer(() => 'ok', async () => 'x');
  const url = s.url;
  await s.close(); // nothing listens on that port now
  const p = provider(url);
  const out = await Promise.all([0, 1, 2].map((i) => p.complete({ messages: [{ role: 'user', content: `item ${i}` }] })));
  for (const r of out) {
    assert.equal(r.error?.kind, 'connection');
    assert.equal(r.attempts, MAX_RETRIES + 1);
  }
});

/** Counts what the run's provider returned, by error kind. */
class Counting implements LlmProvider {
  readonly kinds: Record<string, number> = {};
  calls = 0;
  constructor(private readonly inner: OpenAICompatibleProvider) {}
  id(): string { return this.inner.id(); }
  async complete(req: CompletionRequest): Promise<CompletionResponse> {
    const r = await this.inner.complete(req);
    this.calls++;
    if (r.error) this.kinds[r.error.kind] = (this.kinds[r.error.kind] ?? 0) + 1;
    return r;
  }
}

test('a self-knowledge run over a faulty server finishes; its record counts the failures exactly', { timeout: 90_000 }, async () => {
  const kinds: Fault[] = ['reset', '429', '500', 'slow', 'malformed', 'truncated', 'html', 'json-as-text'];
  // Responses that end a request as a failure: a fault that is not retried, or a retried one on
  // the last allowed attempt.
  const served: Record<string, number> = {};
  const serve = (fault: Fault, attempt: number): Fault => {
    const k = PERSISTENT_KIND[fault];
    if (k && (!RETRIED.has(fault) || attempt === MAX_RETRIES + 1)) served[k] = (served[k] ?? 0) + 1;
    return fault;
  };
  const echo = new EchoProvider('numbers');
  // Each distinct request draws (by its hash) a fault: about a third persist, a third hit the
  // first attempt only (fatal when the fault is not retried), the rest are served cleanly.
  const s = await faultServer((_body, raw, attempt) => {
    const h = createHash('sha256').update(raw).digest();
    const fault = kinds[h[0]! % kinds.length]!;
    const mode = h[1]! % 3;
    if (mode === 0) return serve(fault, attempt);
    if (mode === 1 && attempt === 1) return serve(fault, attempt);
    return 'ok';
  }, async (body) => (await echo.complete({ messages: body.messages as CompletionRequest['messages'], jsonSchema: (body.response_format as { json_schema?: { schema?: Record<string, unknown> } } | undefined)?.json_schema?.schema })).text);
  try {
    const counting = new Counting(provider(s.url));
    const report = await runSelfKnowledge(selectTasks(['word_count', 'arithmetic']), counting, { items: 6, repeats: 2, seed: 3, concurrency: 4 });
    assert.equal(report.outcomes.length, 2 * 6 * 2, 'every item and repeat has an outcome');
    assert.equal(report.overall.errors, report.errors.length);
    // Failures the record lists = failures the provider returned = requests the server failed for good.
    const recorded: Record<string, number> = {};
    for (const e of report.errors) recorded[e.kind] = (recorded[e.kind] ?? 0) + 1;
    assert.deepEqual(recorded, counting.kinds);
    assert.deepEqual(recorded, served);
    note('faults', { test: 'selfknow run', outcomes: report.outcomes.length, recorded_failures: recorded, server_failed_requests: served, provider_failures: counting.kinds, finished: true });
    assert.ok(report.errors.length > 0 && report.errors.length < report.outcomes.length, `some but not all runs failed (${report.errors.length})`);
    for (const n of s.attempts.values()) assert.ok(n <= MAX_RETRIES + 1);
  } finally {
    await s.close();
  }
});
