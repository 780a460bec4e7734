// The Redis side of sweeps, on BullMQ: one queue (default "perennial") whose jobs carry a
// command line and whose ids are the sweep job ids, so enqueuing a point twice adds it once.
import { createRequire } from 'node:module';
import { InputError } from '../errors.js';
import { jobId } from './sweep-config.js';

export const DEFAULT_QUEUE = 'perennial';
export const MAX_ARGV = 1000;

export interface QueueJobData {
  readonly argv: string[];
  readonly html: boolean;
  readonly timeoutMs: number;
  readonly sweep: string;
}

export interface QueueJobResult {
  readonly path: string;
  readonly runId: string;
  /** The record's text when small enough, so a coordinator on another machine can index it. */
  readonly record: string | null;
}

/** An ioredis connection for BullMQ (commands wait through reconnects rather than failing). */
export function redisConnection(url: string): unknown {
  let u: URL;
  try { u = new URL(url); } catch { throw new InputError(`--redis expects a URL such as redis://127.0.0.1:6379, got ${JSON.stringify(url)}`); }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new InputError(`--redis expects a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  let IORedis: new (url: string, opts: Record<string, unknown>) => { on(ev: string, f: (e: Error) => void): void };
  try {
    const mod = createRequire(import.meta.url)('ioredis') as { default?: unknown };
    IORedis = (mod.default ?? mod) as typeof IORedis;
  } catch {
    throw new InputError('--redis needs the ioredis package (BullMQ\'s Redis client): npm install ioredis');
  }
  const conn = new IORedis(url, {
    maxRetriesPerRequest: null,
    // Reconnect forever, at most 1 s apart: a Redis restart is a pause, not the end of a sweep.
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  });
  conn.on('error', () => { /* reported by the callers' own checks; ioredis reconnects */ });
  return conn;
}

/** Checks a job taken from Redis before running anything: its id must be the hash of its command line. */
export function checkQueueJob(id: string | undefined, data: unknown): QueueJobData {
  const d = data as Partial<QueueJobData> | null;
  if (!d || !Array.isArray(d.argv) || d.argv.length === 0 || d.argv.length > MAX_ARGV || !d.argv.every((a) => typeof a === 'string' && a.length <= 10000)) {
    throw new Error(`queue job ${id}: no valid command line`);
  }
  if (d.argv.some((a) => a === '--json' || a === '--html' || a === '--store')) throw new Error(`queue job ${id}: the command line names its own outputs`);
  if (id !== jobId(d.argv)) throw new Error(`queue job ${id}: the id is not the hash of its command line`);
  return { argv: d.argv, html: d.html === true, timeoutMs: typeof d.timeoutMs === 'number' && d.timeoutMs > 0 ? Math.min(d.timeoutMs, 7 * 24 * 3600e3) : 24 * 3600e3, sweep: String(d.sweep ?? '') };
}
