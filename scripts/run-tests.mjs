// Runs Node's test runner over test/**/*.test.ts (Node 20's --test takes no globs).
// Extra arguments filter the files by substring: `npm test -- crystal`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
// The runner starts files in the order given, two at a time. The README examples run their blocks
// one after another for minutes: started first (with the other long files next), the short files
// fill the other slot around them instead of the suite ending on them alone.
const LONG_FIRST = ['test/docs/readme-examples.test.ts', 'test/reliability/kill-', 'test/store/sweep', 'test/llm/selfknow'];
const rank = (f) => { const i = LONG_FIRST.findIndex((p) => f.startsWith(p)); return i < 0 ? LONG_FIRST.length : i; };
const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map((x) => x.f);
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/setup.ts', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, PERENNIAL_QUIET: process.env.PERENNIAL_QUIET ?? '1' },
});
process.exit(r.status ?? 1);
