// `perennial llm train`: train a small llama model on chat JSONL and write a GGUF.
import type { Command } from 'commander';
import { outputGuard } from '../core/fsx.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { train } from '../llm/index.js';
import { parseFloatOption, parseIntOption } from './util.js';

interface TrainFlags {
  data: string; out: string; config?: string; init?: string; quick?: boolean; checkpoint?: string; resume?: boolean;
  seed?: number; steps?: number; lr?: number; json?: string;
}

export function registerTrain(llm: Command): void {
  llm.command('train')
    .description('train a small llama model on chat JSONL (breakout export, selfknow --export-finetune) and write a GGUF that llm complete / selfknow load')
    .requiredOption('--data <file>', 'chat JSONL, one {"messages": [...]} per line; the loss is on the assistant turns')
    .requiredOption('--out <file>', 'output .gguf path')
    .option('--config <file>', 'YAML or JSON train config (model shape, optimiser, steps)')
    .option('--quick', 'a tiny preset that trains in about a minute')
    .option('--init <file>', 'fine-tune from this GGUF (written by llm train; its shape replaces the config\'s)')
    .option('--checkpoint <file>', 'checkpoint file (default: <out>.ckpt)')
    .option('--resume', 'continue from the checkpoint when it exists')
    .option('--seed <n>', 'override the config seed', parseIntOption('seed'))
    .option('--steps <n>', 'override the config steps', parseIntOption('steps'))
    .option('--lr <x>', 'override the config peak learning rate', parseFloatOption('lr'))
    .option('--json <file>', 'run record')
    .action(async (o: TrainFlags) => {
      const checkpoint = o.checkpoint ?? `${o.out}.ckpt`;
      outputGuard().input(o.data, '--data').input(o.config, '--config').input(o.init, '--init').cache(checkpoint, o.checkpoint ? '--checkpoint' : 'the checkpoint beside --out')
        .output(o.out, '--out').output(o.json, '--json').check();
      const overrides = { ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.steps !== undefined ? { steps: o.steps } : {}), ...(o.lr !== undefined ? { lr: o.lr } : {}) };
      const rec = new RunRecorder('llm train', { ...o, checkpoint }, o.seed ?? null);
      const r = await train.runTrainCommand({ data: o.data, out: o.out, config: o.config, quick: o.quick, overrides, init: o.init, checkpoint, resume: o.resume }, rec);
      const g = r.result.gguf;
      process.stdout.write(`trained ${r.result.parameters} parameters for ${r.result.steps} steps on ${r.data.examples} examples: loss ${r.result.final_loss.toFixed(4)}, ${r.result.tokens_per_s.toFixed(0)} tokens/s\n`);
      if (g) process.stdout.write(`wrote ${g.path}: ${g.bytes} bytes, sha256 ${g.sha256}\n`);
      if (o.json) writeRecord(o.json, rec.finish({ config: r.config, data: r.data, ...r.result }));
    });
}
