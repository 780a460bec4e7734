// BreakGPT's multi- versus single-stage question in miniature (docs/results/breakout.md):
//   node --import tsx scripts/breakout-finetune.ts --json F [--seeds 0,1,2] [--budget TOKENS]
//       [--train-windows N] [--eval-windows N] [--eval-seed S] [--smoke]
//   node --import tsx scripts/breakout-finetune.ts --merge a.json,b.json --json F
// --smoke is a seconds-scale run that only checks the pipeline; --merge combines runs of the same
// settings over disjoint seeds (run seeds in parallel processes, then merge).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combineStaged, stagedFinetuneMini, type StagedPart } from '../src/breakout/finetune-mini.js';
import { RunRecorder, writeRecord } from '../src/core/record.js';

const args = process.argv.slice(2);
const val = (k: string): string | undefined => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
const smoke = args.includes('--smoke');
const num = (k: string, d: number): number => (val(k) === undefined ? d : Number(val(k)));
const seeds = (val('--seeds') ?? (smoke ? '0' : '0,1,2')).split(',').map(Number);
const opts = {
  seeds, dir: mkdtempSync(join(tmpdir(), 'perennial-breakout-ft-')),
  trainWindows: num('--train-windows', smoke ? 20 : 1000),
  evalWindows: num('--eval-windows', smoke ? 3 : 100),
  evalSeed: num('--eval-seed', 42),
  tokenBudget: num('--budget', smoke ? 20_000 : 1_000_000),
  // Three range bars and narrow bands keep a prompt near 1,300 (stage) to 2,100 (single) tokens.
  spec: { rangeBars: 3, bandTicks: [4, 6] as [number, number] },
  model: { dim: 64, layers: 2, heads: 2, ffn: 176, contextLength: 2560, tiedEmbeddings: true, batchSize: 4, lr: 3e-3 },
  maxTokens: num('--max-tokens', smoke ? 40 : 500),
  reasonMaxLength: num('--reason-max-chars', 450),
};
const merge = val('--merge');
const rec = new RunRecorder('scripts/breakout-finetune', merge ? { merge } : opts, merge ? null : seeds);
const r = merge ? combineStaged(merge.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as StagedPart)) : await stagedFinetuneMini(opts);
process.stdout.write(JSON.stringify({ pooled: r.pooled, multi_minus_single: r.multi_minus_single }, null, 1) + '\n');
const json = val('--json');
if (json) writeRecord(json, rec.finish(r));
