// `perennial cil fit | predict | update`: a continual model as a directory the user keeps. The
// commands parse options, call the model API (src/continual/model.ts) and write its outputs.
import { resolve, relative, isAbsolute } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { outputGuard, writeFileAtomic, writeJsonAtomic } from '../core/fsx.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { ContinualModel, readFeatureRows, type DataSource } from '../continual/model.js';
import type { AreaCli } from './types.js';
import { parseIntOption } from './util.js';

const IMAGE_FILES = /\.(png|jpe?g|bmp|gif|webp|tiff?|avif|txt)$/i;

function source(o: { images?: string; root?: string; features?: string; labels?: string }, what: string): DataSource {
  if (o.images && o.features) throw new InputError(`${what}: give --images or --features, not both`);
  if (o.images) {
    if (o.labels) throw new InputError('--labels goes with --features; an image folder names its classes by sub-folder');
    return { images: o.images, root: o.root };
  }
  if (o.features) {
    if (!o.labels) throw new InputError('--features needs --labels (one integer label per row)');
    return { features: o.features, labels: o.labels };
  }
  throw new InputError(`${what}: give --images DIR (class sub-folders) or --features F.npy --labels L.npy`);
}

/** A record or prediction file inside the model directory being written would be swept away by its rename. */
function notInside(file: string | undefined, dir: string, fileOpt: string, dirOpt: string): void {
  if (!file) return;
  const rel = relative(resolve(dir), resolve(file));
  if (!rel.startsWith('..') && !isAbsolute(rel)) throw new InputError(`${fileOpt} ${file} is inside ${dirOpt} ${dir}, the model directory being written: write it elsewhere`);
}

export interface FitCommandOptions {
  readonly backbone?: string; readonly images?: string; readonly root?: string; readonly features?: string; readonly labels?: string;
  readonly method?: string; readonly config?: string; readonly out: string; readonly output?: string; readonly imageSize?: number;
  readonly threads?: number; readonly json?: string;
}

export async function fitCommand(o: FitCommandOptions): Promise<Record<string, unknown>> {
  outputGuard().input(o.backbone, '--backbone').inputFolder(o.images, '--images', IMAGE_FILES).inputFolder(o.root, '--root', IMAGE_FILES)
    .input(o.features, '--features').input(o.labels, '--labels').input(o.config, '--config').outputFolder(o.out, '--out').output(o.json, '--json').check();
  notInside(o.json, o.out, '--json', '--out');
  const data = source(o, 'cil fit');
  const rec = new RunRecorder('cil fit', o, null);
  const m = await rec.time('fit', () => ContinualModel.fit({
    backbone: o.backbone, data, config: o.config, method: o.method, backboneOptions: { output: o.output, imageSize: o.imageSize, threads: o.threads },
  }));
  try {
    const dir = await rec.time('save', () => m.save(o.out));
    const record = rec.finish({ model: dir, card: m.card() });
    if (o.json) writeRecord(o.json, record);
    return record;
  } finally {
    await m.dispose();
  }
}

export interface UpdateCommandOptions {
  readonly model: string; readonly images?: string; readonly root?: string; readonly features?: string; readonly labels?: string;
  readonly backbone?: string; readonly merge?: boolean; readonly out: string; readonly threads?: number; readonly json?: string;
}

export async function updateCommand(o: UpdateCommandOptions): Promise<Record<string, unknown>> {
  // The model directory is read whole: --out inside it (or the same folder, however spelled) is refused.
  outputGuard().inputFolder(o.model, '--model').input(o.backbone, '--backbone').inputFolder(o.images, '--images', IMAGE_FILES).inputFolder(o.root, '--root', IMAGE_FILES)
    .input(o.features, '--features').input(o.labels, '--labels').outputFolder(o.out, '--out').output(o.json, '--json').check();
  notInside(o.json, o.out, '--json', '--out');
  const data = source(o, 'cil update');
  const rec = new RunRecorder('cil update', o, null);
  const m = await rec.time('load', () => ContinualModel.load(o.model, { backbone: o.backbone, threads: o.threads }));
  try {
    const before = m.classes.length;
    await rec.time('update', () => m.update(data, { merge: o.merge }));
    const dir = await rec.time('save', () => m.save(o.out));
    const record = rec.finish({ model: dir, from: resolve(o.model), new_classes: m.classes.slice(before), card: m.card() });
    if (o.json) writeRecord(o.json, record);
    return record;
  } finally {
    await m.dispose();
  }
}

export interface PredictCommandOptions {
  readonly model: string; readonly images?: string; readonly features?: string; readonly backbone?: string;
  readonly topK: number; readonly json: string; readonly csv?: string; readonly threads?: number;
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function predictCommand(o: PredictCommandOptions): Promise<{ classes: readonly string[]; rows: unknown[] }> {
  outputGuard().inputFolder(o.model, '--model').input(o.backbone, '--backbone').inputFolder(o.images, '--images', IMAGE_FILES)
    .input(o.features, '--features').output(o.json, '--json').output(o.csv, '--csv').check();
  if (!o.images === !o.features) throw new InputError('cil predict: give --images DIR or --features F.npy (one of them)');
  const m = await ContinualModel.load(o.model, { backbone: o.backbone, threads: o.threads });
  try {
    let rows;
    if (o.images) rows = await m.predictImages(o.images, o.topK);
    else {
      const f = readFeatureRows(o.features!);
      if (f.d !== m.featureDim) throw new InputError(`${o.features}: rows of ${f.d} features, the model takes ${m.featureDim}`);
      const x = f.x;
      rows = m.predict(x, o.topK).map((r, i) => ({ row: i, top: r.top }));
    }
    const out = { classes: m.classes, rows };
    writeJsonAtomic(o.json, out);
    if (o.csv) {
      const lines = ['file,rank,label,score'];
      for (const [i, r] of rows.entries()) {
        const name = 'file' in r && r.file ? r.file : String(i);
        r.top.forEach((t, k) => lines.push(`${csvCell(name)},${k + 1},${csvCell(t.label)},${t.score}`));
      }
      writeFileAtomic(o.csv, lines.join('\n') + '\n');
    }
    return out;
  } finally {
    await m.dispose();
  }
}

function findOrCreateCil(program: Command): Command {
  return program.commands.find((c) => c.name() === 'cil') ?? program.command('cil').description('class-incremental learning on pre-trained backbones');
}

export const continualModelCli: AreaCli = {
  name: 'cil-model',
  register(program: Command): void {
    const cil = findOrCreateCil(program);
    cil.command('fit')
      .description('train a continual model on the classes of an image folder (or feature rows) and save it as a directory')
      .option('--backbone <file>', 'image backbone: model.onnx or a timm ViT vit.safetensors')
      .option('--images <path>', 'ImageFolder (one sub-folder per class) or a split file of "path label" lines')
      .option('--root <dir>', 'folder split-file paths are relative to')
      .option('--features <f.npy>', 'feature rows (float32 [n, d]) instead of images')
      .option('--labels <l.npy>', 'integer labels of the feature rows')
      .option('--method <name>', 'learner (overrides the config): simplecil, ranpac, safe, ...')
      .option('--config <file>', 'model config, YAML or JSON (method, seed, maxClasses, valFraction, bufferPerClass, normalize, resize, batchSize, options)')
      .requiredOption('--out <dir>', 'model directory to write (must not exist, or be empty)')
      .option('--output <name>', 'ONNX output holding the features (default: found from the model)')
      .option('--image-size <n>', 'input size for ONNX models with symbolic height/width', parseIntOption('image-size'))
      .option('--threads <n>', 'backbone inference threads', parseIntOption('threads'))
      .option('--json <file>', 'run record')
      .action(async (o: FitCommandOptions) => {
        const r = await fitCommand(o);
        const card = r.card as { method: string; classes: string[] };
        process.stdout.write(`model: ${r.model} (${card.method}, ${card.classes.length} classes)\n`);
      });
    cil.command('predict')
      .description('top-k classes of a model for images or feature rows; writes {"classes", "rows": [{"file", "top": [{"label", "score"}]}]}')
      .requiredOption('--model <dir>', 'model directory from cil fit / cil update')
      .option('--images <path>', 'folder of images (class sub-folders optional) or a split file')
      .option('--features <f.npy>', 'feature rows (float32 [n, d]) from the same backbone')
      .option('--backbone <file>', 'the backbone file, if it moved since the model was fit (its hash must match)')
      .option('--top-k <k>', 'classes per row', parseIntOption('top-k'), 1)
      .requiredOption('--json <file>', 'predictions (JSON)')
      .option('--csv <file>', 'predictions as CSV (file, rank, label, score)')
      .option('--threads <n>', 'backbone inference threads', parseIntOption('threads'))
      .action(async (o: PredictCommandOptions) => {
        const r = await predictCommand(o);
        process.stdout.write(`predictions: ${r.rows.length} rows -> ${o.json}${o.csv ? `, ${o.csv}` : ''}\n`);
      });
    cil.command('update')
      .description('teach a model new classes in one more session, without the old data; writes a new model directory (the old one is not modified)')
      .requiredOption('--model <dir>', 'model directory to start from (read only)')
      .option('--images <path>', 'ImageFolder of the new classes (or a split file)')
      .option('--root <dir>', 'folder split-file paths are relative to')
      .option('--features <f.npy>', 'feature rows of the new classes')
      .option('--labels <l.npy>', 'their integer labels')
      .option('--backbone <file>', 'the backbone file, if it moved since the model was fit (its hash must match)')
      .option('--merge', 'allow classes the model already has (their rows are added to them)')
      .requiredOption('--out <dir>', 'new model directory (must not exist, or be empty; never the --model directory)')
      .option('--threads <n>', 'backbone inference threads', parseIntOption('threads'))
      .option('--json <file>', 'run record')
      .action(async (o: UpdateCommandOptions) => {
        const r = await updateCommand(o);
        const added = r.new_classes as string[];
        process.stdout.write(`model: ${r.model} (${added.length ? `+${added.length} classes: ${added.join(', ')}` : 'no new classes'})\n`);
      });
  },
};
