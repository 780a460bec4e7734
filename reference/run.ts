// `npm run reference`: every area's checks against peers and real data. Each `reference/*.check.ts`
// is run as its own process (so one area's crash cannot hide another's result) and must exit
// non-zero on any failed check. Pass names to run a subset: `npm run reference -- crystal`.
// The shared data folder defaults to ../shared/data beside the checkout; `--data PATH` or
// PERENNIAL_SHARED_DATA points elsewhere. The data is read in place, never copied into the repo.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const di = argv.indexOf('--data');
const dataArg = di >= 0 ? argv[di + 1] : undefined;
if (di >= 0 && !dataArg) throw new Error('--data needs a path');
const filters = argv.filter((_, i) => i !== di && i !== di + 1);
const checks = readdirSync(here).filter((f) => f.endsWith('.check.ts')).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const data = resolve(dataArg ?? process.env.PERENNIAL_SHARED_DATA ?? resolve(here, '..', '..', 'shared', 'data'));
if (!existsSync(data)) process.stdout.write(`reference: shared data folder ${data} not found: checks that need real data will fail (pass --data PATH)\n`);
const env = { ...process.env, PERENNIAL_SHARED_DATA: data };
let failed = 0;
for (const c of checks) {
  process.stdout.write(`\n== reference: ${c}\n`);
  const t = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, c)], { stdio: 'inherit', env });
  const ok = r.status === 0;
  if (!ok) failed++;
  process.stdout.write(`== ${c}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
}
process.stdout.write(`\nreference: ${checks.length - failed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
