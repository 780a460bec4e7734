// A model as grader: for answers no mechanical check can score (the qa family's answers, task-file
// entries with a `judge` checker), a judge model reads the question, the answer and, when there
// is one, a reference, and says correct or incorrect under a fixed rubric. The rubric and the
// request are frozen (JUDGE_VERSION names them), temperature 0, seed 0, so a judge verdict is one
// cached call. Judge verdicts are reported apart from mechanical checks.
import type { PredictContext } from './harness.js';
import type { CompletionRequest, JsonSchema, LlmProvider } from './provider.js';
import { parseStrictJson } from './strict.js';
import { rate } from './stats.js';

export const JUDGE_VERSION = 'judge-rubric-v1';

export const JUDGE_RUBRIC = [
  'You grade one answer to one question. Judge only whether the answer is correct and answers what was asked.',
  'If a reference answer is given, the answer is correct when it means the same as the reference (wording, case, articles and units written differently do not matter).',
  'If a context passage is given, the answer must be supported by the passage.',
  'An answer that is empty, evasive, or gives several different answers is incorrect.',
  'Reply only with JSON {"reason": "<one short sentence>", "verdict": "correct" | "incorrect"}.',
].join(' ');

const JUDGE_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { reason: { type: 'string', maxLength: 300 }, verdict: { type: 'string', enum: ['correct', 'incorrect'] } },
  required: ['reason', 'verdict'], additionalProperties: false,
};

export interface JudgeInput {
  readonly question: string;
  readonly answer: string;
  readonly reference?: string | null;
  readonly context?: string | null;
  /** Extra grading instructions of a task file (appended to the fixed rubric). */
  readonly rubric?: string | null;
}

export type JudgeVerdict =
  | { readonly ok: true; readonly correct: boolean; readonly reason: string }
  | { readonly ok: false; readonly kind: 'parse' | 'provider'; readonly message: string };

export function judgeRequest(x: JudgeInput): CompletionRequest {
  const parts = [
    ...(x.context ? [`Context:\n${x.context}`] : []),
    `Question:\n${x.question}`,
    ...(x.reference !== undefined && x.reference !== null ? [`Reference answer:\n${x.reference}`] : []),
    `Answer to grade:\n${x.answer}`,
  ];
  return {
    messages: [{ role: 'system', content: x.rubric ? `${JUDGE_RUBRIC}\nAlso: ${x.rubric}` : JUDGE_RUBRIC }, { role: 'user', content: parts.join('\n\n') }],
    temperature: 0, seed: 0, maxTokens: 200, jsonSchema: JUDGE_SCHEMA,
  };
}

export function parseJudge(text: string): JudgeVerdict {
  const p = parseStrictJson<{ reason: string; verdict: 'correct' | 'incorrect' }>(text, JUDGE_SCHEMA);
  if (!p.ok) return { ok: false, kind: 'parse', message: p.message };
  return { ok: true, correct: p.value.verdict === 'correct', reason: p.value.reason };
}

/** One judge verdict through the harness's cached call (repeat index 0: the verdict is a function of its input). */
export async function judgeAnswer(ctx: PredictContext, judge: LlmProvider, x: JudgeInput): Promise<JudgeVerdict> {
  const r = await ctx.call('judge', judgeRequest(x), { provider: judge, repeatIndex: 0 });
  if (r.error) return { ok: false, kind: 'provider', message: `${r.error.kind}: ${r.error.message}` };
  return parseJudge(r.text);
}

export interface JudgeSummary {
  readonly judge: string;
  readonly rubric: string;
  /** Verdicts asked for. */
  readonly n: number;
  readonly correct: number;
  /** Share judged correct among verdicts that parsed; null when none did. */
  readonly rate: number | null;
  readonly ci95: readonly [number, number] | null;
  readonly failures: number;
  /** Where a mechanical check also scored the same answer: how often the two agree. */
  readonly agreement: { readonly n: number; readonly agree: number; readonly rate: number | null };
}

/** Summary of judge verdicts, each with the mechanical verdict on the same answer where one exists. */
export function summariseJudge(judge: string, xs: readonly { readonly verdict: JudgeVerdict; readonly mechanical: boolean | null }[]): JudgeSummary {
  const ok = xs.filter((x) => x.verdict.ok);
  const correct = ok.filter((x) => (x.verdict as { correct: boolean }).correct).length;
  const r = rate(correct, ok.length, 'no judge verdict parsed');
  const both = ok.filter((x) => x.mechanical !== null);
  const agree = both.filter((x) => (x.verdict as { correct: boolean }).correct === x.mechanical).length;
  return {
    judge, rubric: JUDGE_VERSION, n: xs.length, correct, rate: r.value, ci95: r.ci95, failures: xs.length - ok.length,
    agreement: { n: both.length, agree, rate: both.length ? agree / both.length : null },
  };
}
