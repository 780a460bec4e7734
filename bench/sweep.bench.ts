// `npm run bench -- sweep [--quick]` (or `node --import tsx bench/sweep.bench.ts --json F [--quick]`):
// sweep throughput with 1 and 2 local worker processes. The same grid of small `theory regression`
// jobs (8, 4 with --quick) runs once per worker count, each into a fresh store, through
// runSweep exactly as `perennial sweep --local N` does; every job is a process that loads the CLI
// and writes and indexes its record, so this measures the sweep machinery, not the model.
// speedup = jobs/min with 2 workers / with 1 (2 would be perfect; on a shared 2-core machine
// expect less). No peer: the number to watch is the speedup and the per-job overhead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../src/cli/index.js';
import { commandCheck } from '../src/cli/sweep.js';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { closeIndexStore } from '../src/core/store/hook.js';
import { RunStore } from '../src/core/store/runs.js';
import { parseSweepText } from '../src/core/store/sweep-config.js';
import { runSweep } from '../src/core/store/sweep.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ji = args.indexOf('--json');
const json = ji >= 0 ? args[ji + 1] : undefined;
const JOBS = quick ? 4 : 8;
const WORKERS = [1, 2];

const seeds = Array.from({ length: JOBS }, (_, i) => i);
const text = `command: theory regression\nargs: {tasks: 2, n: 20, p: 10, repeats: 2, sigma2: 1}\ngrid: {seed: [${seeds.join(', ')}]}\nattempts: 1\n`;
const check = commandCheck(await buildProgram());
const rec = new RunRecorder('bench sweep', { jobs: JOBS, workers: WORKERS, quick }, null);
const rows: { workers: number; jobs: number; done: number; wall_s: number; jobs_per_minute: number; s_per_job: number }[] = [];
const dir = mkdtempSync(join(tmpdir(), 'perennial-bench-sweep-'));
const prevStore = process.env.PERENNIAL_STORE;
try {
  for (const n of WORKERS) {
    const storePath = join(dir, `w${n}`, 'perennial.db');
    // The summary record runSweep writes is indexed into this store too, as in `perennial sweep`.
    process.env.PERENNIAL_STORE = storePath;
    const sweep = parseSweepText(text, `bench-sweep-${n}.yaml`, check);
    const store = new RunStore(storePath);
    try {
      const t0 = performance.now();
      const r = await runSweep(sweep, store, { local: n, stream: { write: () => true } });
      const wall = (performance.now() - t0) / 1000;
      const done = r.jobs.filter((j) => j.state === 'done').length;
      const records = store.list({ command: 'theory regression' }).length;
      if (done !== JOBS || records !== JOBS) {
        process.stdout.write(`sweep with ${n} worker(s): ${done}/${JOBS} jobs done, ${records} records; errors: ${r.jobs.map((j) => j.error).filter(Boolean).join(' | ')}\n`);
        process.exitCode = 1;
      }
      rows.push({ workers: n, jobs: JOBS, done, wall_s: wall, jobs_per_minute: (done / wall) * 60, s_per_job: wall / Math.max(done, 1) });
      process.stdout.write(`sweep, ${n} local worker(s): ${done} jobs in ${wall.toFixed(1)} s = ${((done / wall) * 60).toFixed(1)} jobs/min (${(wall / Math.max(done, 1)).toFixed(2)} s per job)\n`);
    } finally {
      store.close();
      closeIndexStore();
    }
  }
} finally {
  if (prevStore === undefined) delete process.env.PERENNIAL_STORE; else process.env.PERENNIAL_STORE = prevStore;
  rmSync(dir, { recursive: true, force: true });
}
const speedup = rows.length === 2 && rows[0]!.jobs_per_minute > 0 ? rows[1]!.jobs_per_minute / rows[0]!.jobs_per_minute : null;
if (speedup !== null) process.stdout.write(`speedup 2 workers / 1: ${speedup.toFixed(2)} (2 would be perfect; machine has shared cores: expect noise)\n`);
if (json) writeRecord(json, rec.finish({ jobs: JOBS, throughput: rows, speedup_2_over_1: speedup }));
