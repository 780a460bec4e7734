// `perennial cil co2l ...` (Co2L and CILA on Seq-Fashion-MNIST) and `perennial cil atlas ...`
// (adapter-based two-stage continual learning on the multimodal stand-in). Both hang under the
// existing `cil` command group.
import { Command } from 'commander';
import {
  atlasPart, co2lAtlasDemo, co2lPart, CO2L_DEFAULTS, CO2L_PRESETS, ROTATED_DEFAULTS, runParts, type AtlasCli, type Co2lCli,
} from '../continual/index.js';
import type { AreaCli, DemoContext, DemoResult } from './types.js';
import { writeRunOutputs } from './continual-write.js';
import { parseFloatOption, parseIntOption, parseSeeds, parseStringList } from './util.js';

/** `cil co2l`, also reached through `cil run --methods co2l,...`. */
export async function co2lCommand(given: Co2lCli, resolvedConfig?: Record<string, unknown>): Promise<void> {
  await writeRunOutputs(await runParts([await co2lPart(given, resolvedConfig)]), given);
}

export async function atlasCommand(given: AtlasCli, resolvedConfig?: Record<string, unknown>): Promise<void> {
  await writeRunOutputs(await runParts([await atlasPart(given, resolvedConfig)]), given);
}

export const continualCilaCli: AreaCli = {
  name: 'cil-cila',
  register(program: Command): void {
    let cil = program.commands.find((c) => c.name() === 'cil');
    if (!cil) cil = program.command('cil').description('class-incremental learning');
    const co2l = cil.command('co2l')
      .description('Co2L and CILA (contrastive replay with relation distillation) on Seq-Fashion-MNIST B2Inc2; same record shape as `cil run` plus lambda_per_task and loss_ratio_per_task')
      .option('--methods <list>', 'co2l, co2l-l<lambda> (e.g. co2l-l0, co2l-l4), co2l-val (lambda grid chosen on validation), cila, cila-<pure|min1|max1>[-c<c>][-unscaled]', parseStringList, ['co2l', 'co2l-l0', 'cila'])
      .option('--seeds <n|list>', 'number of seeds (0..n-1), a range a..b, or a comma list', parseSeeds, [0])
      .requiredOption('--json <file>', 'result record')
      .option('--html <file>', 'HTML report')
      .option('--dataset <name>', 'fashion-mnist | synthetic', 'fashion-mnist')
      .option('--quick', 'fewer images and epochs (the demo setting)');
    addCo2lOptions(co2l);
    co2l
      .option('--resume', 'reuse finished (method, seed) results of an interrupted run with the same configuration')
      .option('--checkpoints <dir>', 'folder of finished (method, seed) results (default <json>.ckpt)')
      .action((o: Co2lCli) => {
        process.stderr.write(`cil co2l: the same as cil run --methods ${o.methods.join(',')} (with these flags)\n`);
        return co2lCommand(o);
      });
    const atlas = cil.command('atlas')
      .description('ATLAS (adapters, experience-based learning + novel knowledge expansion) on a multimodal feature stand-in: low-shot downstream accuracy and trainable parameters per variant')
      .option('--seeds <n|list>', 'number of seeds (0..n-1), a range a..b, or a comma list (default 5, 2 with --quick)', parseSeeds)
      .requiredOption('--json <file>', 'result record')
      .option('--html <file>', 'HTML report')
      .option('--quick', 'less upstream data, fewer steps, 2 seeds, no orthogonality ablation (the demo setting)');
    addAtlasOptions(atlas);
    atlas.action((o: AtlasCli) => {
      process.stderr.write('cil atlas: the same as cil run --methods atlas (with these flags)\n');
      return atlasCommand(o);
    });
  },
  async demo(ctx: DemoContext): Promise<DemoResult> {
    return co2lAtlasDemo(ctx);
  }
};

/** The Co2L/CILA flags, shared by `cil co2l` and `cil run` (`prefix` marks them in `cil run`'s help). */
export function addCo2lOptions(cmd: Command, prefix = ''): Command {
  return cmd
    .option('--per-class <n>', `${prefix}training rows per class (default ${2000}, 300 with --quick)`, parseIntOption('per-class'))
    .option('--epochs-first <n>', `${prefix}epochs on task 1 (default ${CO2L_DEFAULTS.epochsFirst})`, parseIntOption('epochs-first'))
    .option('--epochs-later <n>', `${prefix}epochs on later tasks (default ${CO2L_DEFAULTS.epochsLater})`, parseIntOption('epochs-later'))
    .option('--buffer <n>', `${prefix}replay buffer size (default ${CO2L_DEFAULTS.bufferSize})`, parseIntOption('buffer'))
    .option('--scenario <name>', prefix + 'split (Seq-Fashion-MNIST B2Inc2; the default) | rotated (domain-incremental rotated Fashion-MNIST, MLP encoder)')
    .option('--preset <name>', `${prefix}a named regime that fills in the options left unset: ${Object.entries(CO2L_PRESETS).map(([k, p]) => `${k} (${p.description})`).join('; ')}`)
    .option('--tasks <n>', `${prefix}rotated: number of tasks (default ${ROTATED_DEFAULTS.tasks})`, parseIntOption('tasks'))
    .option('--max-angle <deg>', `${prefix}rotated: angles uniform in [0, deg) (default ${ROTATED_DEFAULTS.maxAngle})`, parseFloatOption('max-angle'))
    .option('--per-class-test <n>', `${prefix}rotated: test rows per class and task (default ${ROTATED_DEFAULTS.perClassTest})`, parseIntOption('per-class-test'))
    .option('--encoder <kind>', prefix + 'cnn | mlp (default: cnn for split, mlp for rotated)')
    .option('--mlp-hidden <list>', prefix + 'hidden widths of the MLP encoder, comma-separated', (v: string) => v.split(',').map((x) => parseIntOption('mlp-hidden')(x.trim())));
}

/** The ATLAS flags, shared by `cil atlas` and `cil run`. */
export function addAtlasOptions(cmd: Command, prefix = ''): Command {
  return cmd
    .option('--shots <n>', `${prefix}downstream rows per class (match tasks: twice this)`, parseIntOption('shots'))
    .option('--ortho <w>', `${prefix}orthogonality penalty weight (default 0.1)`, parseFloatOption('ortho'))
    .option('--order <name>', `${prefix}upstream order: both | multimodal-first | unimodal-first (default both)`);
}
