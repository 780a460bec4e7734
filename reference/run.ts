// `npm run reference`: every area's checks against peers and real data. Each `reference/*.check.ts`
// is run as its own process (so one area's crash cannot hide another's result) and must exit
// non-zero on any failed check. Pass names to run a subset: `npm run reference -- crystal`.
// The shared data folder defaults to ../shared/data beside the checkout; `--data PATH` or
// PERENNIAL_SHARED_DATA points elsewhere. The data is read in place, never copied into the repo.
// Checks run two at a time (`--jobs N` for another count; they time nothing, so sharing the
// machine changes no result), the two longest first; each check's output is printed in one piece
// when it ends.
import { existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const di = argv.indexOf('--data');
const dataArg = di >= 0 ? argv[di + 1] : undefined;
if (di >= 0 && !dataArg) throw new Error('--data needs a path');
const ji = argv.indexOf('--jobs');
const jobs = ji >= 0 ? Number(argv[ji + 1]) : Math.max(1, Math.min(2, availableParallelism()));
if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16) throw new Error(`--jobs needs an integer 1-16, got ${argv[ji + 1]}`);
const filters = argv.filter((_, i) => i !== di && i !== di + 1 && i !== ji && i !== ji + 1);
// The longest checks (about 90 and 70 s; the rest take under 20) start first.
const LONG_FIRST = ['crystal.check.ts', 'llm.check.ts'];
const rank = (f: string): number => { const i = LONG_FIRST.indexOf(f); return i < 0 ? LONG_FIRST.length : i; };
const checks = readdirSync(here).filter((f) => f.endsWith('.check.ts')).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort((a, b) => rank(a) - rank(b));
const data = resolve(dataArg ?? process.env.PERENNIAL_SHARED_DATA ?? resolve(here, '..', '..', 'shared', 'data'));
if (!existsSync(data)) process.stdout.write(`reference: shared data folder ${data} not found: checks that need real data will fail (pass --data PATH)\n`);
const env = { ...process.env, PERENNIAL_SHARED_DATA: data };
let failed = 0;

function runCheck(c: string): Promise<void> {
  const t = Date.now();
  const chunks: Buffer[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, c)], { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((done) => {
    child.on('close', (code, signal) => {
      const ok = code === 0;
      if (!ok) failed++;
      process.stdout.write(`\n== reference: ${c}\n${Buffer.concat(chunks).toString()}== ${c}: ${ok ? 'ok' : `FAILED (exit ${code ?? signal})`} in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
      done();
    });
  });
}

const queue = [...checks];
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
  for (let c = queue.shift(); c !== undefined; c = queue.shift()) await runCheck(c);
}));
process.stdout.write(`\nreference: ${checks.length - failed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
