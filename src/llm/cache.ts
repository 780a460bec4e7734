// Response cache for model calls. The key is the SHA-256 of the canonical JSON (sorted keys) of
// everything that can change an answer: provider id and fingerprint (model hash, template,
// threads), rendered messages, every sampling parameter, the schema, seed and repeat index, and
// library versions. Storage is append-only JSONL, fsynced per entry, so a killed run resumes with
// every completed call and no duplicates; a torn last line is cut off on open. Errors are never
// cached, so a retry after a broken endpoint recomputes them.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { ParseError } from '../core/errors.js';
import { refuseSymlink } from '../core/fsx.js';
import type { CompletionRequest, CompletionResponse } from './provider.js';

/** JSON with object keys sorted at every level; undefined members dropped (as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export interface CacheKeyParts {
  readonly providerId: string;
  /** Model identity beyond the id (file hash, API fingerprint, template, threads). */
  readonly fingerprint: string;
  readonly repeatIndex: number;
  /** Library versions or anything else the caller wants to pin. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The cache key of one call: every field of the request counts, including seed and repeat index. */
export function cacheKey(req: CompletionRequest, parts: CacheKeyParts): string {
  return sha256Hex(canonicalJson({
    provider: parts.providerId,
    fingerprint: parts.fingerprint,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature: req.temperature ?? null,
    topP: req.topP ?? null,
    topK: req.topK ?? null,
    maxTokens: req.maxTokens ?? null,
    stop: req.stop ? [...req.stop] : null,
    schema: req.jsonSchema ? sha256Hex(canonicalJson(req.jsonSchema)) : null,
    seed: req.seed ?? null,
    repeat: parts.repeatIndex,
    extra: parts.extra ?? null,
  }));
}

export interface CachedResponse {
  readonly text: string;
  readonly usage?: CompletionResponse['usage'];
  readonly latencyMs: number;
}

interface Line {
  readonly key: string;
  readonly value: CachedResponse;
}

/**
 * An append-only JSONL file that survives a kill: on open every complete line is read (`onLine`
 * may throw a ParseError for a bad one) and a torn last line, the trace of a write cut short, is
 * cut off before anything is appended, so the next entry starts on a line of its own. Each append
 * is one write of one whole line followed by fsync. Shared by the response cache and the samples
 * log, so both recover the same way.
 */
export class JsonlAppendLog {
  private fd: number | null = null;
  readonly path: string;
  /** Torn tails cut off on open (0 or 1). */
  readonly repaired: number = 0;

  constructor(path: string, onLine: (value: unknown, line: number, text: string) => void) {
    this.path = resolve(path);
    mkdirSync(dirname(this.path), { recursive: true });
    // The log is appended to in place: never through a symbolic link planted at its name.
    refuseSymlink(this.path);
    if (existsSync(this.path)) {
      const text = readFileSync(this.path, 'utf8');
      const lines = text.split('\n');
      // Everything after the last newline is a torn write.
      const tail = lines.pop()!;
      lines.forEach((l, i) => {
        if (l.trim() === '') return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(l);
        } catch {
          throw new ParseError(this.path, i + 1, 'a JSON line', l);
        }
        onLine(parsed, i + 1, l);
      });
      if (tail.length > 0) {
        const fd = openSync(this.path, 'r+');
        try {
          ftruncateSync(fd, fstatSync(fd).size - Buffer.byteLength(tail, 'utf8'));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        this.repaired = 1;
      }
    }
    this.fd = openSync(this.path, 'a');
  }

  append(value: unknown): void {
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    const buf = Buffer.from(JSON.stringify(value) + '\n', 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export class ResponseCache {
  private readonly map = new Map<string, CachedResponse>();
  private readonly log: JsonlAppendLog | null = null;
  readonly path: string | null;
  hits = 0;
  misses = 0;
  /** Lines dropped on open (torn tail from a killed run). */
  readonly repaired: number = 0;

  /** `path` null: memory only. */
  constructor(path: string | null) {
    this.path = path ? resolve(path) : null;
    if (!this.path) return;
    const file = this.path;
    this.log = new JsonlAppendLog(file, (v, line, text) => {
      const parsed = v as Line | null;
      if (typeof parsed?.key !== 'string' || typeof parsed.value?.text !== 'string') throw new ParseError(file, line, 'an object with key and value.text', text, -1, 'key');
      this.map.set(parsed.key, parsed.value);
    });
    this.repaired = this.log.repaired;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): CachedResponse | undefined {
    const v = this.map.get(key);
    if (v) this.hits++;
    else this.misses++;
    return v;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Store a successful response (an error response is refused: errors are never cached). */
  put(key: string, r: CompletionResponse): void {
    if (r.error) return;
    if (this.map.has(key)) return;
    const value: CachedResponse = { text: r.text, usage: r.usage, latencyMs: r.latencyMs };
    this.map.set(key, value);
    this.log?.append({ key, value });
  }

  close(): void {
    this.log?.close();
  }
}
