// `perennial llm serve`: an OpenAI-compatible server (`GET /v1/models`, `POST /v1/chat/completions`)
// in front of any LlmProvider, bound to 127.0.0.1 unless asked otherwise. Non-streaming only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import type { ChatMessage, CompletionRequest, LlmProvider } from './provider.js';

export interface ServeOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Model name reported by /v1/models (default: the provider id). */
  readonly modelName?: string;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number;
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
  constructor(readonly status: number, message: string, readonly type = 'invalid_request_error') {
    super(message);
  }
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolveP, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        reject(new HttpError(413, `request body over ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolveP(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new HttpError(400, `${name} must be a number`);
  return v;
};

/** Map an OpenAI chat-completions body onto a CompletionRequest (400 on anything malformed). */
export function requestFromBody(body: unknown): CompletionRequest {
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
  return {
    messages,
    temperature: num(b.temperature, 'temperature'),
    topP: num(b.top_p, 'top_p'),
    topK: num(b.top_k, 'top_k'),
    maxTokens,
    seed: num(b.seed, 'seed'),
    stop,
    jsonSchema,
  };
}

/** Start the server; resolves once it listens. */
export async function serveProvider(provider: LlmProvider, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const modelName = opts.modelName ?? provider.id();
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const fingerprint = 'fp_' + createHash('sha256').update(provider.fingerprint ? await provider.fingerprint() : provider.id()).digest('hex').slice(0, 12);
  let counter = 0;
  const send = (res: ServerResponse, status: number, value: unknown): void => {
    const s = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
    res.end(s);
  };
  const server = createServer((req, res) => {
    const t0 = performance.now();
    const path = (req.url ?? '/').split('?')[0]!;
    const finish = (status: number, value: unknown): void => {
      send(res, status, value);
      opts.onRequest?.({ method: req.method ?? '', path, status, ms: performance.now() - t0 });
    };
    void (async () => {
      try {
        if (req.method === 'GET' && path === '/v1/models') {
          finish(200, { object: 'list', data: [{ id: modelName, object: 'model', created: 0, owned_by: 'perennial' }] });
          return;
        }
        if (path === '/v1/chat/completions') {
          if (req.method !== 'POST') throw new HttpError(405, 'use POST');
          const raw = await readBody(req, maxBody);
          let body: unknown;
          try {
            body = JSON.parse(raw);
          } catch {
            throw new HttpError(400, 'body is not valid JSON');
          }
          const creq = requestFromBody(body);
          const ac = new AbortController();
          res.on('close', () => { if (!res.writableFinished) ac.abort(); });
          const r = await provider.complete(creq, { signal: ac.signal });
          if (r.error) throw new HttpError(r.error.kind === 'rate_limit' ? 429 : 500, `${r.error.kind}: ${r.error.message}`, 'server_error');
          finish(200, {
            id: `chatcmpl-${++counter}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: modelName,
            system_fingerprint: fingerprint,
            choices: [{ index: 0, message: { role: 'assistant', content: r.text }, finish_reason: 'stop' }],
            usage: r.usage ? { prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens, total_tokens: r.usage.promptTokens + r.usage.completionTokens } : undefined,
          });
          return;
        }
        throw new HttpError(404, `no route ${req.method} ${path}`);
      } catch (e) {
        const he = e instanceof HttpError ? e : new HttpError(500, (e as Error).message, 'server_error');
        if (!res.headersSent) finish(he.status, { error: { message: he.message, type: he.type } });
      }
    })();
  });
  await new Promise<void>((resolveP, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolveP());
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostInUrl}:${port}/v1`,
    port,
    server,
    close: () => new Promise<void>((resolveP) => {
      server.closeAllConnections?.();
      server.close(() => resolveP());
    }),
  };
}
