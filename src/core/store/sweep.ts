// Running a sweep: jobs not yet in the store go to local worker processes or onto Redis, and the
// sweep waits, showing done/running/failed/ETA, then writes a summary record.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, type Job as BullJob } from 'bullmq';
import { writeFileAtomic } from '../fsx.js';
import { RunRecorder, writeRecord } from '../record.js';
import { DEFAULT_QUEUE, redisConnection, type QueueJobData, type QueueJobResult } from './queue.js';
import { jobRecordPath, runJob } from './runner.js';
import type { RunStore } from './runs.js';
import { MAX_RETURNED_RECORD } from './worker.js';
import type { Job, Sweep } from './sweep-config.js';

export type JobState = 'waiting' | 'running' | 'done' | 'failed' | 'skipped';

export interface SweepOutcome {
  readonly sweep: string;
  readonly jobs: readonly { id: string; state: JobState; attempts: number; error: string | null; argv: readonly string[] }[];
  readonly summaryPath: string;
}

export interface SweepOptions {
  readonly local?: number;
  readonly redis?: string;
  readonly queue?: string;
  readonly retryFailed?: boolean;
  /** Progress stream (stderr by default) and seconds between lines when it is not a TTY. */
  readonly stream?: { write(s: string): unknown; isTTY?: boolean };
  readonly heartbeatSeconds?: number;
}

class Progress {
  private readonly t0 = Date.now();
  private lastLine = 0;
  private readonly tty: boolean;
  constructor(private readonly total: number, private readonly out: { write(s: string): unknown; isTTY?: boolean }, private readonly heartbeatMs: number, private readonly already: number) {
    this.tty = Boolean(out.isTTY) && process.env.CI !== 'true';
  }
  line(c: Record<JobState, number>): string {
    const s = (Date.now() - this.t0) / 1000;
    const doneHere = c.done - this.already;
    const left = c.waiting + c.running;
    const eta = doneHere > 0 && left > 0 ? `, ETA ${Math.ceil((s / doneHere) * left)} s` : '';
    return `sweep: ${c.done}/${this.total} done, ${c.running} running, ${c.failed} failed, ${c.waiting} waiting (${s.toFixed(0)} s${eta})`;
  }
  update(c: Record<JobState, number>, force = false): void {
    const now = Date.now();
    if (this.tty) { this.out.write(`\r${this.line(c)}\x1b[K`); return; }
    if (force || now - this.lastLine >= this.heartbeatMs) { this.lastLine = now; this.out.write(this.line(c) + '\n'); }
  }
  end(c: Record<JobState, number>): void {
    this.out.write((this.tty ? `\r${this.line(c)}\x1b[K` : this.line(c)) + '\n');
  }
}

function counts(states: Map<string, { state: JobState }>): Record<JobState, number> {
  const c: Record<JobState, number> = { waiting: 0, running: 0, done: 0, failed: 0, skipped: 0 };
  for (const v of states.values()) c[v.state === 'skipped' ? 'done' : v.state]++;
  return c;
}

/** Store bookkeeping must not stop a sweep: a busy store costs a line, the records are safe. */
function safe(what: string, fn: () => void): void {
  try { fn(); } catch (e) { process.stderr.write(`perennial: warning: ${what}: ${(e as Error).message.split('\n')[0]}\n`); }
}

export async function runSweep(sweep: Sweep, store: RunStore, o: SweepOptions): Promise<SweepOutcome> {
  const rec = new RunRecorder('sweep', { file: sweep.file, ...sweep.spec, local: o.local ?? null, redis: o.redis ? '(set)' : null, queue: o.queue ?? null }, null);
  const ids = sweep.jobs.map((j) => j.id);
  const inStore = store.jobsDone(ids);
  const before = store.jobStates(ids);
  type St = { state: JobState; attempts: number; error: string | null };
  const states = new Map<string, St>();
  const todo: Job[] = [];
  for (const j of sweep.jobs) {
    if (inStore.has(j.id)) { states.set(j.id, { state: 'skipped', attempts: before.get(j.id)?.attempts ?? 0, error: null }); continue; }
    const b = before.get(j.id);
    if (b?.state === 'failed' && !o.retryFailed) { states.set(j.id, { state: 'failed', attempts: b.attempts, error: b.error }); continue; }
    states.set(j.id, { state: 'waiting', attempts: 0, error: null });
    todo.push(j);
  }
  const out = o.stream ?? process.stderr;
  const quiet = process.env.PERENNIAL_QUIET === '1' && !o.stream;
  const nSkipped = ids.length - todo.length;
  if (!quiet) out.write(`sweep ${sweep.id}: ${ids.length} jobs, ${inStore.size} already in the store${nSkipped - inStore.size ? `, ${nSkipped - inStore.size} failed earlier (--retry-failed reruns them)` : ''}, ${todo.length} to run${o.redis ? ` on Redis queue ${o.queue ?? DEFAULT_QUEUE}` : ` in ${o.local} local worker process(es)`}\n`);
  const progress = new Progress(ids.length, quiet ? { write: () => true } : out, (o.heartbeatSeconds ?? 10) * 1000, inStore.size);
  for (const j of todo) safe('store: job state', () => store.setJob(j.id, sweep.id, j.argv, 'queued', null, 0));
  const t0 = Date.now();
  if (todo.length) {
    if (o.redis) await viaRedis(sweep, todo, store, states, o, progress);
    else await viaLocal(sweep, todo, store, states, Math.max(1, o.local ?? 1), progress);
  }
  const c = counts(states);
  progress.end(c);
  const wall = (Date.now() - t0) / 1000;
  const jobs = sweep.jobs.map((j) => ({ id: j.id, argv: j.argv, point: j.point, ...states.get(j.id)!, record: existsSync(jobRecordPath(store.path, j.id)) ? jobRecordPath(store.path, j.id) : null }));
  const summaryPath = join(dirname(store.path), 'sweeps', `${sweep.id}.json`);
  const ran = jobs.filter((j) => j.state === 'done').length;
  writeRecord(summaryPath, rec.finish({
    sweep: sweep.id, command: sweep.spec.command, jobs_total: ids.length, jobs_done: c.done, jobs_failed: c.failed, jobs_skipped: jobs.filter((j) => j.state === 'skipped').length,
    jobs_run: ran, run_wall_s: wall, jobs_per_minute: ran > 0 && wall > 0 ? (ran / wall) * 60 : null, mode: o.redis ? 'redis' : 'local', workers: o.redis ? null : o.local ?? 1, jobs,
  }));
  return { sweep: sweep.id, jobs: jobs.map((j) => ({ id: j.id, state: j.state, attempts: j.attempts, error: j.error, argv: j.argv })), summaryPath };
}

async function viaLocal(sweep: Sweep, todo: Job[], store: RunStore, states: Map<string, { state: JobState; attempts: number; error: string | null }>, n: number, progress: Progress): Promise<void> {
  const queue = todo.map((j) => ({ job: j, notBefore: 0 }));
  const timeoutMs = sweep.spec.timeout * 1000;
  const tick = setInterval(() => progress.update(counts(states)), 1000);
  const slot = async (): Promise<void> => {
    for (;;) {
      const next = queue.shift();
      if (!next) return;
      const wait = next.notBefore - Date.now();
      if (wait > 0) await sleep(wait);
      const st = states.get(next.job.id)!;
      st.state = 'running';
      st.attempts++;
      safe('store: job state', () => store.setJob(next.job.id, sweep.id, next.job.argv, 'running', null, st.attempts));
      try {
        await runJob({ id: next.job.id, argv: next.job.argv, html: sweep.spec.html }, store, { timeoutMs });
        st.state = 'done';
        st.error = null;
        safe('store: job state', () => store.setJob(next.job.id, sweep.id, next.job.argv, 'done', null, st.attempts));
      } catch (e) {
        st.error = (e as Error).message;
        if (st.attempts < sweep.spec.attempts) {
          st.state = 'waiting';
          queue.push({ job: next.job, notBefore: Date.now() + 500 * 2 ** (st.attempts - 1) });
        } else {
          st.state = 'failed';
          safe('store: job state', () => store.setJob(next.job.id, sweep.id, next.job.argv, 'failed', st.error, st.attempts));
        }
      }
      progress.update(counts(states));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(n, todo.length) }, slot));
  } finally {
    clearInterval(tick);
  }
}

async function viaRedis(sweep: Sweep, todo: Job[], store: RunStore, states: Map<string, { state: JobState; attempts: number; error: string | null }>, o: SweepOptions, progress: Progress): Promise<void> {
  const connection = redisConnection(o.redis!);
  const queue = new Queue<QueueJobData, QueueJobResult>(o.queue ?? DEFAULT_QUEUE, { connection: connection as never });
  queue.on('error', () => { /* the polling below notices and waits */ });
  const opts = (id: string) => ({ jobId: id, attempts: sweep.spec.attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: false });
  const data = (j: Job): QueueJobData => ({ argv: [...j.argv], html: sweep.spec.html, timeoutMs: sweep.spec.timeout * 1000, sweep: sweep.id });
  const enqueue = async (j: Job): Promise<void> => {
    const old = await queue.getJob(j.id);
    if (old) {
      const s = await old.getState();
      if (s !== 'completed' && s !== 'failed') return; // queued or running from an earlier invocation
      await old.remove();
    }
    await queue.add('job', data(j), opts(j.id));
  };
  let requeued = 0;
  try {
    for (const j of todo) await enqueue(j);
    const open = new Set(todo.map((j) => j.id));
    let warned = false;
    while (open.size) {
      progress.update(counts(states));
      await sleep(500);
      try {
        const batch = [...open];
        const jobs = await Promise.all(batch.map((id) => queue.getJob(id)));
        const st = await Promise.all(jobs.map((j) => (j ? j.getState() : Promise.resolve('missing'))));
        warned = false;
        for (let i = 0; i < batch.length; i++) {
          const id = batch[i], job = jobs[i] as BullJob<QueueJobData, QueueJobResult> | undefined, s = st[i];
          const me = states.get(id)!;
          const spec = todo.find((t) => t.id === id)!;
          if (s === 'completed' || (s === 'missing' && store.jobsDone([id]).has(id))) {
            if (!store.jobsDone([id]).has(id)) adoptResult(store, id, job?.returnvalue ?? null);
            me.state = store.jobsDone([id]).has(id) ? 'done' : me.state;
            if (me.state !== 'done') {
              const r = (job?.returnvalue ?? null) as QueueJobResult | null;
              if (r && typeof r.record !== 'string') {
                // Ran on a worker with its own store, but the record was too large to come back through
                // Redis: running it again would end the same way, so the job fails with where its record is.
                me.state = 'failed';
                me.attempts = job ? job.attemptsMade + 1 : me.attempts;
                me.error = `its record was too large to come back through Redis (the limit is ${MAX_RETURNED_RECORD} bytes) and stayed in the worker's store at ${r.path}: copy that file here and run \`perennial runs import\`, or give the workers this sweep's store`;
                open.delete(id);
                safe('store: job state', () => store.setJob(id, sweep.id, spec.argv, 'failed', me.error, me.attempts));
                continue;
              }
              await enqueue(spec); continue; // completed, but no result came back: run it again
            }
            me.attempts = job ? job.attemptsMade + 1 : me.attempts;
            me.error = null;
            open.delete(id);
            safe('store: job state', () => store.setJob(id, sweep.id, spec.argv, 'done', null, me.attempts));
          } else if (s === 'failed') {
            me.state = 'failed';
            me.attempts = job?.attemptsMade ?? me.attempts;
            me.error = job?.failedReason ?? 'failed';
            open.delete(id);
            safe('store: job state', () => store.setJob(id, sweep.id, spec.argv, 'failed', me.error, me.attempts));
          } else if (s === 'missing') {
            // Redis lost the job (restarted without persistence): the sweep knows its jobs, so it adds it again.
            await queue.add('job', data(spec), opts(id));
            requeued++;
            me.state = 'waiting';
          } else {
            me.state = s === 'active' ? 'running' : 'waiting';
          }
        }
      } catch (e) {
        if (!warned) process.stderr.write(`perennial: sweep: Redis unavailable (${(e as Error).message.split('\n')[0]}); waiting for it\n`);
        warned = true;
      }
    }
    if (requeued) process.stderr.write(`perennial: sweep: ${requeued} job(s) re-added after Redis lost them\n`);
  } finally {
    await queue.close().catch(() => {});
    (connection as { disconnect(): void }).disconnect();
  }
}

/** A job completed by a worker with another store: index the record it sent back, once. */
function adoptResult(store: RunStore, id: string, r: QueueJobResult | null): void {
  if (!r) return;
  const path = jobRecordPath(store.path, id);
  try {
    if (!existsSync(path)) {
      if (typeof r.record !== 'string') return;
      writeFileAtomic(path, r.record);
    }
    store.index(path, readFileSync(path, 'utf8'), id);
  } catch (e) {
    process.stderr.write(`perennial: warning: job ${id}: could not index its record here: ${(e as Error).message.split('\n')[0]}\n`);
  }
}
