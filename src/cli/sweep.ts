// `perennial sweep` and `perennial worker`: a grid of perennial command lines, run by local
// worker processes or by workers on any machine through a Redis queue (BullMQ).
import os from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { resolveStorePath } from '../core/store/db.js';
import { RunStore } from '../core/store/runs.js';
import { readSweep, type SweepCheck } from '../core/store/sweep-config.js';
import { runSweep } from '../core/store/sweep.js';
import { runWorker } from '../core/store/worker.js';
import type { AreaCli } from './types.js';
import { parseIntOption } from './util.js';

const STORE_HELP = 'run store (default: PERENNIAL_STORE, else runs/perennial.db); job records go to its folder\'s jobs/';

/** The sweep's command and option names must exist: checked against this program's commands. */
export function commandCheck(program: Command): SweepCheck {
  return (spec) => {
    let cmd: Command | undefined = program;
    for (const word of spec.command.split(' ')) {
      const next: Command | undefined = cmd!.commands.find((c) => c.name() === word);
      if (!next) return { path: ['command'], expected: `a perennial command (${cmd!.commands.map((c) => c.name()).join(', ')})`, found: spec.command };
      cmd = next;
    }
    if (cmd.commands.length) return { path: ['command'], expected: `a full command: ${spec.command} ${cmd.commands.map((c) => c.name()).join('|')}`, found: spec.command };
    if (['sweep', 'worker', 'serve', 'runs'].includes(spec.command.split(' ')[0])) return { path: ['command'], expected: 'a command that computes a record', found: spec.command };
    const longs = new Set(cmd.options.map((o) => o.long?.replace(/^--/, '')));
    if (!longs.has('json')) return { path: ['command'], expected: 'a command that writes a record with --json', found: spec.command };
    for (const part of ['args', 'grid'] as const) {
      for (const k of Object.keys(spec[part])) {
        if (!longs.has(k) && !longs.has(`no-${k}`)) return { path: [part, k], expected: `an option of perennial ${spec.command} (${[...longs].filter((l) => l !== 'json' && l !== 'html').map((l) => '--' + l).join(' ')})`, found: k };
      }
    }
    return null;
  };
}

function useStore(flag: string | undefined): RunStore {
  const path = resolveStorePath(flag);
  // Records this process writes (the summary) and its job processes index into the same store.
  process.env.PERENNIAL_STORE = path;
  return new RunStore(path);
}

function register(program: Command): void {
  program
    .command('sweep')
    .description('run a grid of perennial command lines (one job per point) in local worker processes or via Redis workers')
    .requiredOption('--config <file>', 'sweep file (YAML): command, args, grid')
    .option('--local <N>', 'worker processes on this machine (default: the number of cores)', parseIntOption('local'))
    .option('--redis <url>', 'enqueue the jobs on this Redis (BullMQ) for `perennial worker` processes, and wait for them')
    .option('--queue <name>', 'queue name on Redis', 'perennial')
    .option('--retry-failed', 'run again the jobs that failed in an earlier invocation')
    .option('--store <path>', STORE_HELP)
    .action(async (o: { config: string; local?: number; redis?: string; queue: string; retryFailed?: boolean; store?: string }) => {
      if (o.local !== undefined && o.redis) throw new InputError('give --local N or --redis URL, not both (start `perennial worker --redis URL` processes to run jobs here)');
      if (o.local !== undefined && !(o.local >= 1 && o.local <= 256)) throw new InputError(`--local must be 1..256, got ${o.local}`);
      const sweep = readSweep(o.config, commandCheck(program));
      const store = useStore(o.store);
      try {
        const local = o.redis ? undefined : (o.local ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
        const r = await runSweep(sweep, store, { local, redis: o.redis, queue: o.queue, retryFailed: o.retryFailed });
        const failed = r.jobs.filter((j) => j.state === 'failed');
        for (const f of failed.slice(0, 10)) process.stderr.write(`perennial: job ${f.id} failed after ${f.attempts} tries: ${f.error}\n`);
        process.stdout.write(`sweep ${r.sweep}: ${r.jobs.length - failed.length}/${r.jobs.length} jobs recorded; summary ${r.summaryPath}\n`);
        if (failed.length) {
          process.stdout.write(`${failed.length} failed: \`perennial sweep --config ${o.config} --retry-failed\` runs them again\n`);
          process.exitCode = 1;
        }
      } finally {
        store.close();
      }
    });
  program
    .command('worker')
    .description('take sweep jobs from Redis and run them until the queue has been empty for --idle-s seconds (at least 120 s before the first job)')
    .requiredOption('--redis <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
    .option('--queue <name>', 'queue name on Redis', 'perennial')
    .option('--concurrency <n>', 'jobs at once in this worker', parseIntOption('concurrency'), 1)
    .option('--idle-s <s>', 'exit after the queue has been empty this many seconds (0: never)', parseIntOption('idle-s'), 30)
    .option('--stall-s <s>', 'a job whose worker has not renewed its lock for this long is given to another worker', parseIntOption('stall-s'), 30)
    .option('--store <path>', STORE_HELP)
    .action(async (o: { redis: string; queue: string; concurrency: number; idleS: number; stallS: number; store?: string }) => {
      if (!(o.concurrency >= 1 && o.concurrency <= 256)) throw new InputError(`--concurrency must be 1..256, got ${o.concurrency}`);
      if (!(o.stallS >= 1 && o.stallS <= 3600)) throw new InputError(`--stall-s must be 1..3600, got ${o.stallS}`);
      if (!(o.idleS >= 0)) throw new InputError(`--idle-s must be >= 0, got ${o.idleS}`);
      const store = useStore(o.store);
      try {
        const r = await runWorker(store, { redis: o.redis, queue: o.queue, concurrency: o.concurrency, idleSeconds: o.idleS, stallSeconds: o.stallS });
        process.stdout.write(`worker: ${r.done} job(s) done, ${r.failed} failed try(s)\n`);
      } finally {
        store.close();
      }
    });
}

export const sweepCli: AreaCli = { name: 'sweep', register };
