// `perennial demo`: every area's miniature on embedded defaults, one HTML report and one JSON record.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { writeReport, SectionBuilder, type Section } from '../core/report.js';
import { DEMO_AREAS, loadAreas } from './areas.js';
import type { AreaCli } from './types.js';
import { parseIntOption, parseStringList } from './util.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description("run every area's miniature on embedded defaults; write one HTML report and a JSON record")
    .option('--out <dir>', 'output folder', 'perennial-demo')
    .option('--seed <n>', 'seed', parseIntOption('seed'), 0)
    .option('--full', 'full-size runs instead of the quick ones')
    .option('--only <areas>', `comma-separated areas to run (${DEMO_AREAS.join(', ')})`, parseStringList)
    .action(async (opts: { out: string; seed: number; full?: boolean; only?: string[] }) => {
      const unknown = (opts.only ?? []).filter((n) => !DEMO_AREAS.includes(n));
      if (unknown.length > 0) throw new InputError(`--only: unknown area${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; valid: ${DEMO_AREAS.join(', ')}`);
      const outDir = resolve(opts.out);
      mkdirSync(outDir, { recursive: true });
      const rec = new RunRecorder('demo', opts, opts.seed);
      const sections: Section[] = [];
      const metrics: Record<string, unknown> = {};
      const areas = (await loadAreas()).filter((a) => a.demo && (!opts.only || opts.only.includes(a.name)));
      for (const area of areas) {
        process.stderr.write(`demo: ${area.name} ...\n`);
        const areaDir = join(outDir, area.name);
        mkdirSync(areaDir, { recursive: true });
        try {
          const r = await rec.time(area.name, () => area.demo!({ outDir: areaDir, seed: opts.seed, quick: !opts.full }));
          sections.push(...r.sections);
          metrics[area.name] = r.metrics;
        } catch (e) {
          // One area failing must not lose the others' results: report it and go on.
          const msg = (e as Error).stack ?? String(e);
          process.stderr.write(`demo: ${area.name} failed: ${(e as Error).message}\n`);
          sections.push(new SectionBuilder(`${area.name}: failed`).text(msg).build());
          metrics[area.name] = { error: (e as Error).message };
        }
      }
      const record = rec.finish({ areas: metrics });
      const jsonPath = join(outDir, 'demo.json');
      const htmlPath = join(outDir, 'demo.html');
      writeRecord(jsonPath, record);
      await writeReport(htmlPath, 'perennial demo', sections, `seed ${opts.seed}, ${opts.full ? 'full' : 'quick'} mode, wall ${record.run.wall_s.toFixed(1)} s, linalg ${record.run.backend.linalg}`);
      process.stdout.write(`report: ${htmlPath}\nrecord: ${jsonPath}\n`);
      if (Object.values(metrics).some((m) => typeof m === 'object' && m !== null && 'error' in m)) process.exitCode = 1;
    });
}

export const demoCli: AreaCli = { name: 'demo', register: registerDemo };
