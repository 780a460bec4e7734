// Fine-tuning data: chat-format JSONL (`{"messages":[system, user, assistant]}` per line) for the
// three models of the multi-stage design (stages S1-S3, the report generator) and the
// single-stage baseline, built from labelled windows with the same prompts the pipelines send.
// The split is by window (hash of the window id), so the stages of one window never straddle
// train and test; example ids, generator seeds and the rule version go to a side file, not into
// the prompts.
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../core/fsx.js';
import { hash32 } from '../core/rng.js';
import type { ChatMessage } from '../llm/provider.js';
import type { WindowRecord } from './dataset.js';
import { formatPrice } from './footprint.js';
import { isComplete, labelFootprint, type Aggregation, RULE_VERSION } from './label.js';
import { directionPrompt, levelPrompt, reportPrompt, sidePrompt, singlePrompt, stageMessages } from './pipeline.js';

export type ModelFile = 'multi' | 'report' | 'single';

export interface ChatExample {
  readonly id: string;
  readonly model: ModelFile;
  readonly split: 'train' | 'test';
  readonly messages: readonly ChatMessage[];
}

export interface ChatExportOptions {
  /** Share of windows in the training split (default 0.8). */
  readonly trainFraction?: number;
  /** Seed of the split hash (default 0). */
  readonly splitSeed?: number;
  readonly aggregation?: Aggregation;
}

function chat(user: string, answer: { reason: string; answer: unknown }): ChatMessage[] {
  const m = stageMessages(user);
  return [{ role: 'system', content: m.system }, { role: 'user', content: m.user }, { role: 'assistant', content: JSON.stringify(answer) }];
}

/** Which split a window belongs to: a hash of its id, so the answer never depends on the rest of the set. */
export function splitOf(windowId: string, trainFraction: number, seed = 0): 'train' | 'test' {
  return hash32(windowId, seed ^ 0x9e3779b9) / 4294967296 < trainFraction ? 'train' : 'test';
}

/** Chat examples for every complete window (windows the labeller excludes are skipped). */
export function toChatExamples(records: readonly WindowRecord[], opts: ChatExportOptions = {}): { examples: ChatExample[]; skipped: number } {
  const frac = opts.trainFraction ?? 0.8;
  if (!(frac >= 0 && frac <= 1)) throw new InputError(`trainFraction must be in [0, 1], got ${frac}`);
  const examples: ChatExample[] = [];
  let skipped = 0;
  const ids = new Set<string>();
  records.forEach((r, i) => {
    const w = r.window;
    const id = w.id ?? `w${i}`;
    if (ids.has(id)) throw new InputError(`duplicate window id ${JSON.stringify(id)}: ids must be unique for a stable split`);
    ids.add(id);
    const l = labelFootprint(w, { aggregation: opts.aggregation ?? 'volume' });
    if (!isComplete(l)) { skipped++; return; }
    const split = splitOf(id, frac, opts.splitSeed ?? 0);
    const dir = l.direction as 'upward' | 'downward', side = l.strongerSide as 'buyer' | 'seller';
    const levelPx = formatPrice(l.levelTicks!, w.tick);
    const level = Number(levelPx);
    const push = (suffix: string, model: ModelFile, messages: ChatMessage[]): void => { examples.push({ id: `${id}/${suffix}`, model, split, messages }); };
    push('s1', 'multi', chat(directionPrompt(w), { reason: l.stageReasons.direction, answer: dir }));
    push('s2', 'multi', chat(levelPrompt(w, dir), { reason: l.stageReasons.level, answer: level }));
    push('s3', 'multi', chat(sidePrompt(w, dir, level), { reason: l.stageReasons.side, answer: side }));
    const reportReason = `The break is ${dir} from the range level ${levelPx}, and ${side}s are the stronger side beyond it, so this is a ${l.verdict ? 'true' : 'false'} breakout.`;
    push('report', 'report', chat(reportPrompt(dir, levelPx, side), { reason: reportReason, answer: l.verdict }));
    push('single', 'single', chat(singlePrompt(w), { reason: l.rationale, answer: l.verdict }));
  });
  return { examples, skipped };
}

/** One JSONL string per (model, split). */
export function toChatJsonl(examples: readonly ChatExample[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of examples) {
    const k = `${e.model}.${e.split}.jsonl`;
    out[k] = (out[k] ?? '') + JSON.stringify({ messages: e.messages }) + '\n';
  }
  return out;
}

/** Write `<model>.<split>.jsonl` files and `meta.json` (ids in file order, seeds, rule version). */
export function writeChatExport(dir: string, records: readonly WindowRecord[], opts: ChatExportOptions = {}): { files: string[]; counts: Record<string, number>; skipped: number } {
  const { examples, skipped } = toChatExamples(records, opts);
  const files = toChatJsonl(examples);
  const ids: Record<string, string[]> = {};
  for (const e of examples) (ids[`${e.model}.${e.split}.jsonl`] ??= []).push(e.id);
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) { const p = join(dir, name); writeFileAtomic(p, text); written.push(p); }
  const seeds = [...new Set(records.map((r) => r.meta?.seed).filter((s): s is number => typeof s === 'number'))];
  const counts = Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, v.length]));
  writeJsonAtomic(join(dir, 'meta.json'), {
    rule_version: RULE_VERSION, aggregation: opts.aggregation ?? 'volume', generator_seeds: seeds,
    train_fraction: opts.trainFraction ?? 0.8, split_seed: opts.splitSeed ?? 0, skipped_windows: skipped, counts, ids,
  });
  return { files: written, counts, skipped };
}
