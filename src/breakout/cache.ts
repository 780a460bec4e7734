// A completion cache on disk, so an evaluation killed halfway resumes without repeating calls.
// Append-only JSONL: one line per finished call, keyed by the SHA-256 of canonical JSON of
// (provider id, request). Provider errors are not cached (a resumed run retries them); model
// answers are, whether or not they parse. A torn last line (killed mid-write) is skipped with a
// warning. Keys never contain secrets: only the provider's id() and the request go in.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { warn } from '../core/errors.js';
import { refuseSymlink } from '../core/fsx.js';
import type { CompletionRequest, CompletionResponse, LlmProvider } from '../llm/provider.js';

/** JSON with object keys sorted, so equal requests give equal keys. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

export function cacheKey(providerId: string, request: CompletionRequest): string {
  return createHash('sha256').update(canonicalJson({ provider: providerId, request })).digest('hex');
}

interface CacheLine { readonly key: string; readonly text: string; readonly usage?: CompletionResponse['usage'] }

export class CompletionCache {
  private readonly map = new Map<string, CacheLine>();
  /** Calls answered from the cache / sent to the provider since construction. */
  hits = 0;
  misses = 0;
  constructor(readonly path: string | null) {
    if (!path || !existsSync(path)) return;
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((l, i) => {
      if (!l.trim()) return;
      try {
        const v = JSON.parse(l) as CacheLine;
        if (typeof v.key === 'string' && typeof v.text === 'string') this.map.set(v.key, v);
      } catch {
        warn('breakout.cache.torn', `cache ${path}:${i + 1}: skipping an unreadable line (interrupted write)`);
      }
    });
  }

  get size(): number { return this.map.size; }

  private readonly idents = new WeakMap<LlmProvider, Promise<string>>();

  /** id() plus, when the provider offers one, its content fingerprint (so a changed model file at the same path misses). */
  private ident(provider: LlmProvider): Promise<string> {
    let p = this.idents.get(provider);
    if (!p) {
      const fp = (provider as { fingerprint?: () => Promise<string> }).fingerprint;
      p = typeof fp === 'function' ? fp.call(provider).then((f) => `${provider.id()}#${f}`, () => provider.id()) : Promise.resolve(provider.id());
      this.idents.set(provider, p);
    }
    return p;
  }

  async complete(provider: LlmProvider, request: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse> {
    const key = cacheKey(await this.ident(provider), request);
    const hit = this.map.get(key);
    if (hit) {
      this.hits++;
      return { text: hit.text, latencyMs: 0, cached: true, ...(hit.usage ? { usage: hit.usage } : {}) };
    }
    this.misses++;
    let resp: CompletionResponse;
    try {
      resp = await provider.complete(request, signal ? { signal } : undefined);
    } catch (e) {
      // A provider that throws per call is reported as data, like any per-call fault.
      return { text: '', error: { kind: 'internal', message: (e as Error).message }, latencyMs: 0 };
    }
    if (!resp.error) {
      const line: CacheLine = { key, text: resp.text, ...(resp.usage ? { usage: resp.usage } : {}) };
      this.map.set(key, line);
      if (this.path) {
        mkdirSync(dirname(resolve(this.path)), { recursive: true });
        refuseSymlink(this.path);
        appendFileSync(this.path, JSON.stringify(line) + '\n');
      }
    }
    return resp;
  }
}
