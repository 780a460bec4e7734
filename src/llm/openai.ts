// OpenAI-compatible HTTP provider (`/v1/chat/completions`: vLLM, llama.cpp's server, Ollama,
// hosted APIs, `perennial llm serve`). Node's fetch, no client library. Per-call faults come back
// as data: refused connections, timeouts, malformed bodies and HTTP errors each have a kind.
// 429, 5xx, timeouts and connection failures are retried a bounded number of times with jittered
// exponential backoff, honouring Retry-After; a semaphore bounds concurrent requests. Response
// bodies are streamed with a byte cap, so a server cannot make the client hold an unbounded body.
import { InputError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { Rng } from '../core/rng.js';
import { canonicalJson } from './cache.js';
import type { CompletionRequest, CompletionResponse, LlmProvider, ProviderError } from './provider.js';

export interface OpenAICompatibleOptions {
  /** e.g. `http://127.0.0.1:8080/v1` (a trailing `/v1` is added when missing). */
  readonly baseURL: string;
  readonly model: string;
  /** Sent as a Bearer token; never part of ids or cache keys. Default: $OPENAI_API_KEY if set. */
  readonly apiKey?: string;
  /** Requests in flight at once (default 4). */
  readonly concurrency?: number;
  /** Per attempt, in ms (default 60000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt for 429/5xx/timeouts/connection failures (default 3). */
  readonly maxRetries?: number;
  /** First backoff in ms, doubled per retry, with +-50 % jitter (default 500). */
  readonly backoffMs?: number;
  /** Longest wait honoured from Retry-After, in ms (default 30000). */
  readonly maxBackoffMs?: number;
  /** Send `response_format: json_schema` when a request carries a schema (default true). */
  readonly jsonSchemaFormat?: boolean;
  /** Seed of the backoff jitter. */
  readonly seed?: number;
  /** Largest response body read, in bytes (default 16 MiB); a longer one is cut off and reported. */
  readonly maxResponseBytes?: number;
}

const KNOWN = ['baseURL', 'model', 'apiKey', 'concurrency', 'timeoutMs', 'maxRetries', 'backoffMs', 'maxBackoffMs', 'jsonSchemaFormat', 'seed', 'maxResponseBytes'];

class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

interface ChatCompletionBody {
  model?: unknown;
  system_fingerprint?: unknown;
  choices?: { message?: { content?: unknown } }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolveP) => {
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolveP(); }
    signal?.addEventListener('abort', done, { once: true });
  });
}

class BodyTooLarge extends Error {}

/** The body as text, read chunk by chunk and abandoned (the stream cancelled) past `cap` bytes. */
async function readCapped(res: Response, cap: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > cap) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLarge(`response body of ${declared} bytes is over maxResponseBytes ${cap}`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(`response body over maxResponseBytes ${cap} (stopped reading at ${total} bytes)`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Retry-After as seconds or an HTTP date -> ms (null when absent or unreadable). */
export function parseRetryAfter(v: string | null, now = Date.now()): number | null {
  if (!v) return null;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const d = Date.parse(v);
  return Number.isFinite(d) ? Math.max(0, d - now) : null;
}

export class OpenAICompatibleProvider implements LlmProvider {
  readonly options: Readonly<Required<Omit<OpenAICompatibleOptions, 'apiKey'>>>;
  private readonly apiKey: string | undefined;
  private readonly sem: Semaphore;
  private readonly jitter: Rng;
  /** The model name and system fingerprint the server last reported. */
  lastServed: { model: string | null; systemFingerprint: string | null } = { model: null, systemFingerprint: null };

  constructor(opts: OpenAICompatibleOptions) {
    checkOptionKeys(opts, KNOWN, 'openai provider');
    let url: URL;
    try {
      url = new URL(opts.baseURL);
    } catch {
      throw new InputError(`baseURL is not a URL: ${JSON.stringify(opts.baseURL)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`baseURL must be http(s), got ${url.protocol}`);
    let base = url.toString().replace(/\/+$/, '');
    if (!/\/v1$/.test(base)) base += '/v1';
    if (!opts.model) throw new InputError('openai provider needs a model name (openai:BASE_URL#MODEL)');
    const pos = (name: string, v: number, min: number): number => {
      if (!Number.isFinite(v) || v < min) throw new InputError(`${name} must be a number >= ${min}, got ${v}`);
      return v;
    };
    this.options = Object.freeze({
      baseURL: base,
      model: opts.model,
      concurrency: pos('concurrency', opts.concurrency ?? 4, 1),
      timeoutMs: pos('timeoutMs', opts.timeoutMs ?? 60_000, 1),
      maxRetries: pos('maxRetries', opts.maxRetries ?? 3, 0),
      backoffMs: pos('backoffMs', opts.backoffMs ?? 500, 0),
      maxBackoffMs: pos('maxBackoffMs', opts.maxBackoffMs ?? 30_000, 0),
      jsonSchemaFormat: opts.jsonSchemaFormat ?? true,
      seed: opts.seed ?? 0,
      maxResponseBytes: pos('maxResponseBytes', opts.maxResponseBytes ?? 16 << 20, 1),
    });
    this.apiKey = opts.apiKey ?? process.env.OPENAI_API_KEY;
    this.sem = new Semaphore(this.options.concurrency);
    this.jitter = new Rng(this.options.seed, 'openai-backoff');
  }

  id(): string {
    return `openai:${this.options.baseURL}#${this.options.model}`;
  }

  async fingerprint(): Promise<string> {
    return canonicalJson({ baseURL: this.options.baseURL, model: this.options.model });
  }

  /** The JSON body sent for a request (exported for tests and for the server's parity). */
  body(req: CompletionRequest): Record<string, unknown> {
    const b: Record<string, unknown> = { model: this.options.model, messages: req.messages.map((m) => ({ role: m.role, content: m.content })), stream: false };
    if (req.temperature !== undefined) b.temperature = req.temperature;
    if (req.topP !== undefined) b.top_p = req.topP;
    if (req.topK !== undefined) b.top_k = req.topK;
    if (req.maxTokens !== undefined) b.max_tokens = req.maxTokens;
    if (req.seed !== undefined) b.seed = req.seed;
    if (req.stop && req.stop.length) b.stop = [...req.stop];
    if (req.jsonSchema && this.options.jsonSchemaFormat) b.response_format = { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: req.jsonSchema } };
    return b;
  }

  complete(req: CompletionRequest, opts: { signal?: AbortSignal } = {}): Promise<CompletionResponse> {
    return this.sem.run(() => this.completeWithRetries(req, opts.signal));
  }

  private async completeWithRetries(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse> {
    const t0 = performance.now();
    let attempts = 0;
    for (;;) {
      attempts++;
      const r = await this.attempt(req, signal);
      const k = r.error?.kind;
      const retryable = r.error && (k === 'rate_limit' || k === 'connection' || k === 'timeout' || (k === 'http' && (r.error.status ?? 0) >= 500));
      if (!r.error || !retryable || attempts > this.options.maxRetries || signal?.aborted) {
        return { ...r.response, latencyMs: performance.now() - t0, attempts };
      }
      const base = this.options.backoffMs * 2 ** (attempts - 1);
      const jittered = base * (0.5 + this.jitter.next());
      const wait = Math.min(this.options.maxBackoffMs, r.retryAfterMs ?? jittered);
      await sleep(wait, signal);
    }
  }

  private async attempt(req: CompletionRequest, signal?: AbortSignal): Promise<{ response: Omit<CompletionResponse, 'latencyMs'>; error?: ProviderError; retryAfterMs?: number | null }> {
    const fail = (error: ProviderError, retryAfterMs: number | null = null) => ({ response: { text: '', error }, error, retryAfterMs });
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    let raw: string;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
      res = await fetch(`${this.options.baseURL}/chat/completions`, { method: 'POST', headers, body: JSON.stringify(this.body(req)), signal: combined });
      raw = await readCapped(res, this.options.maxResponseBytes);
    } catch (e) {
      if (e instanceof BodyTooLarge) return fail({ kind: 'malformed', message: e.message, status: res!.status });
      if (signal?.aborted) return fail({ kind: 'aborted', message: 'aborted by caller' });
      if (timeout.aborted) return fail({ kind: 'timeout', message: `no complete response within ${this.options.timeoutMs} ms` });
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return fail({ kind: 'connection', message: `${cause?.code ?? ''} ${cause?.message ?? (e as Error).message}`.trim() });
    }
    if (res.status === 429) return fail({ kind: 'rate_limit', message: `HTTP 429: ${raw.slice(0, 200)}`, status: 429 }, parseRetryAfter(res.headers.get('retry-after')));
    if (!res.ok) return fail({ kind: 'http', message: `HTTP ${res.status}: ${raw.slice(0, 200)}`, status: res.status }, res.status >= 500 ? parseRetryAfter(res.headers.get('retry-after')) : null);
    let body: ChatCompletionBody;
    try {
      body = JSON.parse(raw) as ChatCompletionBody;
    } catch {
      return fail({ kind: 'malformed', message: `response is not JSON: ${JSON.stringify(raw.slice(0, 120))}`, status: res.status });
    }
    const content = body?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') return fail({ kind: 'malformed', message: 'response has no choices[0].message.content string', status: res.status });
    this.lastServed = {
      model: typeof body.model === 'string' ? body.model : null,
      systemFingerprint: typeof body.system_fingerprint === 'string' ? body.system_fingerprint : null,
    };
    const pt = body.usage?.prompt_tokens, ct = body.usage?.completion_tokens;
    const usage = typeof pt === 'number' && typeof ct === 'number' ? { promptTokens: pt, completionTokens: ct } : undefined;
    return { response: { text: content, usage } };
  }
}
