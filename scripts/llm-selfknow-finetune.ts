// Self-knowledge fine-tuning in miniature (docs/results/llm.md):
//   node --import tsx scripts/llm-selfknow-finetune.ts --json F [--seeds 0,1,2] [--base-steps N] [--batch N]
//       [--ft-steps N] [--corpus-items N] [--eval-items N] [--smoke]
// --smoke is a seconds-scale run that only checks the pipeline.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import { selfKnowledgeFinetuneMini } from '../src/llm/train/selfknow-finetune.js';

const args = process.argv.slice(2);
const val = (k: string): string | undefined => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
const smoke = args.includes('--smoke');
const seeds = (val('--seeds') ?? (smoke ? '0' : '0,1,2')).split(',').map(Number);
const num = (k: string, d: number): number => (val(k) === undefined ? d : Number(val(k)));
const shape = { dim: 64, layers: 2, heads: 2, ffn: 176, contextLength: 512, tiedEmbeddings: true };
const opts = {
  seeds, dir: mkdtempSync(join(tmpdir(), 'perennial-sk-ft-')),
  corpusItems: num('--corpus-items', smoke ? 20 : 200),
  base: { ...shape, batchSize: num('--batch', 4), steps: num('--base-steps', smoke ? 4 : 60), warmupSteps: Math.ceil(num('--base-steps', smoke ? 4 : 60) / 10), lr: 3e-3, checkpointEvery: 0 },
  finetune: { steps: num('--ft-steps', smoke ? 2 : 15), warmupSteps: Math.ceil(num('--ft-steps', smoke ? 2 : 15) / 10), lr: 1e-3, checkpointEvery: 0 },
  evalItems: num('--eval-items', smoke ? 3 : 20),
};
const rec = new RunRecorder('scripts/llm-selfknow-finetune', opts, seeds);
const r = await selfKnowledgeFinetuneMini(opts);
process.stdout.write(JSON.stringify(r.change, null, 1) + '\n');
const json = val('--json');
if (json) writeRecord(json, rec.finish(r));
