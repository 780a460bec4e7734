// The multi-stage pipeline (S1 direction, S2 level, S3 stronger side, then a report stage that
// sees only the facts) and the single-stage baseline (tables in, verdict out). Each call asks for
// JSON `{ "reason": string, "answer": ... }` under a JSON schema (reason first, so generation still
// reasons before answering) and the answer is parsed strictly. Every fault (provider error, text
// that is not JSON, JSON that breaks the schema, a stage that could not run) is returned as data
// on the stage, never thrown. Calls go through `call` when given (the evaluation harness passes
// its cached call there), else straight to the provider.
import type { CompletionRequest, CompletionResponse, JsonSchema, LlmProvider } from '../llm/provider.js';
import { formatPrice, priceToTicks, renderFootprintText, type FootprintWindow } from './footprint.js';
import type { GoldLabel } from './dataset.js';

export type StageName = 'direction' | 'level' | 'side' | 'report' | 'single';
export type StageErrorKind = 'provider' | 'parse' | 'schema' | 'missing';

export interface StageError {
  readonly stage: StageName;
  readonly kind: StageErrorKind;
  readonly message: string;
}

export interface StageAnswer<T> {
  readonly answer: T | null;
  readonly reason: string | null;
  readonly error?: StageError;
  readonly cached?: boolean;
}

export interface MultiStageResult {
  readonly mode: 'gold' | 'chained';
  readonly direction: StageAnswer<'upward' | 'downward'>;
  /** The level as a price; `levelTicks` is it on the tick grid (null when off the grid). */
  readonly level: StageAnswer<number> & { readonly levelTicks: number | null };
  readonly side: StageAnswer<'buyer' | 'seller'>;
  readonly report: StageAnswer<boolean>;
  readonly errors: readonly StageError[];
}

export interface SingleStageResult {
  readonly verdict: StageAnswer<boolean>;
  readonly errors: readonly StageError[];
}

export interface PipelineOptions {
  /** 'gold': each stage gets the gold facts (per-stage accuracy); 'chained': the model's own earlier answers. */
  readonly mode?: 'gold' | 'chained';
  /** Required in gold mode. */
  readonly gold?: GoldLabel;
  /** How a stage's request reaches the model (the harness's cached call); default: provider.complete. */
  readonly call?: (stage: StageName, request: CompletionRequest) => Promise<CompletionResponse>;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly seed?: number;
  /** Cap on the "reason" string in the schema (default 600 characters); small models need a short cap to close the JSON. */
  readonly reasonMaxLength?: number;
  readonly signal?: AbortSignal;
}

const SYSTEM = [
  'You read one-minute footprint bars of a futures market.',
  'Each table is one bar; its rows go from the highest price down, and each row gives Sell (volume traded at the bid), Buy (volume traded at the offer) and Price.',
  'All tables but the last form a trading range; the last table is the bar that may break out of it.',
  'Reply with a single JSON object: first "reason" (one or two short sentences), then "answer".',
].join(' ');

export const DEFAULT_REASON_MAX_LENGTH = 600;

function schema(answer: JsonSchema, reasonMax: number): JsonSchema {
  return { type: 'object', properties: { reason: { type: 'string', maxLength: reasonMax }, answer }, required: ['reason', 'answer'], additionalProperties: false };
}

/** The JSON schema each stage's answer must satisfy. */
export function stageSchemas(reasonMax = DEFAULT_REASON_MAX_LENGTH): Record<StageName, JsonSchema> {
  return {
    direction: schema({ type: 'string', enum: ['upward', 'downward'] }, reasonMax),
    level: schema({ type: 'number' }, reasonMax),
    side: schema({ type: 'string', enum: ['buyer', 'seller'] }, reasonMax),
    report: schema({ type: 'boolean' }, reasonMax),
    single: schema({ type: 'boolean' }, reasonMax),
  };
}

export const STAGE_SCHEMAS = stageSchemas();

function tablesBlock(w: FootprintWindow): string {
  const n = w.tables.length - 1;
  return `Tables 0-${n - 1} are the range; table ${n} is the breakout bar. The price step is ${w.tick}.\n${renderFootprintText(w)}`;
}

const SIDE_RULE = (dir: 'upward' | 'downward', levelPx: string, tick: number): string =>
  `In the last table, pair the Sell volume at each price p with the Buy volume one step higher (p + ${tick}), for every p ${dir === 'upward' ? 'at or above' : 'at or below'} ${levelPx} where both rows exist. Add up each side over those pairs: the side with the larger total is the stronger side.`;

export function directionPrompt(w: FootprintWindow): string {
  return `${tablesBlock(w)}\n\nQuestion: did the last bar break out of the range upward (its high is above every earlier high) or downward (its low is below every earlier low)? Answer "upward" or "downward".`;
}

export function levelPrompt(w: FootprintWindow, dir: 'upward' | 'downward'): string {
  const n = w.tables.length - 1;
  return `${tablesBlock(w)}\n\nKnown: the breakout direction is ${dir}.\nQuestion: which range level did the last bar break? For an upward break it is the highest price in tables 0-${n - 1}; for a downward break the lowest. Answer with the price as a number.`;
}

export function sidePrompt(w: FootprintWindow, dir: 'upward' | 'downward', level: number): string {
  const levelPx = formatPrice(priceToTicks(level, w.tick) ?? level / w.tick, w.tick);
  return `${tablesBlock(w)}\n\nKnown: the breakout direction is ${dir}; the range level is ${levelPx}.\nQuestion: ${SIDE_RULE(dir, levelPx, w.tick)} Which side is stronger beyond the level? Answer "buyer" or "seller".`;
}

export function reportPrompt(dir: 'upward' | 'downward', levelPx: string, side: 'buyer' | 'seller'): string {
  return [
    'Facts about a bar that left a trading range:',
    `- breakout direction: ${dir}`,
    `- range level: ${levelPx}`,
    `- stronger side beyond the level: ${side}`,
    'A breakout is true when the stronger side pushes in the breakout direction (buyers for an upward break, sellers for a downward break) and false otherwise.',
    'Write a rationale that states the direction, the level and the stronger side, then give the verdict: true for a true breakout, false for a false one.',
  ].join('\n');
}

export function singlePrompt(w: FootprintWindow): string {
  const n = w.tables.length - 1;
  return [
    tablesBlock(w), '',
    'Task: decide whether the last bar is a true or a false breakout of the range.',
    `1. Direction: upward if its high is above every high of tables 0-${n - 1}, downward if its low is below every low.`,
    '2. Level: the highest price of the range for an upward break, the lowest for a downward break.',
    `3. Stronger side: in the last table, pair the Sell volume at each price p with the Buy volume at p + ${w.tick}, for p at or beyond the level (at or above for upward, at or below for downward); the side with the larger total is stronger.`,
    '4. Verdict: true when buyers are stronger in an upward break or sellers in a downward break; false otherwise.',
    'Write a rationale that states the direction, the level and the stronger side, then answer true or false.',
  ].join('\n');
}

type Parsed<T> = { ok: true; reason: string; answer: T } | { ok: false; kind: 'parse' | 'schema'; message: string };

/** Strict parse of `{reason, answer}`: exactly those keys, reason a string, answer accepted by `check`. */
export function parseStageAnswer<T>(text: string, check: (a: unknown) => a is T, expected: string): Parsed<T> {
  let v: unknown;
  try {
    v = JSON.parse(text.trim());
  } catch {
    return { ok: false, kind: 'parse', message: `not JSON: ${JSON.stringify(text.slice(0, 80))}` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, kind: 'schema', message: 'answer is not a JSON object' };
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== 'reason' && k !== 'answer');
  if (extra.length) return { ok: false, kind: 'schema', message: `unexpected keys ${extra.join(', ')}` };
  if (typeof o.reason !== 'string') return { ok: false, kind: 'schema', message: '"reason" missing or not a string' };
  if (!check(o.answer)) return { ok: false, kind: 'schema', message: `"answer" must be ${expected}, got ${JSON.stringify(o.answer) ?? 'undefined'}` };
  return { ok: true, reason: o.reason, answer: o.answer };
}

const isDir = (a: unknown): a is 'upward' | 'downward' => a === 'upward' || a === 'downward';
const isSide = (a: unknown): a is 'buyer' | 'seller' => a === 'buyer' || a === 'seller';
const isNum = (a: unknown): a is number => typeof a === 'number' && Number.isFinite(a);
const isBool = (a: unknown): a is boolean => typeof a === 'boolean';

async function ask<T>(provider: LlmProvider, stage: StageName, user: string, check: (a: unknown) => a is T, expected: string, o: PipelineOptions): Promise<StageAnswer<T>> {
  const request: CompletionRequest = {
    messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: user }],
    temperature: o.temperature ?? 0,
    maxTokens: o.maxTokens ?? 400,
    seed: o.seed ?? 0,
    jsonSchema: stageSchemas(o.reasonMaxLength ?? DEFAULT_REASON_MAX_LENGTH)[stage],
  };
  const resp = o.call ? await o.call(stage, request) : await direct(provider, request, o.signal);
  if (resp.error) return { answer: null, reason: null, error: { stage, kind: 'provider', message: `${resp.error.kind}: ${resp.error.message}` } };
  const p = parseStageAnswer(resp.text, check, expected);
  if (!p.ok) return { answer: null, reason: null, error: { stage, kind: p.kind, message: p.message }, ...(resp.cached ? { cached: true } : {}) };
  return { answer: p.answer, reason: p.reason, ...(resp.cached ? { cached: true } : {}) };
}

async function direct(provider: LlmProvider, request: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse> {
  try {
    return await provider.complete(request, signal ? { signal } : undefined);
  } catch (e) {
    // A provider that throws per call is reported as data, like any per-call fault.
    return { text: '', error: { kind: 'internal', message: (e as Error).message }, latencyMs: 0 };
  }
}

function missing<T>(stage: StageName, why: string): StageAnswer<T> {
  return { answer: null, reason: null, error: { stage, kind: 'missing', message: why } };
}

/** The chat messages of one stage's request (for fine-tuning export and inspection). */
export function stageMessages(user: string): { system: string; user: string } {
  return { system: SYSTEM, user };
}

export async function runMultiStage(provider: LlmProvider, w: FootprintWindow, opts: PipelineOptions = {}): Promise<MultiStageResult> {
  const mode = opts.mode ?? 'chained';
  const gold = opts.gold;
  if (mode === 'gold' && (!gold || gold.direction === 'none' || gold.level === null || gold.side === 'none')) {
    throw new TypeError('runMultiStage: gold mode needs a complete gold label');
  }
  const direction = await ask(provider, 'direction', directionPrompt(w), isDir, '"upward" or "downward"', opts);
  const dirIn = mode === 'gold' ? (gold!.direction as 'upward' | 'downward') : direction.answer;
  const levelRaw = dirIn ? await ask(provider, 'level', levelPrompt(w, dirIn), isNum, 'a number', opts) : missing<number>('level', 'no direction from stage 1');
  const levelTicks = levelRaw.answer === null ? null : priceToTicks(levelRaw.answer, w.tick);
  const level = { ...levelRaw, levelTicks };
  const levelIn = mode === 'gold' ? gold!.level! : level.answer;
  const side = dirIn && levelIn !== null ? await ask(provider, 'side', sidePrompt(w, dirIn, levelIn), isSide, '"buyer" or "seller"', opts) : missing<'buyer' | 'seller'>('side', 'no direction or level from earlier stages');
  const sideIn = mode === 'gold' ? (gold!.side as 'buyer' | 'seller') : side.answer;
  const levelPx = levelIn === null ? null : formatPrice(priceToTicks(levelIn, w.tick) ?? levelIn / w.tick, w.tick);
  const report = dirIn && levelPx !== null && sideIn
    ? await ask(provider, 'report', reportPrompt(dirIn, levelPx, sideIn), isBool, 'true or false', opts)
    : missing<boolean>('report', 'missing facts from earlier stages');
  const errors = [direction, level, side, report].map((s) => s.error).filter((e): e is StageError => e !== undefined);
  return { mode, direction, level, side, report, errors };
}

export async function runSingleStage(provider: LlmProvider, w: FootprintWindow, opts: PipelineOptions = {}): Promise<SingleStageResult> {
  const verdict = await ask(provider, 'single', singlePrompt(w), isBool, 'true or false', opts);
  return { verdict, errors: verdict.error ? [verdict.error] : [] };
}
