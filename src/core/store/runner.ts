// Running one sweep job: a fresh `perennial` process per try (a job's global state, memory and
// crashes stay its own), its record written to <store folder>/jobs/<id>.json and indexed under
// the job's id. A try that finds the job already in the store, or its record already on disk
// (an earlier try died after writing it), does not run the command again.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readRecord } from '../record-read.js';
import { RunStore } from './runs.js';
import { readFileSync } from 'node:fs';

export interface JobSpec {
  readonly id: string;
  readonly argv: readonly string[];
  readonly html?: boolean;
}

export interface JobResult {
  readonly id: string;
  readonly path: string;
  readonly runId: string;
  /** False when an earlier try had already produced the record. */
  readonly ran: boolean;
}

export const MAX_STDERR_TAIL = 4000;

export function jobRecordPath(storePath: string, id: string): string {
  return join(dirname(storePath), 'jobs', `${id}.json`);
}

/** `node [--import tsx] <job entry>`: the same code as this process (sources under tsx, dist otherwise). */
export function perennialCommand(): { cmd: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  const entry = join(dirname(here), '..', '..', 'cli', ts ? 'job-entry.ts' : 'job-entry.js');
  // tsx by its file URL: a bare `--import tsx` resolves from the job's working directory, where
  // a sweep started outside the checkout has no node_modules.
  const tsx = ts ? pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href : null;
  return { cmd: process.execPath, args: [...(tsx ? ['--import', tsx] : []), entry] };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Index the job's record, retrying a busy store a few times; throws when it still fails. */
export async function indexJobRecord(store: RunStore, path: string, id: string, tries = 4): Promise<string> {
  let last: unknown;
  for (let t = 0; t < tries; t++) {
    try {
      return store.index(path, readFileSync(path, 'utf8'), id);
    } catch (e) {
      last = e;
      if (!/busy|locked/i.test((e as Error).message)) break;
      await sleep(200 * 2 ** t);
    }
  }
  throw new Error(`record ${path} written but the store write failed: ${(last as Error).message.split('\n')[0]}`);
}

export interface RunOptions {
  readonly timeoutMs: number;
  /** Called with the child once it runs (tests find its pid; workers kill it on shutdown). */
  readonly onChild?: (c: ChildProcess) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export async function runJob(job: JobSpec, store: RunStore, opts: RunOptions): Promise<JobResult> {
  const path = jobRecordPath(store.path, job.id);
  const have = store.list({ job: job.id, limit: 1 })[0];
  if (have) return { id: job.id, path: have.path, runId: have.id, ran: false };
  if (existsSync(path)) {
    // Written atomically, so present means complete; a record of another command line cannot
    // have this name (the name is the hash of the command line).
    readRecord(path);
    return { id: job.id, path, runId: await indexJobRecord(store, path, job.id), ran: false };
  }
  mkdirSync(dirname(path), { recursive: true });
  const { cmd, args } = perennialCommand();
  const argv = [...args, ...job.argv, '--json', path, ...(job.html ? ['--html', path.replace(/\.json$/, '.html')] : [])];
  const child = spawn(cmd, argv, {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...opts.env, PERENNIAL_JOB: job.id, PERENNIAL_STORE: store.path, PERENNIAL_QUIET: '1' },
  });
  opts.onChild?.(child);
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => { tail = (tail + d.toString('utf8')).slice(-MAX_STDERR_TAIL); });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('error', (e) => { tail += `\n${e.message}`; });
    child.on('close', (c, s) => res({ code: c, signal: s }));
  }).finally(() => clearTimeout(timer));
  if (code !== 0) {
    const why = signal ? `killed by ${signal}` : `exit ${code}`;
    throw new Error(`perennial ${job.argv.join(' ')}: ${why}${tail.trim() ? `: ${tail.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
  }
  if (!existsSync(path)) throw new Error(`perennial ${job.argv.join(' ')} exited 0 but wrote no record at ${path}`);
  // The child indexed it already unless its store write failed; then this is the retry.
  const now = store.list({ job: job.id, limit: 1 })[0];
  return { id: job.id, path, runId: now ? now.id : await indexJobRecord(store, path, job.id), ran: true };
}
