// `perennial cil ...`: backbone pretraining and class-incremental runs (every method in the registry, Co2L/CILA and ATLAS).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { initTf } from '../core/tensor.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { writeReport } from '../core/report.js';
import { outputGuard } from '../core/fsx.js';
import {
  checkDatasetName, cilDemo, cilSections, cilSummaryLines, LEARNERS, loadMiniature, mergeCilRecords, obtainBackbone, planRun, runParts,
  camelKey, readRunConfig, RUN_CONFIG_KEYS, type RunConfig, type RunCliOptions,
} from '../continual/index.js';
import type { AreaCli, DemoContext, DemoResult } from './types.js';
import { parseFloatOption, parseIntOption, parseSeeds, parseStringList } from './util.js';
import { addAtlasOptions, addCo2lOptions } from './continual-cila.js';
import { writeRunOutputs } from './continual-write.js';

/** "10" -> seeds 0..9; "3..5" -> seeds 3, 4, 5; "1,4,7" -> those seeds. */
export { parseSeeds } from './util.js';

/**
 * Flags over the config file over the defaults: a flag given on the command line wins, then the
 * config's key, then the flag's default. Returns the merged options and the keys set by either.
 */
export function resolveRunOptions(flags: Record<string, unknown>, sourceOf: (camel: string) => string | undefined, config: RunConfig | null, configFile: string | null): { options: Record<string, unknown>; given: Set<string>; resolved: Record<string, unknown> } {
  const options: Record<string, unknown> = { ...flags };
  const given = new Set<string>();
  const resolved: Record<string, unknown> = {};
  for (const k of RUN_CONFIG_KEYS) {
    const c = camelKey(k);
    const src = sourceOf(c);
    if (src === 'cli') given.add(k);
    else if (config && (config as Record<string, unknown>)[k] !== undefined) {
      let v = (config as Record<string, unknown>)[k];
      if (k === 'methods' && typeof v === 'string') v = parseStringList(v);
      if (k === 'seeds') v = typeof v === 'number' ? parseSeeds(String(v)) : typeof v === 'string' ? parseSeeds(v) : v;
      options[c] = v;
      given.add(k);
    }
    if (options[c] !== undefined) resolved[k] = options[c];
  }
  if (configFile) resolved.config = configFile;
  return { options, given, resolved };
}

async function runCommand(flags: RunCliOptions, cmd: Command): Promise<void> {
  // Files named on the command line are checked before the config is read (the config may be the clash).
  outputGuard().input(flags.config, '--config').input(flags.features, '--features').input(flags.labels, '--labels').input(flags.testFeatures, '--test-features').input(flags.testLabels, '--test-labels')
    .inputFolder(flags.backbone, '--backbone').inputFolder(flags.checkpoints, '--checkpoints', /^(config\.json|seed-\d+(\/.*)?)$/)
    .output(flags.json, '--json').output(flags.html, '--html').check();
  const fileConfig = flags.config ? readRunConfig(flags.config) : null;
  const { options, given, resolved } = resolveRunOptions(flags as unknown as Record<string, unknown>, (c) => cmd.getOptionValueSource(c), fileConfig, flags.config ? resolve(flags.config) : null);
  const plan = await planRun(options, given, resolved);
  await writeRunOutputs(await runParts(plan.parts, plan.resolvedConfig), { json: String(options.json), html: options.html as string | undefined });
}

export const continualCli: AreaCli = {
  name: 'continual',
  register(program: Command): void {
    const cil = program.command('cil').description(`class-incremental learning. Frozen-backbone methods (cil run): ${[...LEARNERS.keys()].join(', ')}; contrastive replay trained end to end (cil co2l, or cil run --methods co2l,...): co2l, co2l-l<lambda>, co2l-val, cila[-variant]; adapters on a multimodal stand-in (cil atlas): atlas`);
    cil.command('pretrain')
      .description('pretrain the miniature backbone on data disjoint from the CIL sessions; saves weights + manifest (architecture, data, seed, sha256)')
      .option('--dataset <name>', 'fashion-mnist | synthetic', 'fashion-mnist')
      .requiredOption('--out <dir>', 'folder for manifest.json and weights.bin')
      .option('--seed <n>', 'seed', parseIntOption('seed'), 0)
      .option('--epochs <n>', 'epochs (default 10, 3 with --quick)', parseIntOption('epochs'))
      .option('--quick', 'a quarter of the data and 3 epochs')
      .option('--json <file>', 'run record')
      .action(async (o: { dataset: string; out: string; seed: number; epochs?: number; quick?: boolean; json?: string }) => {
        outputGuard().outputFolder(o.out, '--out').output(o.json, '--json').check();
        await initTf();
        const mini = loadMiniature(checkDatasetName(o.dataset), { quick: o.quick });
        const dir = resolve(o.out);
        if (existsSync(join(dir, 'manifest.json'))) throw new InputError(`${dir} already holds a backbone; choose another --out`);
        const rec = new RunRecorder('cil pretrain', o, o.seed);
        const bb = await rec.time('pretrain', () => obtainBackbone(mini, dir, { seed: o.seed, epochs: o.epochs, quick: o.quick ?? false }));
        process.stdout.write(`backbone: ${dir} sha256 ${bb.manifest.sha256} final loss ${bb.manifest.finalLoss?.toFixed(4)}\n`);
        if (o.json) writeRecord(resolve(o.json), rec.finish({ dir, sha256: bb.manifest.sha256, finalLoss: bb.manifest.finalLoss, data: bb.manifest.data }));
      });
    const run = cil.command('run');
    run
      .description('run continual learners over seeds; writes {dataset, split, seeds, runs, summary} JSON')
      .option('--config <file>', 'a YAML or JSON experiment: every flag of this command is a key (`drift-compensation: true`); flags given here override it; the record stores the resolved config (configs/ holds the reference experiments)')
      .option('--methods <list>', `comma-separated, any mix: ${[...LEARNERS.keys()].join(', ')} (frozen backbone); co2l, co2l-l<lambda>, co2l-val, cila[-variant] (as in cil co2l); atlas (as in cil atlas). Each kind runs on its own stream; one record holds them all`, parseStringList, ['simplecil', 'ranpac', 'safe'])
      .option('--dataset <name>', 'fashion-mnist | synthetic', 'fashion-mnist')
      .option('--split <BxIncy>', 'sessions as PILOT names them: B<base>Inc<increment>, e.g. B2Inc2, B0Inc10 (sessions of 10 from the start), B50Inc10 (default per dataset)')
      .option('--seeds <n|list>', 'number of seeds (0..n-1), a range a..b, or a comma list (default 0; atlas: 5, 2 with --quick)', parseSeeds)
      .option('--json <file>', 'result record (required, here or in --config)')
      .option('--html <file>', 'HTML report')
      .option('--quick', 'a quarter of the data (the demo setting)')
      .option('--resume', 'continue from the checkpoints of an interrupted run with the same configuration')
      .option('--backbone <dir>', 'pretrained backbone checkpoint (default: pretrain one next to --json)')
      .option('--m <n>', 'random projection size for RanPAC and SAFE (default 2048)', parseIntOption('m'))
      .option('--oracle', 'add SAFE drift diagnostics (fast head refitted on all seen training data; not a CIL method)')
      .option('--drift-compensation', 'add SAFE\'s drift-compensated fast head without replay (safe-dc, safe-fast-dc) and its ablation (safe-fast-gauss)')
      .option('--checkpoints <dir>', 'checkpoint folder (default <json>.ckpt)')
      .option('--features <f.npy>', 'run the feature-level learners on a feature cache from `cil features` instead of --dataset')
      .option('--labels <l.npy>', 'labels of the feature cache')
      .option('--test-features <f.npy>', 'a separate test feature cache (otherwise --test-fraction of each class is held out)')
      .option('--test-labels <l.npy>', 'labels of the test feature cache')
      .option('--test-fraction <x>', 'share of each class held out for testing without a test cache (default 0.2)', parseFloatOption('test-fraction'));
    addCo2lOptions(run, '(co2l/cila) ');
    addAtlasOptions(run, '(atlas) ');
    run.action(runCommand);
    cil.command('merge')
      .description('merge `cil run` records of the same dataset and split (e.g. one per seed) into one record and report')
      .argument('<records...>', 'cil run JSON records')
      .requiredOption('--json <file>', 'merged record')
      .option('--html <file>', 'HTML report')
      .action(async (files: string[], o: { json: string; html?: string }) => {
        outputGuard().inputs(files, '<records>').output(o.json, '--json').output(o.html, '--html').check();
        const merged = mergeCilRecords(files);
        const json = resolve(o.json);
        const rec = new RunRecorder('cil merge', { files }, merged.seeds);
        writeRecord(json, rec.finish(merged));
        process.stdout.write(`record: ${json}\n`);
        for (const line of cilSummaryLines(merged.summary, true)) process.stdout.write(line);
        if (o.html) {
          const html = resolve(o.html);
          await writeReport(html, `perennial cil: ${merged.dataset} ${merged.split}`, cilSections(merged, `CIL: ${merged.dataset} ${merged.split}`));
          process.stdout.write(`report: ${html}\n`);
        }
      });
  },
  async demo(ctx: DemoContext): Promise<DemoResult> {
    return cilDemo(ctx);
  },
};
