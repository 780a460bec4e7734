import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import {
  LlamaCppProvider, ReplicatedProvider, parseModelSpec, replicatedProvider, serveProvider, writeTinyGguf,
  type CompletionRequest, type CompletionResponse, type LlmProvider,
} from './helpers.js';

process.env.PERENNIAL_QUIET = '1';
const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-replicas-'));
const modelPath = join(dir, 'tiny.gguf');
writeTinyGguf(modelPath);
test.after(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Wait (bounded) for a condition: timings on a loaded machine vary, outcomes must not. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await sleep(10);
  assert.ok(cond(), what);
}

/** A scriptable OpenAI-compatible endpoint: answers `echo:<last user message>` unless `mode` says otherwise; records concurrency. */
async function fakeEndpoint(delayMs = 5) {
  const st = { mode: 'ok' as 'ok' | 'fail503' | 'bad400', served: 0, inflight: 0, maxInflight: 0, probes: 0, seen: [] as string[] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET') {
        st.probes++;
        res.writeHead(st.mode === 'fail503' ? 503 : 200, { 'content-type': 'application/json' }).end('{"data":[]}');
        return;
      }
      st.inflight++;
      st.maxInflight = Math.max(st.maxInflight, st.inflight);
      setTimeout(() => {
        st.inflight--;
        if (st.mode === 'fail503') { res.writeHead(503).end('{"error":{"message":"overloaded"}}'); return; }
        if (st.mode === 'bad400') { res.writeHead(400).end('{"error":{"message":"bad"}}'); return; }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: { content: string }[] };
        const content = body.messages[body.messages.length - 1]!.content;
        st.served++;
        st.seen.push(content);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ model: 'm', choices: [{ message: { role: 'assistant', content: `echo:${content}` } }] }));
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { st, url, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const ask = (i: number): CompletionRequest => ({ messages: [{ role: 'user', content: `item ${i}` }], maxTokens: 8 });

test('spec with several base URLs builds a replicated provider; bad lists are refused', () => {
  const p = parseModelSpec('openai:http://127.0.0.1:9001/v1,http://127.0.0.1:9002#tiny');
  assert.ok(p instanceof ReplicatedProvider);
  assert.equal(p.id(), 'openai:http://127.0.0.1:9001/v1,http://127.0.0.1:9002/v1#tiny');
  assert.equal((p as ReplicatedProvider).stats().length, 2);
  assert.ok(!(parseModelSpec('openai:http://127.0.0.1:9001#tiny') instanceof ReplicatedProvider));
  assert.throws(() => parseModelSpec('openai:http://127.0.0.1:9001,http://127.0.0.1:9001/v1#tiny'), (e: unknown) => e instanceof InputError && /listed twice/.test(e.message));
  assert.throws(() => parseModelSpec('openai:http://127.0.0.1:9001,,http://127.0.0.1:9002#tiny'), (e: unknown) => e instanceof InputError && /empty base URL/.test(e.message));
  assert.throws(() => replicatedProvider(['ftp://x'], 'm'), InputError);
  assert.throws(() => replicatedProvider(['http://a', 'http://b'], 'm', { failureThreshold: 0 }), /failureThreshold/);
});

test('requests spread over the endpoints, never above the per-endpoint limit, each answered once', async () => {
  const a = await fakeEndpoint(), b = await fakeEndpoint();
  const p = replicatedProvider([a.url, b.url], 'm', { concurrency: 3 });
  try {
    const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => p.complete(ask(i))));
    rs.forEach((r, i) => { assert.equal(r.error, undefined); assert.equal(r.text, `echo:item ${i}`); assert.equal(r.attempts, 1); });
    assert.equal(a.st.served + b.st.served, 60);
    assert.ok(a.st.served >= 20 && b.st.served >= 20, `spread: ${a.st.served} / ${b.st.served}`);
    assert.ok(a.st.maxInflight <= 3 && b.st.maxInflight <= 3, `limit: ${a.st.maxInflight} / ${b.st.maxInflight}`);
    assert.equal(a.st.maxInflight, 3, 'the limit is used');
    assert.deepEqual([...a.st.seen, ...b.st.seen].sort(), Array.from({ length: 60 }, (_, i) => `item ${i}`).sort(), 'nothing asked twice');
  } finally {
    await p.close();
    await a.close(); await b.close();
  }
});

test('a failing endpoint is taken out, its requests go elsewhere, a probe brings it back', async () => {
  const a = await fakeEndpoint(), b = await fakeEndpoint();
  a.st.mode = 'fail503';
  const p = replicatedProvider([a.url, b.url], 'm', { concurrency: 2, failureThreshold: 2, cooldownMs: 400, backoffMs: 1 });
  try {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => p.complete(ask(i))));
    rs.forEach((r, i) => assert.equal(r.text, `echo:item ${i}`, r.error?.message));
    const [sa, sb] = p.stats();
    assert.equal(sa!.state, 'down');
    assert.equal(sa!.takenOut, 1);
    assert.ok(sa!.failures >= 2 && sa!.failures <= 3, `failures on a: ${sa!.failures}`);
    assert.equal(sb!.answered, 20);
    assert.equal(b.st.served, 20);
    // Still failing: the probe keeps it out (cooldown doubles); once healthy it comes back.
    await until(() => a.st.probes >= 2, 'probed again');
    assert.notEqual(p.stats()[0]!.state, 'up');
    a.st.mode = 'ok';
    await until(() => p.stats()[0]!.state === 'up', 'back in service after a good probe');
    const more = await Promise.all(Array.from({ length: 10 }, (_, i) => p.complete(ask(100 + i))));
    assert.ok(more.every((r) => !r.error));
    assert.ok(a.st.served > 0, 'back in service');
  } finally {
    await p.close();
    await a.close(); await b.close();
  }
});

test('client errors are not retried; every endpoint out: a request waits for a probe, or fails after maxWaitMs', async () => {
  const a = await fakeEndpoint(), b = await fakeEndpoint();
  const providers: ReplicatedProvider[] = [];
  const make = (urls: string[], o: Parameters<typeof replicatedProvider>[2]): ReplicatedProvider => { const p = replicatedProvider(urls, 'm', o); providers.push(p); return p; };
  try {
    a.st.mode = 'bad400';
    const p1 = make([a.url, b.url], { concurrency: 1 });
    const r1 = await p1.complete(ask(0));
    assert.equal(a.st.served + b.st.served, r1.error ? 0 : 1);
    if (r1.error) {
      assert.equal(r1.error.kind, 'http');
      assert.equal(r1.error.status, 400);
      assert.equal(r1.attempts, 1, 'a 400 is the request\'s fault: not sent elsewhere');
    } else assert.equal(r1.text, 'echo:item 0');

    // Both failing: the request waits; b recovers; its probe puts it back and the request is answered.
    a.st.mode = 'fail503'; b.st.mode = 'fail503';
    const p2 = make([a.url, b.url], { concurrency: 1, failureThreshold: 1, cooldownMs: 30, maxCooldownMs: 30, backoffMs: 1, maxRetries: 50 });
    const pending = p2.complete(ask(7));
    await until(() => p2.stats().every((x) => x.takenOut === 1), 'both endpoints taken out');
    b.st.mode = 'ok';
    const r2 = await pending;
    assert.equal(r2.text, 'echo:item 7', r2.error?.message);
    assert.ok(b.st.probes >= 1);

    // Never recovers: a bounded wait, then a connection error naming the cause.
    const p3 = make([a.url], { failureThreshold: 1, cooldownMs: 20, maxWaitMs: 150, backoffMs: 1, maxRetries: 50 });
    const t0 = performance.now();
    const r3 = await p3.complete(ask(8));
    assert.equal(r3.error?.kind, 'connection');
    assert.match(r3.error!.message, /out of service.*503/);
    assert.ok(performance.now() - t0 >= 150 && performance.now() - t0 < 10_000);

    // Abort while queued.
    const p4 = make([a.url], { failureThreshold: 1, cooldownMs: 1000, maxRetries: 50, backoffMs: 1 });
    const ac = new AbortController();
    const r4 = p4.complete(ask(9), { signal: ac.signal });
    await until(() => p4.stats()[0]!.takenOut === 1 && p4.queued === 1, 'queued behind a taken-out endpoint');
    ac.abort();
    assert.equal((await r4).error?.kind, 'aborted');
    assert.equal(p4.queued, 0);
  } finally {
    for (const p of providers) await p.close();
    await a.close(); await b.close();
  }
});

/** Delays every answer so that requests are in flight when a server is killed. */
class Slow implements LlmProvider {
  constructor(private readonly inner: LlmProvider, private readonly ms: number) {}
  id(): string { return this.inner.id(); }
  async complete(req: CompletionRequest, opts?: { signal?: AbortSignal }): Promise<CompletionResponse> {
    await sleep(this.ms);
    return this.inner.complete(req, opts);
  }
}

const item = (i: number): CompletionRequest => ({ messages: [{ role: 'user', content: `Tell me about the cat number ${i}` }], temperature: 0, seed: i, maxTokens: 12 });

test('two `llm serve` replicas of the tiny model, one killed mid-run: every item answered exactly once, as in-process', async () => {
  const N = 24;
  // One in-process model behind both servers and for the reference answers (loading is the slow part).
  const local = new LlamaCppProvider({ modelPath, threads: 1 });
  const ma = local, mb = local;
  const ok = { a: 0, b: 0 };
  const sa = await serveProvider(new Slow(ma, 40), { modelName: 'tiny', onRequest: (i) => { if (i.status === 200 && i.path.endsWith('/completions')) ok.a++; } });
  const sb = await serveProvider(new Slow(mb, 40), { modelName: 'tiny', onRequest: (i) => { if (i.status === 200 && i.path.endsWith('/completions')) ok.b++; } });
  const p = parseModelSpec(`openai:${sa.url},${sb.url}#tiny`, { openai: { concurrency: 2, timeoutMs: 20_000 } }) as ReplicatedProvider;
  let killed = false;
  try {
    const want: string[] = [];
    for (let i = 0; i < N; i++) want.push((await local.complete(item(i))).text);
    const answers = new Map<number, number>();
    let inflightAtKill = -1;
    let finished = false;
    const run = Promise.all(Array.from({ length: N }, (_, i) => p.complete(item(i)).then((r) => {
      answers.set(i, (answers.get(i) ?? 0) + 1);
      return r;
    }))).finally(() => { finished = true; });
    while (!killed && !finished) {
      if (answers.size >= 6 && p.stats()[0]!.inflight > 0) {
        inflightAtKill = p.stats()[0]!.inflight;
        await sa.close(); // closes the listener and destroys every open socket
        killed = true;
      } else await sleep(5);
    }
    assert.ok(killed, 'the first replica was killed mid-run');
    const rs = await run;
    assert.ok(inflightAtKill > 0, 'requests were in flight on the killed replica');
    rs.forEach((r, i) => { assert.equal(r.error, undefined, `item ${i}: ${r.error?.message}`); assert.equal(r.text, want[i], `item ${i}`); });
    assert.equal(answers.size, N);
    assert.ok([...answers.values()].every((c) => c === 1), 'each item answered once');
    const [ea, eb] = p.stats();
    assert.equal(ea!.answered + eb!.answered, N, 'one answer per item across the replicas');
    assert.ok(ea!.failures >= inflightAtKill, 'the in-flight requests on the dead replica failed there ...');
    assert.equal(ea!.takenOut, 1);
    assert.equal(ok.b, eb!.answered, '... and the survivor answered each of its items once');
    assert.ok(ok.a >= ea!.answered);
  } finally {
    await p.close();
    if (!killed) await sa.close();
    await sb.close();
    await local.close();
  }
});

test('replica as a child `perennial llm serve` process, SIGKILLed mid-run: the run finishes on the other', { timeout: 120_000 }, async () => {
  const entryFile = join(dir, 'serve.mts');
  writeFileSync(entryFile, `import { main } from ${JSON.stringify(resolve('src/cli/index.ts'))}; process.exitCode = await main(${JSON.stringify(['llm', 'serve', '--model', `gguf:${modelPath}`, '--port', '0', '--threads', '1'])});`);
  const child = spawn(process.execPath, ['--import', 'tsx', entryFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PERENNIAL_QUIET: '1' } });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  let out = '', err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const url = await new Promise<string>((resolveP, reject) => {
    const t = setTimeout(() => reject(new Error(`child serve did not start: ${err.slice(0, 400)}`)), 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out);
      if (m) { clearTimeout(t); resolveP(m[1]!); }
    });
    child.on('exit', () => { clearTimeout(t); reject(new Error(`child serve exited: ${err.slice(0, 400)}`)); });
  });
  const local = new LlamaCppProvider({ modelPath, threads: 1 });
  const sb = await serveProvider(new Slow(local, 20), { modelName: 'tiny' });
  const p = replicatedProvider([url, sb.url], 'tiny', { concurrency: 2, timeoutMs: 20_000 });
  try {
    const N = 30;
    const want: string[] = [];
    for (let i = 0; i < N; i++) want.push((await local.complete(item(i))).text);
    let done = 0;
    const run = Promise.all(Array.from({ length: N }, (_, i) => p.complete(item(i)).then((r) => { done++; return r; })));
    for (let k = 0; k < 2000 && done < 8; k++) await sleep(5);
    child.kill('SIGKILL');
    await exited;
    const rs = await run;
    rs.forEach((r, i) => { assert.equal(r.error, undefined, `item ${i}: ${r.error?.message}`); assert.equal(r.text, want[i], `item ${i}`); });
    const [ea, eb] = p.stats();
    assert.equal(ea!.answered + eb!.answered, N);
    assert.ok(ea!.answered >= 1, 'the child answered before it died');
    assert.ok(eb!.answered < N);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await p.close();
    await sb.close();
    await local.close();
  }
});
