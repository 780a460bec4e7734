// `perennial worker`: takes jobs from the Redis queue until it has been empty for a while (or
// until stopped) and runs each in its own process. BullMQ keeps a lock on each job
// while this worker lives; when the worker dies the lock lapses and another worker's stalled-job
// check puts the job back, so a killed worker costs a retry, never a lost job.
import { readFileSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { DEFAULT_QUEUE, checkQueueJob, redisConnection, type QueueJobData, type QueueJobResult } from './queue.js';
import { runJob } from './runner.js';
import type { RunStore } from './runs.js';

export const MAX_RETURNED_RECORD = 1024 * 1024;
/** The limit in force: PERENNIAL_MAX_RETURNED_RECORD can only lower it (the tests use a tiny one). */
function returnedRecordLimit(): number {
  const v = Number(process.env.PERENNIAL_MAX_RETURNED_RECORD);
  return Number.isInteger(v) && v >= 0 ? Math.min(v, MAX_RETURNED_RECORD) : MAX_RETURNED_RECORD;
}
export const FIRST_JOB_WAIT_S = 120;

export interface WorkerOptions {
  readonly redis: string;
  readonly queue?: string;
  readonly concurrency?: number;
  /** Exit after the queue has been empty this long (seconds); 0: never. */
  readonly idleSeconds: number;
  /** Seconds without a lock renewal after which a job counts as stalled (its worker died). */
  readonly stallSeconds: number;
  readonly log?: (line: string) => void;
}

export async function runWorker(store: RunStore, o: WorkerOptions): Promise<{ done: number; failed: number }> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const name = o.queue ?? DEFAULT_QUEUE;
  const conn = redisConnection(o.redis);
  const probe = redisConnection(o.redis);
  const children = new Set<ChildProcess>();
  let done = 0, failed = 0, busy = 0;
  // Set by the processor: a job taken since the last poll of the queue below counts as work even
  // when it started and ended between two polls (a worker that never saw the queue busy waited
  // FIRST_JOB_WAIT_S after such a job instead of its idle time).
  let tookJob = false;
  const worker = new Worker<QueueJobData, QueueJobResult>(name, async (job) => {
    const d = checkQueueJob(job.id, job.data);
    busy++;
    tookJob = true;
    try {
      const r = await runJob({ id: job.id!, argv: d.argv, html: d.html }, store, {
        timeoutMs: d.timeoutMs,
        onChild: (c) => { children.add(c); c.on('close', () => children.delete(c)); },
      });
      let record: string | null = null;
      try { if (statSync(r.path).size <= returnedRecordLimit()) record = readFileSync(r.path, 'utf8'); } catch { /* path only */ }
      log(`worker: job ${job.id} ${r.ran ? 'done' : 'already recorded'} (run ${r.runId})`);
      return { path: r.path, runId: r.runId, record };
    } finally {
      busy--;
    }
  }, {
    connection: conn as never,
    concurrency: Math.max(1, o.concurrency ?? 1),
    lockDuration: o.stallSeconds * 1000,
    stalledInterval: Math.max(500, (o.stallSeconds * 1000) / 2),
    maxStalledCount: 3,
  });
  worker.on('error', () => { /* connection errors: ioredis reconnects, the idle check below waits */ });
  worker.on('completed', () => { done++; });
  worker.on('failed', (job, err) => { failed++; log(`worker: job ${job?.id} try ${job?.attemptsMade} failed: ${err.message.split('\n')[0]}`); });
  const queue = new Queue(name, { connection: probe as never });
  queue.on('error', () => {});
  const stop = async (): Promise<void> => {
    for (const c of children) c.kill('SIGTERM');
    await worker.close(true).catch(() => {});
  };
  let stopping = false;
  const onSignal = (): void => { if (!stopping) { stopping = true; log('worker: stopping'); } };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    let idleSince = Date.now();
    // A worker may start before the sweep has enqueued anything: until it has seen a job it
    // waits at least FIRST_JOB_WAIT_S before calling the queue empty.
    let seenWork = false;
    while (!stopping) {
      await sleep(500);
      try {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        const pending = Object.values(c).reduce((a, b) => a + b, 0);
        if (pending > 0 || busy > 0 || tookJob) { idleSince = Date.now(); seenWork = true; }
        tookJob = false;
      } catch {
        idleSince = Date.now(); // Redis away: not idle, waiting for it
      }
      const limit = seenWork ? o.idleSeconds : Math.max(o.idleSeconds, FIRST_JOB_WAIT_S);
      if (o.idleSeconds > 0 && Date.now() - idleSince >= limit * 1000) break;
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await stop();
    await queue.close().catch(() => {});
    (conn as { disconnect(): void }).disconnect();
    (probe as { disconnect(): void }).disconnect();
  }
  return { done, failed };
}
