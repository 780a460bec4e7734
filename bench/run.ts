// `npm run bench [-- --quick] [names...]`: runs each `bench/*.bench.ts` as its own process with
// `--json bench-results/<name>.json` (plus `--quick` when given), then prints the ratios.
import { mkdirSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const names = args.filter((a) => !a.startsWith('--'));
const outDir = resolve(process.env.PERENNIAL_BENCH_OUT ?? 'bench-results');
mkdirSync(outDir, { recursive: true });
const benches = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort()
  .filter((f) => names.length === 0 || names.some((n) => f.includes(n)));
let failed = 0;
for (const b of benches) {
  const name = b.replace(/\.bench\.ts$/, '');
  process.stdout.write(`\n== bench: ${name}${quick ? ' (quick)' : ''}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, b), '--json', join(outDir, `${name}.json`), ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
  if (r.status !== 0) { failed++; process.stdout.write(`== ${name}: FAILED (exit ${r.status ?? r.signal})\n`); }
}
process.stdout.write(`\nbench: results in ${outDir}; ${benches.length - failed} ran, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
