// Self-knowledge fine-tuning in miniature (issue: does fine-tuning on self-generated, verified
// items improve math?). Per seed: train a small base model on a generic corpus of two task
// families (arithmetic and word counting: each family's own generation prompt answered
// correctly, and its verification prompt answered with the checker's value); run the
// self-knowledge evaluation on arithmetic; fine-tune the base model on its own self-consistent
// arithmetic exchanges (`finetuneJsonl`, the `--export-finetune` lines); evaluate base and
// fine-tuned model on fresh items of arithmetic and of word counting (held out from the
// fine-tune). Reports S, G, V per model with the paired change, item by item over all seeds
// (bootstrap) and per seed (t interval over seeds).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { meanInterval } from '../../core/stats.js';
import { Rng } from '../../core/rng.js';
import { countWords, evaluateArithmetic, ratToString } from '../checks.js';
import { LlamaCppProvider } from '../llamacpp.js';
import type { ChatMessage } from '../provider.js';
import { finetuneJsonl, runSelfKnowledge, type SelfKnowledgeReport } from '../selfknow.js';
import { pairedDifference } from '../stats.js';
import { arithmeticTask, wordCountTask } from '../tasks.js';
import { resolveTrainConfig, type TrainConfigInput } from './config.js';
import { chatExamples, parseChatJsonl } from './data.js';
import { readTrainedGguf } from './export.js';
import { trainLlama, type TrainResult } from './trainer.js';

const WORDS = ['sun', 'rain', 'tree', 'river', 'bread', 'stone', 'light', 'wind', 'road', 'bird', 'snow', 'hill', 'boat', 'field', 'cold', 'warm', 'green', 'small', 'old', 'quiet'];

function expression(rng: Rng, ops: number, max: number): string {
  let e = String(1 + rng.int(max));
  for (let i = 0; i < ops; i++) {
    const op = rng.choice(['+', '-', '*']);
    const n = String(1 + rng.int(max));
    e = rng.next() < 0.3 ? `(${e}) ${op} ${n}` : `${e} ${op} ${n}`;
  }
  return e;
}

function textOf(rng: Rng, n: number): string {
  const w = Array.from({ length: n }, () => rng.choice(WORDS));
  w[0] = w[0][0].toUpperCase() + w[0].slice(1);
  return w.join(' ') + '.';
}

/** The generic corpus: `items` items per family, each a generation and a verification exchange answered correctly. */
export function familyCorpus(seed: number, items: number): ChatMessage[][] {
  const rng = new Rng(seed, 'llm-train/family-corpus');
  const out: ChatMessage[][] = [];
  const ex = (u: string, a: unknown): ChatMessage[] => [{ role: 'user', content: u }, { role: 'assistant', content: JSON.stringify(a) }];
  for (let i = 0; i < items; i++) {
    const pa = arithmeticTask.sampleParams(rng);
    const e = expression(rng, pa.ops, pa.max);
    const v = Number(ratToString(evaluateArithmetic(e)));
    out.push(ex(arithmeticTask.generationPrompt(pa), { problem: e, answer: v }), ex(arithmeticTask.verificationPrompt(e), { answer: v }));
    const pw = wordCountTask.sampleParams(rng);
    const t = textOf(rng, pw.n);
    out.push(ex(wordCountTask.generationPrompt(pw), { text: t }), ex(wordCountTask.verificationPrompt(t), { answer: countWords(t) }));
  }
  return out;
}

/**
 * The control fine-tune's data: `n` correct arithmetic exchanges in the shape of the
 * `--export-finetune` lines (generation prompt and answer, then verification prompt and answer),
 * drawn from a stream of its own, so a control model gets as many lines of the same format and
 * the same steps as the self-generated fine-tune, with checker-correct content.
 */
export function arithmeticControl(seed: number, n: number): ChatMessage[][] {
  const rng = new Rng(seed, 'llm-train/arithmetic-control');
  return Array.from({ length: n }, () => {
    const pa = arithmeticTask.sampleParams(rng);
    const e = expression(rng, pa.ops, pa.max);
    const v = Number(ratToString(evaluateArithmetic(e)));
    return [
      { role: 'user', content: arithmeticTask.generationPrompt(pa) }, { role: 'assistant', content: JSON.stringify({ problem: e, answer: v }) },
      { role: 'user', content: arithmeticTask.verificationPrompt(e) }, { role: 'assistant', content: JSON.stringify({ answer: v }) },
    ];
  });
}

export interface MiniOptions {
  readonly seeds: readonly number[];
  readonly dir: string;
  readonly corpusItems: number;
  readonly base: TrainConfigInput;
  readonly finetune: TrainConfigInput;
  /** Items per task in each evaluation. */
  readonly evalItems: number;
  readonly quiet?: boolean;
}

type Rates = { S: number | null; G: number | null; V: number | null; n: number };
const rates = (r: SelfKnowledgeReport, task: string): Rates => {
  const t = r.tasks[task];
  return { S: t.self_consistency, G: t.generation_correct, V: t.verification_correct, n: t.evaluated };
};
/** 1/0 per item of a per-run verdict (repeats = 1), keyed by seed and item. */
function perItem(r: SelfKnowledgeReport, task: string, seed: number, key: 'consistent' | 'generationCorrect' | 'verificationCorrect'): Map<string, number> {
  const m = new Map<string, number>();
  for (const o of r.outcomes) {
    if (o.task !== task || o.error) continue;
    const v = (o as unknown as Record<string, unknown>)[key];
    if (typeof v === 'boolean') m.set(`${seed}/${o.item}`, v ? 1 : 0);
  }
  return m;
}


export async function selfKnowledgeFinetuneMini(o: MiniOptions): Promise<Record<string, unknown>> {
  mkdirSync(o.dir, { recursive: true });
  const perSeed: Record<string, unknown>[] = [];
  type Arm = 'base' | 'finetuned' | 'control';
  const itemMaps: Record<string, Record<Arm, Map<string, number>>> = {};
  const addItems = (k: string, arms: Record<Arm, Map<string, number>>): void => {
    itemMaps[k] ??= { base: new Map(), finetuned: new Map(), control: new Map() };
    for (const a of ['base', 'finetuned', 'control'] as const) for (const [x, y] of arms[a]) itemMaps[k][a].set(x, y);
  };
  for (const seed of o.seeds) {
    const baseCfg = resolveTrainConfig({ ...o.base, seed });
    const corpus = chatExamples(familyCorpus(seed, o.corpusItems), baseCfg.contextLength);
    const basePath = join(o.dir, `base-${seed}.gguf`), ftPath = join(o.dir, `ft-${seed}.gguf`);
    const baseRun = await trainLlama({ config: baseCfg, data: corpus, dataId: `corpus-${seed}`, out: basePath, checkpoint: null, quiet: o.quiet });
    const evalOpts = (s: number) => ({ items: o.evalItems, repeats: 1, seed: s, quiet: true } as const);
    const base = new LlamaCppProvider({ modelPath: basePath, threads: 1 });
    let exportRun: SelfKnowledgeReport, baseEval: SelfKnowledgeReport;
    try {
      // The fine-tune data comes from the dev split; the evaluations below use the test split, fresh items.
      exportRun = await runSelfKnowledge([arithmeticTask], base, { ...evalOpts(seed), split: 'dev' });
      baseEval = await runSelfKnowledge([arithmeticTask, wordCountTask], base, evalOpts(seed));
    } finally {
      await base.close();
    }
    const ftText = finetuneJsonl(exportRun);
    let ftRun: TrainResult | null = null, ftEval: SelfKnowledgeReport | null = null, ctrlEval: SelfKnowledgeReport | null = null;
    const ftLines = ftText ? ftText.trimEnd().split('\n').length : 0;
    if (ftLines > 0) {
      const ftCfg = resolveTrainConfig({ ...o.base, ...o.finetune, seed });
      const ftData = chatExamples(parseChatJsonl(ftText, 'self-generated'), ftCfg.contextLength);
      ftRun = await trainLlama({ config: ftCfg, data: ftData, dataId: `ft-${seed}`, out: ftPath, checkpoint: null, quiet: o.quiet, init: { ...readTrainedGguf(basePath), from: basePath } });
      const ft = new LlamaCppProvider({ modelPath: ftPath, threads: 1 });
      try {
        ftEval = await runSelfKnowledge([arithmeticTask, wordCountTask], ft, evalOpts(seed));
      } finally {
        await ft.close();
      }
      // Control: the same steps from the same base on as many correct arithmetic lines of the same format.
      const ctrlPath = join(o.dir, `control-${seed}.gguf`);
      const ctrlData = chatExamples(arithmeticControl(seed, ftLines), ftCfg.contextLength);
      await trainLlama({ config: ftCfg, data: ctrlData, dataId: `control-${seed}`, out: ctrlPath, checkpoint: null, quiet: o.quiet, init: { ...readTrainedGguf(basePath), from: basePath } });
      const ctrl = new LlamaCppProvider({ modelPath: ctrlPath, threads: 1 });
      try {
        ctrlEval = await runSelfKnowledge([arithmeticTask, wordCountTask], ctrl, evalOpts(seed));
      } finally {
        await ctrl.close();
      }
      for (const task of ['arithmetic', 'word_count']) {
        for (const [m, key] of [['S', 'consistent'], ['G', 'generationCorrect'], ['V', 'verificationCorrect']] as const) {
          addItems(`${task}.${m}`, { base: perItem(baseEval, task, seed, key), finetuned: perItem(ftEval, task, seed, key), control: perItem(ctrlEval, task, seed, key) });
        }
      }
    }
    perSeed.push({
      seed, base_train: { final_loss: baseRun.final_loss, tokens_per_s: baseRun.tokens_per_s, train_seconds: baseRun.train_seconds, examples: baseRun.examples },
      export: { lines: ftLines, checked: exportRun.outcomes.filter((x) => x.consistent && x.generationCorrect === true).length, consistent: exportRun.outcomes.filter((x) => x.consistent).length, runs: exportRun.outcomes.length },
      finetune: ftRun ? { final_loss: ftRun.final_loss, steps: ftRun.steps, examples: ftRun.examples } : null,
      finetune_reason: ftRun ? undefined : 'no self-consistent arithmetic run to fine-tune on',
      base: { arithmetic: rates(baseEval, 'arithmetic'), word_count: rates(baseEval, 'word_count') },
      finetuned: ftEval ? { arithmetic: rates(ftEval, 'arithmetic'), word_count: rates(ftEval, 'word_count') } : null,
      control: ctrlEval ? { arithmetic: rates(ctrlEval, 'arithmetic'), word_count: rates(ctrlEval, 'word_count') } : null,
    });
  }
  // Paired change from arm `from` to arm `to`: item by item over all seeds, and per seed.
  const changes = (from: Arm, to: Arm): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, m] of Object.entries(itemMaps)) {
      const [task, metric] = k.split('.') as ['arithmetic' | 'word_count', 'S' | 'G' | 'V'];
      const deltas = perSeed.filter((s) => s.finetuned).map((s) => {
        const b = (s[from] as Record<string, Rates>)[task][metric], f = (s[to] as Record<string, Rates>)[task][metric];
        return b === null || f === null ? null : f - b;
      }).filter((x): x is number => x !== null);
      const seeds = meanInterval(deltas);
      out[k] = {
        items: pairedDifference(m[from], m[to], 0),
        seeds: { ...seeds, ...(seeds.ci95 === null ? { ci95_reason: 'fewer than two seeds with a fine-tuned model' } : {}) },
      };
    }
    return out;
  };
  const change = changes('base', 'finetuned');
  return { config: { seeds: o.seeds, corpusItems: o.corpusItems, base: o.base, finetune: o.finetune, evalItems: o.evalItems }, per_seed: perSeed, change, control_change: changes('base', 'control'), finetuned_vs_control: changes('control', 'finetuned') };
}
