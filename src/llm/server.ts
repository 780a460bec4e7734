// `perennial llm serve`: an OpenAI-compatible server (`GET /v1/models`, `POST /v1/chat/completions`)
// in front of any LlmProvider, bound to 127.0.0.1 unless asked otherwise. Non-streaming only.
// No request can hold the server: bodies, max_tokens, the wall-clock time of a generation and the
// number of requests waiting are all bounded, and each limit has its own status code. A web page
// the user opens cannot drive it: the Host header must name the bound address (DNS rebinding),
// a cross-site Origin is refused, only application/json bodies are read (no "simple" CORS
// requests), and `apiKey` adds a Bearer check.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import os from 'node:os';
import { createHash, timingSafeEqual } from 'node:crypto';
import { InputError } from '../core/errors.js';
import { MAX_TOKENS_CAP, samplingProblem, type ChatMessage, type CompletionRequest, type CompletionResponse, type LlmProvider } from './provider.js';

export interface ServeOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Model name reported by /v1/models (default: the provider id). */
  readonly modelName?: string;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Largest max_tokens a request may ask for (default 4096). */
  readonly maxTokensCap?: number;
  /** Wall-clock limit of one request from arrival to answer, in ms (default 120000): 504 past it. */
  readonly requestTimeoutMs?: number;
  /** Requests accepted at once, running or waiting for the model (default 8): 429 beyond. */
  readonly maxPending?: number;
  /** When set, every request needs `Authorization: Bearer <apiKey>` (401 otherwise). */
  readonly apiKey?: string;
  /** Host names accepted in the Host header besides the bound address (and localhost on loopback). */
  readonly allowedHosts?: readonly string[];
  /** Called once per request with method, path, status and ms (for logs). */
  readonly onRequest?: (info: { method: string; path: string; status: number; ms: number }) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly type = 'invalid_request_error', readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolveP, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      reject(new HttpError(413, `request body of ${declared} bytes is over the limit of ${max} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer): void => {
      n += c.length;
      if (n > max) {
        req.off('data', onData);
        reject(new HttpError(413, `request body over the limit of ${max} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolveP(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new HttpError(400, `${name} must be a number`);
  return v;
};

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const isLoopback = (h: string): boolean => h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);

/** The host part of a Host header value (lower case, IPv6 brackets removed), or null if unreadable. */
export function hostName(header: string): string | null {
  const h = header.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d+)?$/.exec(h);
  if (v6) return v6[1];
  const m = /^([a-z0-9.-]+)(?::\d+)?$/.exec(h);
  return m ? m[1].replace(/\.$/, '') : null;
}

/** Which Host names the server answers to: the bound address, loopback names when bound to loopback, any IP literal or this machine's name when bound to all interfaces. */
export function hostAllowed(name: string, bound: string, extra: readonly string[] = []): boolean {
  const b = bound.toLowerCase();
  if (name === b || extra.some((e) => e.toLowerCase() === name)) return true;
  if (isLoopback(b)) return LOOPBACK_NAMES.includes(name) || isLoopback(name);
  if (b === '0.0.0.0' || b === '::') return isIP(name) !== 0 || LOOPBACK_NAMES.includes(name) || name === os.hostname().toLowerCase();
  return false;
}

/** A listen failure as one line a user can act on. */
function listenError(e: NodeJS.ErrnoException, host: string, port: number): InputError {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (e.code) {
    case 'EADDRINUSE': return new InputError(`cannot listen on ${where}: the port is already in use (pick another with --port, or 0 for any free port)`);
    case 'EADDRNOTAVAIL': return new InputError(`cannot listen on ${where}: ${host} is not an address of this machine`);
    case 'EACCES': return new InputError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`);
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': return new InputError(`cannot listen on ${where}: host ${host} does not resolve`);
    default: return new InputError(`cannot listen on ${where}: ${e.code ?? ''} ${e.message}`.trim());
  }
}

/** Map an OpenAI chat-completions body onto a CompletionRequest (400 on anything malformed or out of range). */
export function requestFromBody(body: unknown, maxTokensCap = 4096): CompletionRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (b.stream === true) throw new HttpError(400, 'stream=true is not supported by this server');
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw new HttpError(400, 'messages must be a non-empty array');
  const messages: ChatMessage[] = b.messages.map((m: unknown, i: number) => {
    const mm = m as { role?: unknown; content?: unknown };
    if (!mm || (mm.role !== 'system' && mm.role !== 'user' && mm.role !== 'assistant')) throw new HttpError(400, `messages[${i}].role must be system, user or assistant`);
    if (typeof mm.content !== 'string') throw new HttpError(400, `messages[${i}].content must be a string`);
    return { role: mm.role, content: mm.content };
  });
  let stop: string[] | undefined;
  if (typeof b.stop === 'string') stop = [b.stop];
  else if (Array.isArray(b.stop)) {
    if (!b.stop.every((s) => typeof s === 'string')) throw new HttpError(400, 'stop must be a string or an array of strings');
    stop = b.stop as string[];
  } else if (b.stop !== undefined && b.stop !== null) throw new HttpError(400, 'stop must be a string or an array of strings');
  let jsonSchema: Record<string, unknown> | undefined;
  const rf = b.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined;
  if (rf && rf.type === 'json_schema') {
    const s = rf.json_schema?.schema;
    if (!s || typeof s !== 'object') throw new HttpError(400, 'response_format.json_schema.schema must be an object');
    jsonSchema = s as Record<string, unknown>;
  } else if (rf && rf.type !== 'text' && rf.type !== undefined) throw new HttpError(400, `response_format type ${String(rf.type)} is not supported`);
  const maxTokens = num(b.max_tokens ?? b.max_completion_tokens, 'max_tokens');
  const req: CompletionRequest = {
    messages,
    temperature: num(b.temperature, 'temperature'),
    topP: num(b.top_p, 'top_p'),
    topK: num(b.top_k, 'top_k'),
    maxTokens,
    seed: num(b.seed, 'seed'),
    stop,
    jsonSchema,
  };
  const bad = samplingProblem(req);
  if (bad) throw new HttpError(400, bad);
  if (maxTokens !== undefined && maxTokens > maxTokensCap) throw new HttpError(400, `max_tokens ${maxTokens} is over this server's cap of ${maxTokensCap}`);
  return req;
}

const positive = (name: string, v: number, max = Number.MAX_SAFE_INTEGER): number => {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new InputError(`${name} must be an integer in [1, ${max}], got ${v}`);
  return v;
};

/** Start the server; resolves once it listens. Listen failures are one-line InputErrors. */
export async function serveProvider(provider: LlmProvider, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`port must be an integer in [0, 65535], got ${port}`);
  if (host.trim() === '') throw new InputError('host must not be empty');
  const modelName = opts.modelName ?? provider.id();
  const maxBody = positive('maxBodyBytes', opts.maxBodyBytes ?? 1 << 20, 1 << 30);
  const maxTokensCap = positive('maxTokensCap', opts.maxTokensCap ?? 4096, MAX_TOKENS_CAP);
  const timeoutMs = positive('requestTimeoutMs', opts.requestTimeoutMs ?? 120_000, 24 * 3600_000);
  const maxPending = positive('maxPending', opts.maxPending ?? 8, 1 << 16);
  const apiKey = opts.apiKey === undefined || opts.apiKey === '' ? null : Buffer.from(opts.apiKey, 'utf8');
  const fingerprint = 'fp_' + createHash('sha256').update(provider.fingerprint ? await provider.fingerprint() : provider.id()).digest('hex').slice(0, 12);
  let counter = 0;
  let pending = 0;
  const send = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void => {
    const s = JSON.stringify(value);
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(s)) });
    res.end(s);
  };
  const authorized = (req: IncomingMessage): boolean => {
    if (!apiKey) return true;
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1], 'utf8');
    return given.length === apiKey.length && timingSafeEqual(given, apiKey);
  };
  const server = createServer((req, res) => {
    const t0 = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const finish = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
      send(res, status, value, headers);
      opts.onRequest?.({ method: req.method ?? '', path, status, ms: performance.now() - t0 });
    };
    void (async () => {
      try {
        const name = hostName(req.headers.host ?? '');
        if (!name || !hostAllowed(name, host, opts.allowedHosts)) throw new HttpError(403, `Host ${JSON.stringify(req.headers.host ?? '')} is not this server's address`, 'permission_error');
        const origin = req.headers.origin;
        if (origin !== undefined) {
          let oh: string | null = null;
          try { oh = hostName(new URL(origin).host); } catch { oh = null; }
          if (!oh || !hostAllowed(oh, host, opts.allowedHosts)) throw new HttpError(403, `Origin ${JSON.stringify(origin)} is not allowed`, 'permission_error');
        }
        if (!authorized(req)) throw new HttpError(401, 'missing or wrong API key (Authorization: Bearer ...)', 'authentication_error', { 'www-authenticate': 'Bearer' });
        if (req.method === 'GET' && path === '/v1/models') {
          finish(200, { object: 'list', data: [{ id: modelName, object: 'model', created: 0, owned_by: 'perennial' }] });
          return;
        }
        if (path === '/v1/chat/completions') {
          if (req.method !== 'POST') throw new HttpError(405, 'use POST');
          const ctype = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
          if (ctype !== 'application/json') throw new HttpError(415, `Content-Type must be application/json, got ${JSON.stringify(req.headers['content-type'] ?? '')}`);
          if (pending >= maxPending) throw new HttpError(429, `server busy: ${pending} requests running or waiting (limit ${maxPending})`, 'rate_limit_error', { 'retry-after': '1' });
          const raw = await readBody(req, maxBody);
          let body: unknown;
          try {
            body = JSON.parse(raw);
          } catch {
            throw new HttpError(400, 'body is not valid JSON');
          }
          const creq = requestFromBody(body, maxTokensCap);
          if (pending >= maxPending) throw new HttpError(429, `server busy: ${pending} requests running or waiting (limit ${maxPending})`, 'rate_limit_error', { 'retry-after': '1' });
          const ac = new AbortController();
          res.on('close', () => { if (!res.writableFinished) ac.abort(); });
          // The deadline answers the client even if a provider ignores the abort; the slot stays
          // taken until the provider really lets go, so the queue bound counts real work.
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<'timeout'>((r) => { timer = setTimeout(() => { ac.abort(); r('timeout'); }, timeoutMs - (performance.now() - t0)); });
          pending++;
          const work = provider.complete(creq, { signal: ac.signal }).finally(() => { pending--; });
          let r: CompletionResponse | 'timeout';
          try {
            r = await Promise.race([work, deadline]);
          } finally {
            clearTimeout(timer);
          }
          if (r === 'timeout') throw new HttpError(504, `generation did not finish within ${timeoutMs} ms`, 'timeout_error');
          if (r.error) {
            const e = r.error;
            if (e.kind === 'bad_request') throw new HttpError(400, e.message);
            if (e.kind === 'rate_limit') throw new HttpError(429, `${e.kind}: ${e.message}`, 'rate_limit_error', { 'retry-after': '1' });
            if (e.kind === 'timeout' || (e.kind === 'aborted' && ac.signal.aborted)) throw new HttpError(504, `${e.kind}: ${e.message}`, 'timeout_error');
            throw new HttpError(500, `${e.kind}: ${e.message}`, 'server_error');
          }
          const atCap = creq.maxTokens !== undefined && (r.usage?.completionTokens ?? 0) >= creq.maxTokens;
          finish(200, {
            id: `chatcmpl-${++counter}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: modelName,
            system_fingerprint: fingerprint,
            choices: [{ index: 0, message: { role: 'assistant', content: r.text }, finish_reason: atCap ? 'length' : 'stop' }],
            usage: r.usage ? { prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens, total_tokens: r.usage.promptTokens + r.usage.completionTokens } : undefined,
          });
          return;
        }
        throw new HttpError(404, `no route ${req.method} ${path}`);
      } catch (e) {
        const he = e instanceof HttpError ? e : new HttpError(500, (e as Error).message, 'server_error');
        if (res.headersSent) return;
        if (he.status === 413 || he.status === 415 || he.status === 429 || he.status === 403 || he.status === 401) {
          // The body was not read: answer first, then discard what the client still sends (up
          // to a bound) so it sees the status instead of a reset, and close the connection.
          let drained = 0;
          req.on('data', (c: Buffer) => { drained += c.length; if (drained > 64 * maxBody) req.socket.destroy(); });
          req.resume();
          finish(he.status, { error: { message: he.message, type: he.type } }, { ...he.headers, connection: 'close' });
          return;
        }
        finish(he.status, { error: { message: he.message, type: he.type } }, he.headers);
      }
    })();
  });
  // Bound the time a client may take to send its request (slow senders hold a socket).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolveP, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, host, port)));
    server.listen(port, host, () => resolveP());
  });
  const bound = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostInUrl}:${bound}/v1`,
    port: bound,
    server,
    close: () => new Promise<void>((resolveP) => {
      server.closeAllConnections?.();
      server.close(() => resolveP());
    }),
  };
}
