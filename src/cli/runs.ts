// `perennial runs import|list|show|compare`: the run store from the command line.
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { outputGuard } from '../core/fsx.js';
import { compareRuns } from '../core/store/compare.js';
import { formatNumber } from '../core/format.js';
import { RunStore, type RunRow } from '../core/store/runs.js';
import type { AreaCli } from './types.js';

const STORE_HELP = 'run store (default: PERENNIAL_STORE, else runs/perennial.db)';

const fmt = (v: number | null | undefined): string => formatNumber(v);

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const seedText = (s: RunRow['seed']): string => (s === null ? '—' : Array.isArray(s) ? (s.length > 4 ? `${s[0]}..${s.at(-1)} (${s.length})` : s.join(',')) : String(s));

/** The `runs list --json` shape: {"runs": [{id, command, job, created, metrics}]}. */
export function listJson(rows: readonly RunRow[]): { runs: { id: string; command: string; job: string | null; created: string; seed: unknown; method: string | null; dataset: string | null; path: string; metrics: Record<string, number> }[] } {
  return { runs: rows.map((r) => ({ id: r.id, command: r.command, job: r.job, created: r.created, seed: r.seed, method: r.method, dataset: r.dataset, path: r.path, metrics: r.metrics })) };
}

function withStore<T>(flag: string | undefined, readonly: boolean, fn: (s: RunStore) => T): T {
  const s = RunStore.open(flag, { readonly });
  try { return fn(s); } finally { s.close(); }
}

function register(program: Command): void {
  const runs = program.command('runs').description('the run store: every record perennial writes, indexed in SQLite (import, list, show, compare)');
  runs
    .command('import')
    .description('index every JSON run record under DIR (rebuilds the store from the record files)')
    .argument('<dir>', 'folder of records')
    .option('--store <path>', STORE_HELP)
    .action((dir: string, o: { store?: string }) => {
      outputGuard().inputFolder(dir, '<dir>', /\.json$/i).cache(o.store, '--store').check();
      const r = withStore(o.store, false, (s) => s.importDir(dir, (f, why) => process.stderr.write(`perennial: skipped ${f}: ${why}\n`)));
      process.stdout.write(`indexed ${r.indexed} record(s), skipped ${r.skipped}\n`);
    });
  runs
    .command('list')
    .description('runs in the store, newest first')
    .option('--command <name>', 'only this command, e.g. "theory regression"')
    .option('--method <name>', 'only runs of this method')
    .option('--dataset <name>', 'only runs on this dataset')
    .option('--since <date>', 'only runs started at or after this date or ISO time')
    .option('--job <id>', 'only the run of this sweep job')
    .option('--json', 'print {"runs": [...]} as JSON')
    .option('--store <path>', STORE_HELP)
    .action((o: { command?: string; method?: string; dataset?: string; since?: string; job?: string; json?: boolean; store?: string }) => {
      const rows = withStore(o.store, true, (s) => s.list(o));
      if (o.json) { process.stdout.write(JSON.stringify(listJson(rows), null, 2) + '\n'); return; }
      if (rows.length === 0) { process.stdout.write('no runs\n'); return; }
      process.stdout.write(table(['id', 'created', 'command', 'seed', 'method', 'dataset', 'job'],
        rows.map((r) => [r.id, r.created.replace(/\.\d+Z$/, 'Z'), r.command, seedText(r.seed), r.method ?? '—', r.dataset ?? '—', r.job ?? '—'])));
    });
  runs
    .command('show')
    .description('one run: where its record is, its configuration and metrics')
    .argument('<id>', 'run id (or a unique prefix of at least 4 digits)')
    .option('--json', 'print the run (with its full record) as JSON')
    .option('--store <path>', STORE_HELP)
    .action((id: string, o: { json?: boolean; store?: string }) => {
      const r = withStore(o.store, true, (s) => s.get(id));
      if (o.json) { process.stdout.write(JSON.stringify(r, null, 2) + '\n'); return; }
      process.stdout.write(`run ${r.id}: ${r.command}\nrecord  ${r.path}\ncreated ${r.created}\nseed    ${seedText(r.seed)}\njob     ${r.job ?? '—'}\n`);
      process.stdout.write(`config  ${JSON.stringify(r.config)}\n`);
      const ms = Object.entries(r.metrics);
      process.stdout.write(`metrics (${ms.length}):\n`);
      for (const [k, v] of ms.slice(0, 200)) process.stdout.write(`  ${k} = ${fmt(v)}\n`);
      const ss = Object.entries(r.series);
      if (ss.length) process.stdout.write(`series: ${ss.map(([k, s]) => `${k} (${s.kind}, ${s.values.length})`).join(', ')}\n`);
    });
  runs
    .command('compare')
    .description('metrics side by side; for runs sharing seeds, paired differences with 95% intervals')
    .argument('<ids...>', 'two or more run ids')
    .option('--json', 'print the comparison as JSON')
    .option('--metrics <n>', 'metrics shown in the table (text output)', '40')
    .option('--store <path>', STORE_HELP)
    .action((ids: string[], o: { json?: boolean; store?: string; metrics: string }) => {
      if (new Set(ids).size !== ids.length) throw new InputError('runs compare: a run id is listed twice');
      const c = withStore(o.store, true, (s) => compareRuns(ids.map((id) => s.get(id))));
      if (o.json) { process.stdout.write(JSON.stringify(c, null, 2) + '\n'); return; }
      const nShow = Math.min(Math.max(1, Number(o.metrics) || 40), 1000);
      process.stdout.write(table(['run', 'command', 'seed', 'variant'], c.runs.map((r) => [r.id, r.command, seedText(r.seed as RunRow['seed']), r.variant])));
      process.stdout.write('\n' + table(['metric', ...c.runs.map((r) => r.id)], c.metrics.slice(0, nShow).map((m) => [m.metric, ...m.values.map(fmt)])));
      if (c.metrics.length > nShow) process.stdout.write(`(${c.metrics.length - nShow} more metrics: --metrics N or --json)\n`);
      if (c.paired.length) {
        process.stdout.write(`\npaired differences (variant - ${c.paired[0].baseline}) over shared seeds, 95% t interval:\n`);
        process.stdout.write(table(['metric', 'variant', 'n', 'mean diff', 'interval'],
          c.paired.slice(0, nShow * 4).map((p) => [p.metric, p.variant, String(p.n), fmt(p.mean), p.lo === null ? '(one seed)' : `[${fmt(p.lo)}, ${fmt(p.hi)}]`])));
      } else {
        process.stdout.write('\nno paired differences: the runs share no seed across variants\n');
      }
    });
}

export const runsCli: AreaCli = { name: 'runs', register };
