// Several OpenAI-compatible endpoints serving one model (a fleet of vLLM or llama.cpp servers,
// `openai:URL1,URL2,...#MODEL`) behind one LlmProvider. Requests queue in arrival order and go to
// the least loaded endpoint that is in service, at most `concurrency` at a time on each. A request
// whose endpoint fails (refused or reset connection, timeout, 429, 5xx, unreadable body) is put
// back at the head of the queue and sent to another endpoint, so a server that dies mid-run loses
// no work; nothing is ever sent twice at once (no hedging), so an answered request is never asked
// again. An endpoint failing `failureThreshold` times in a row is taken out of service and probed
// (GET /models) after a cooldown that doubles while the probes fail.
import { InputError, warn } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { canonicalJson } from './cache.js';
import { OpenAICompatibleProvider, type OpenAICompatibleOptions } from './openai.js';
import type { CompletionRequest, CompletionResponse, LlmProvider, ProviderError } from './provider.js';

export interface ReplicaOptions extends Omit<OpenAICompatibleOptions, 'baseURL' | 'model'> {
  /** `concurrency` (inherited) is per endpoint here (default 4). */
  /** Consecutive failures that take an endpoint out of service (default 3). */
  readonly failureThreshold?: number;
  /** First time out of service before a probe, in ms; doubled per failed probe (default 2000). */
  readonly cooldownMs?: number;
  /** Longest time out of service between probes, in ms (default 60000). */
  readonly maxCooldownMs?: number;
  /** Timeout of one health probe, in ms (default 5000). */
  readonly probeTimeoutMs?: number;
  /** Longest a request waits while every endpoint is out of service, in ms (default 300000). */
  readonly maxWaitMs?: number;
}

const OWN_KEYS = ['failureThreshold', 'cooldownMs', 'maxCooldownMs', 'probeTimeoutMs', 'maxWaitMs'] as const;
/** Most endpoints one spec may list (each one holds sockets and a queue slot). */
export const MAX_REPLICAS = 256;

export type EndpointState = 'up' | 'down' | 'probing';

export interface EndpointStats {
  readonly baseURL: string;
  readonly state: EndpointState;
  readonly inflight: number;
  /** Answers received from this endpoint. */
  readonly answered: number;
  /** Attempts that failed with a fault of the endpoint (retried elsewhere or reported). */
  readonly failures: number;
  /** Times it was taken out of service. */
  readonly takenOut: number;
}

interface Endpoint {
  readonly provider: OpenAICompatibleProvider;
  readonly index: number;
  state: EndpointState;
  inflight: number;
  consecutive: number;
  answered: number;
  failures: number;
  takenOut: number;
  cooldown: number;
  timer: NodeJS.Timeout | null;
  lastError: ProviderError | null;
}

interface Task {
  readonly req: CompletionRequest;
  readonly signal: AbortSignal | undefined;
  readonly t0: number;
  readonly resolve: (r: CompletionResponse) => void;
  /** Endpoints this request failed on since it last had a choice. */
  readonly avoid: Set<number>;
  attempts: number;
  /** Earliest time it may go back to an endpoint it failed on. */
  retryAt: number;
  /** When it last entered the queue (for maxWaitMs). */
  queuedAt: number;
  lastError: ProviderError | null;
  onAbort: (() => void) | null;
}

/** Endpoint faults: worth another endpoint. Everything else (4xx, bad_request, aborted) goes back to the caller as is. */
function endpointFault(e: ProviderError): boolean {
  return e.kind === 'connection' || e.kind === 'timeout' || e.kind === 'rate_limit' || e.kind === 'malformed' || (e.kind === 'http' && (e.status === undefined || e.status >= 500));
}

export class ReplicatedProvider implements LlmProvider {
  readonly model: string;
  private readonly endpoints: Endpoint[];
  private readonly limit: number;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly maxCooldownMs: number;
  private readonly probeTimeoutMs: number;
  private readonly maxWaitMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly apiKey: string | undefined;
  private readonly jitter: Rng;
  private readonly queue: Task[] = [];
  private rr = 0;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAt = Infinity;
  private closed = false;
  private lastEndpoint: Endpoint | null = null;

  constructor(urls: readonly string[], model: string, opts: ReplicaOptions = {}) {
    if (urls.length < 1) throw new InputError('a replicated openai spec needs at least one base URL');
    if (urls.length > MAX_REPLICAS) throw new InputError(`a replicated openai spec may list at most ${MAX_REPLICAS} base URLs, got ${urls.length}`);
    const own: Record<string, unknown> = {};
    const inner: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(opts)) ((OWN_KEYS as readonly string[]).includes(k) ? own : inner)[k] = v;
    const pos = (name: string, v: unknown, def: number, min: number): number => {
      const x = v === undefined ? def : v;
      if (typeof x !== 'number' || !Number.isFinite(x) || x < min) throw new InputError(`replica option ${name} must be a number >= ${min}, got ${String(x)}`);
      return x;
    };
    this.threshold = pos('failureThreshold', own.failureThreshold, 3, 1);
    this.cooldownMs = pos('cooldownMs', own.cooldownMs, 2000, 1);
    this.maxCooldownMs = Math.max(this.cooldownMs, pos('maxCooldownMs', own.maxCooldownMs, 60_000, 1));
    this.probeTimeoutMs = pos('probeTimeoutMs', own.probeTimeoutMs, 5000, 1);
    this.maxWaitMs = pos('maxWaitMs', own.maxWaitMs, 300_000, 0);
    // Each endpoint makes one attempt per dispatch: retries are this layer's, so that a dead
    // server's requests move to a live one at once instead of backing off against the dead one.
    const maxRetries = pos('maxRetries', inner.maxRetries, 3, 0);
    this.maxAttempts = maxRetries + urls.length;
    this.backoffMs = pos('backoffMs', inner.backoffMs, 500, 0);
    this.maxBackoffMs = pos('maxBackoffMs', inner.maxBackoffMs, 30_000, 0);
    this.limit = pos('concurrency', inner.concurrency, 4, 1);
    this.apiKey = (inner.apiKey as string | undefined) ?? process.env.OPENAI_API_KEY;
    this.jitter = new Rng(pos('seed', inner.seed, 0, -Infinity), 'replica-backoff');
    const seen = new Set<string>();
    this.endpoints = urls.map((u, index) => {
      const provider = new OpenAICompatibleProvider({ ...(inner as Omit<OpenAICompatibleOptions, 'baseURL' | 'model'>), baseURL: u.trim(), model, maxRetries: 0, concurrency: this.limit });
      const base = provider.options.baseURL;
      if (seen.has(base)) throw new InputError(`base URL ${base} is listed twice in the replicated spec`);
      seen.add(base);
      return { provider, index, state: 'up' as EndpointState, inflight: 0, consecutive: 0, answered: 0, failures: 0, takenOut: 0, cooldown: 0, timer: null, lastError: null };
    });
    this.model = model;
  }

  id(): string {
    return `openai:${this.endpoints.map((e) => e.provider.options.baseURL).join(',')}#${this.model}`;
  }

  async fingerprint(): Promise<string> {
    // The set of endpoints, not their order: the same fleet listed differently is the same model.
    return canonicalJson({ replicas: this.endpoints.map((e) => e.provider.options.baseURL).sort(), model: this.model });
  }

  /** The model name and system fingerprint the endpoint that answered last reported. */
  get lastServed(): { model: string | null; systemFingerprint: string | null } {
    return this.lastEndpoint?.provider.lastServed ?? { model: null, systemFingerprint: null };
  }

  stats(): EndpointStats[] {
    return this.endpoints.map((e) => ({ baseURL: e.provider.options.baseURL, state: e.state, inflight: e.inflight, answered: e.answered, failures: e.failures, takenOut: e.takenOut }));
  }

  /** Requests waiting for an endpoint. */
  get queued(): number {
    return this.queue.length;
  }

  complete(req: CompletionRequest, opts: { signal?: AbortSignal } = {}): Promise<CompletionResponse> {
    const signal = opts.signal;
    if (this.closed) return Promise.resolve({ text: '', error: { kind: 'aborted', message: 'provider closed' }, latencyMs: 0, attempts: 0 });
    if (signal?.aborted) return Promise.resolve({ text: '', error: { kind: 'aborted', message: 'aborted by caller' }, latencyMs: 0, attempts: 0 });
    return new Promise<CompletionResponse>((resolveP) => {
      const now = performance.now();
      const task: Task = { req, signal, t0: now, resolve: resolveP, avoid: new Set(), attempts: 0, retryAt: 0, queuedAt: now, lastError: null, onAbort: null };
      if (signal) {
        task.onAbort = () => {
          const i = this.queue.indexOf(task);
          if (i >= 0) {
            this.queue.splice(i, 1);
            this.finish(task, { text: '', error: { kind: 'aborted', message: 'aborted by caller' }, latencyMs: performance.now() - task.t0 });
          }
        };
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.endpoints) if (e.timer) { clearTimeout(e.timer); e.timer = null; }
    if (this.wakeTimer) { clearTimeout(this.wakeTimer); this.wakeTimer = null; }
    for (const t of this.queue.splice(0)) this.finish(t, { text: '', error: { kind: 'aborted', message: 'provider closed' }, latencyMs: performance.now() - t.t0 });
    await Promise.all(this.endpoints.map((e) => (e.provider as LlmProvider).close?.()));
  }

  private finish(t: Task, r: Omit<CompletionResponse, 'attempts'>): void {
    if (t.onAbort) t.signal?.removeEventListener('abort', t.onAbort);
    t.resolve({ ...r, attempts: t.attempts });
  }

  /** The endpoint for `t`, or null when it must wait. */
  private pick(t: Task, now: number): Endpoint | null {
    const up = this.endpoints.filter((e) => e.state === 'up');
    if (up.length === 0) return null;
    const free = up.filter((e) => e.inflight < this.limit);
    const fresh = free.filter((e) => !t.avoid.has(e.index));
    let pool = fresh;
    if (pool.length === 0) {
      // Every endpoint in service has failed this request already: back to them after a backoff.
      if (!up.every((e) => t.avoid.has(e.index)) || now < t.retryAt) return null;
      pool = free;
    }
    if (pool.length === 0) return null;
    const n = this.endpoints.length;
    let best: Endpoint | null = null;
    for (const e of pool) {
      if (!best || e.inflight < best.inflight || (e.inflight === best.inflight && (e.index - this.rr + n) % n < (best.index - this.rr + n) % n)) best = e;
    }
    this.rr = (best!.index + 1) % n;
    return best;
  }

  private dispatch(): void {
    if (this.closed) return;
    const now = performance.now();
    let nextWake = Infinity;
    for (let qi = 0; qi < this.queue.length;) {
      if (!this.endpoints.some((e) => e.state === 'up' && e.inflight < this.limit)) break;
      const t = this.queue[qi];
      const e = this.pick(t, now);
      if (!e) {
        if (t.retryAt > now) nextWake = Math.min(nextWake, t.retryAt);
        qi++;
        continue;
      }
      this.queue.splice(qi, 1);
      void this.run(t, e);
    }
    // Requests waiting while every endpoint is out: give up on those past maxWaitMs.
    if (this.queue.length && !this.endpoints.some((e) => e.state === 'up')) {
      for (let qi = 0; qi < this.queue.length;) {
        const t = this.queue[qi];
        if (now - t.queuedAt >= this.maxWaitMs) {
          this.queue.splice(qi, 1);
          const last = t.lastError ? `; last error: ${t.lastError.kind}: ${t.lastError.message}` : '';
          this.finish(t, { text: '', error: { kind: 'connection', message: `all ${this.endpoints.length} endpoints out of service for ${Math.round(now - t.queuedAt)} ms${last}` }, latencyMs: now - t.t0 });
        } else {
          nextWake = Math.min(nextWake, t.queuedAt + this.maxWaitMs, now + 1000);
          qi++;
        }
      }
    }
    if (this.queue.length && nextWake < Infinity) this.wake(nextWake);
  }

  /** Run dispatch again at `at` (a referenced timer: a caller is waiting on the queue). */
  private wake(at: number): void {
    if (this.wakeTimer && this.wakeAt <= at) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => { this.wakeTimer = null; this.wakeAt = Infinity; this.dispatch(); }, Math.max(0, at - performance.now()));
  }

  private async run(t: Task, e: Endpoint): Promise<void> {
    t.attempts++;
    e.inflight++;
    let r: CompletionResponse;
    try {
      r = await e.provider.complete(t.req, t.signal ? { signal: t.signal } : {});
    } catch (err) {
      r = { text: '', error: { kind: 'internal', message: (err as Error).message }, latencyMs: 0 };
    }
    e.inflight--;
    const now = performance.now();
    if (!r.error) {
      e.consecutive = 0;
      e.answered++;
      this.lastEndpoint = e;
      this.finish(t, { ...r, latencyMs: now - t.t0 });
    } else if (!endpointFault(r.error) || t.signal?.aborted || this.closed) {
      this.finish(t, { ...r, latencyMs: now - t.t0 });
    } else {
      e.failures++;
      e.consecutive++;
      e.lastError = r.error;
      t.lastError = r.error;
      if (e.state === 'up' && e.consecutive >= this.threshold) this.takeOut(e);
      if (t.attempts >= this.maxAttempts) {
        this.finish(t, { ...r, error: { ...r.error, message: `${r.error.message} (after ${t.attempts} attempts over ${new Set([...t.avoid, e.index]).size} endpoints)` }, latencyMs: now - t.t0 });
      } else {
        t.avoid.add(e.index);
        // Used only if every endpoint in service has failed this request: then it waits this long.
        const base = this.backoffMs * 2 ** Math.min(30, t.attempts - 1);
        t.retryAt = now + Math.min(this.maxBackoffMs, base * (0.5 + this.jitter.next()));
        t.queuedAt = now;
        // Head of the queue: a retried request was asked for before anything still waiting.
        this.queue.unshift(t);
      }
    }
    this.dispatch();
  }

  private takeOut(e: Endpoint): void {
    e.state = 'down';
    e.takenOut++;
    e.cooldown = e.cooldown ? Math.min(this.maxCooldownMs, e.cooldown * 2) : this.cooldownMs;
    const last = e.lastError ? ` (last: ${e.lastError.kind}: ${e.lastError.message.slice(0, 120)})` : '';
    warn('llm.replicas.down', `${e.provider.options.baseURL} taken out of service after ${e.consecutive} failures in a row${last}; probing again in ${e.cooldown} ms`);
    this.scheduleProbe(e);
  }

  private scheduleProbe(e: Endpoint): void {
    if (this.closed) return;
    e.timer = setTimeout(() => { e.timer = null; void this.probe(e); }, e.cooldown);
    // Probes alone never keep a process alive; a waiting request holds the wake timer.
    e.timer.unref();
  }

  private async probe(e: Endpoint): Promise<void> {
    if (this.closed) return;
    e.state = 'probing';
    let alive = false;
    try {
      const headers: Record<string, string> = {};
      if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
      const res = await fetch(`${e.provider.options.baseURL}/models`, { headers, signal: AbortSignal.timeout(this.probeTimeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      // Any answer below 500 means the server is there (a server without /models says 404).
      alive = res.status < 500;
    } catch {
      alive = false;
    }
    if (this.closed) return;
    if (alive) {
      e.state = 'up';
      e.consecutive = 0;
      e.cooldown = 0;
      warn('llm.replicas.up', `${e.provider.options.baseURL} answered its probe; back in service`);
      this.dispatch();
    } else {
      e.state = 'down';
      e.cooldown = Math.min(this.maxCooldownMs, e.cooldown * 2);
      this.scheduleProbe(e);
    }
  }
}

/**
 * The provider for `openai:URL1,URL2,...#MODEL`: one OpenAI-compatible provider per URL behind a
 * shared queue. `opts` are the openai provider options (`concurrency` per endpoint, `maxRetries`
 * re-dispatches beyond one per endpoint) plus the replica options.
 */
export function replicatedProvider(urls: readonly string[], model: string, opts: ReplicaOptions = {}): ReplicatedProvider {
  const list = urls.map((u) => u.trim());
  if (list.some((u) => u === '')) throw new InputError(`empty base URL in the replicated spec list ${JSON.stringify(urls.join(','))}`);
  return new ReplicatedProvider(list, model, opts);
}
