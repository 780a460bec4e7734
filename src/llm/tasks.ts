// Self-knowledge task families. Each fixes a checkable claim at generation time, then asks the
// model a property question about its own creation in a separate prompt. Counting conventions
// are stated in both prompts. Prompts are frozen: changing one changes every cache key.
//
// Origin: 'paper' = task named by the paper (word counting, math); 'paper-form-ours' = the
// paper names theorem proving, the checkable forms (polynomial identities, propositional
// tautologies) are this project's; 'addition' = this project's tasks.
import { InputError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import {
  countChars, countSentences, countWords, evaluateArithmetic, isTautology, normaliseAnswer, polynomialIdentityHolds, ratToString, runJavaScript,
} from './checks.js';
import type { JsonSchema } from './provider.js';

export type Checked<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly reason: string };

export interface Creation<A> {
  /** What the verification prompt shows (the model's own content). */
  readonly content: string;
  /** The claimed answer a_gen (fixed by the prompt or stated by the model). */
  readonly claim: A;
  /** Task-specific parts of the creation (e.g. the Q&A passage), for checks. */
  readonly parts?: Readonly<Record<string, string>>;
}

export interface SelfKnowledgeTask<P = unknown, A = unknown> {
  readonly id: string;
  readonly origin: 'paper' | 'paper-form-ours' | 'addition';
  readonly description: string;
  sampleParams(rng: Rng): P;
  generationPrompt(p: P): string;
  readonly generationSchema: JsonSchema;
  /** Content and claim from the schema-valid generation JSON; a string is the reason it is unusable. */
  parseClaim(value: unknown, p: P): Creation<A> | string;
  verificationPrompt(content: string): string;
  readonly answerSchema: JsonSchema;
  /** The answer from the schema-valid verification JSON; a string is the reason it is unusable. */
  parseAnswer(value: unknown): A | string;
  /** The true value a_true of the content's property, computed mechanically. */
  check?(c: Creation<A>, p: P): Checked<A>;
  /** For tasks without a true value: whether the creation is correct (G only; V is n/a). */
  creationValid?(c: Creation<A>, p: P): boolean;
  equals(a: A, b: A): boolean;
  show(a: A): string;
}

const TOPICS = ['the sea', 'a market', 'winter', 'a library', 'bicycles', 'bread', 'a mountain', 'rain', 'a garden', 'trains', 'the moon', 'a river'];
const REPLY_INT = 'Reply only with JSON {"answer": <integer>}.';
const INT_ANSWER: JsonSchema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false };
const BOOL_ANSWER: JsonSchema = { type: 'object', properties: { answer: { type: 'string', enum: ['true', 'false'] } }, required: ['answer'], additionalProperties: false };
const obj = (props: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties: props, required: Object.keys(props), additionalProperties: false });
const field = <T>(v: unknown, k: string): T => (v as Record<string, T>)[k];
const intEq = (a: number, b: number): boolean => a === b;
const strEq = (a: string, b: string): boolean => a === b;

type Count = { n: number; topic: string };

function countingTask(id: string, origin: SelfKnowledgeTask['origin'], description: string, range: [number, number], unit: string, convention: string, counter: (s: string) => number): SelfKnowledgeTask<Count, number> {
  return {
    id, origin, description,
    sampleParams: (rng) => ({ n: range[0] + rng.int(range[1] - range[0] + 1), topic: rng.choice(TOPICS) }),
    generationPrompt: (p) => `Write a text about ${p.topic} with exactly ${p.n} ${unit}. ${convention} Reply only with JSON {"text": "<your text>"}.`,
    generationSchema: obj({ text: { type: 'string' } }),
    parseClaim: (v, p) => ({ content: field<string>(v, 'text'), claim: p.n }),
    verificationPrompt: (content) => `How many ${unit} are in the text below? ${convention}\nText: ${content}\n${REPLY_INT}`,
    answerSchema: INT_ANSWER,
    parseAnswer: (v) => field<number>(v, 'answer'),
    check: (c) => ({ ok: true, value: counter(c.content) }),
    equals: intEq,
    show: String,
  };
}

export const wordCountTask = countingTask('word_count', 'paper', 'write a text with n words; count its words',
  [5, 40], 'words', 'Words are separated by spaces; a hyphenated compound counts as one word; a number counts as a word.', countWords);

export const sentenceCountTask = countingTask('sentence_count', 'addition', 'write n sentences; count them',
  [2, 6], 'sentences', 'A sentence ends with ".", "!" or "?" followed by a space or the end of the text; use no abbreviations and no decimal numbers.', countSentences);

export const charCountTask = countingTask('char_count', 'addition', 'write a phrase of n characters; count them',
  [5, 30], 'characters', 'Every character counts, including spaces and punctuation.', countChars);

export const arithmeticTask: SelfKnowledgeTask<{ ops: number; max: number }, string> = {
  id: 'arithmetic', origin: 'paper', description: 'pose an integer arithmetic problem and solve it; solve it again',
  sampleParams: (rng) => ({ ops: 2 + rng.int(3), max: rng.choice([10, 20, 50]) }),
  generationPrompt: (p) => `Invent an arithmetic expression with exactly ${p.ops} operations on whole numbers from 1 to ${p.max}, using only +, -, * and parentheses, and compute its value. Reply only with JSON {"problem": "<expression>", "answer": <integer>}.`,
  generationSchema: obj({ problem: { type: 'string' }, answer: { type: 'integer' } }),
  parseClaim: (v) => ({ content: field<string>(v, 'problem'), claim: String(field<number>(v, 'answer')) }),
  verificationPrompt: (content) => `Compute the exact value of this expression: ${content}\n${REPLY_INT}`,
  answerSchema: INT_ANSWER,
  parseAnswer: (v) => String(field<number>(v, 'answer')),
  check: (c) => {
    try {
      return { ok: true, value: ratToString(evaluateArithmetic(c.content)) };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  },
  equals: strEq,
  show: (a) => a,
};

type TheoremParams = { form: 'polynomial' | 'propositional'; want: 'true' | 'false'; degree: number };

export const theoremTask: SelfKnowledgeTask<TheoremParams, string> = {
  id: 'theorem', origin: 'paper-form-ours', description: 'state a polynomial identity or propositional formula that is (not) valid; judge its validity',
  sampleParams: (rng) => ({ form: rng.choice(['polynomial', 'propositional'] as const), want: rng.choice(['true', 'false'] as const), degree: 2 + rng.int(2) }),
  generationPrompt: (p) => p.form === 'polynomial'
    ? `Write an identity between two polynomial expressions in x of degree at most ${p.degree}, using numbers, x, +, -, *, ^ and parentheses, that is ${p.want === 'true' ? 'true for every x' : 'false for some x'}. Reply only with JSON {"statement": "<left> = <right>"}.`
    : `Write a propositional formula over the variables p, q and r, using not, and, or, -> and parentheses, that is ${p.want === 'true' ? 'a tautology (true under every assignment)' : 'not a tautology (false under some assignment)'}. Reply only with JSON {"statement": "<formula>"}.`,
  generationSchema: obj({ statement: { type: 'string' } }),
  parseClaim: (v, p) => ({ content: field<string>(v, 'statement'), claim: p.want }),
  verificationPrompt: (content) => `Is the following statement valid? An identity in x is valid if it holds for every x; a propositional formula is valid if it is true under every assignment.\nStatement: ${content}\nReply only with JSON {"answer": "true"} or {"answer": "false"}.`,
  answerSchema: BOOL_ANSWER,
  parseAnswer: (v) => field<string>(v, 'answer'),
  check: (c, p) => {
    try {
      const ok = p.form === 'polynomial' ? polynomialIdentityHolds(c.content) : isTautology(c.content);
      return { ok: true, value: ok ? 'true' : 'false' };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  },
  equals: strEq,
  show: (a) => a,
};

export const jsonStructureTask: SelfKnowledgeTask<{ n: number; keys: number }, number> = {
  id: 'json_structure', origin: 'addition', description: 'write a JSON array of n objects; count its top-level elements',
  sampleParams: (rng) => ({ n: 2 + rng.int(5), keys: 1 + rng.int(3) }),
  generationPrompt: (p) => `Write a JSON array of exactly ${p.n} objects, each with ${p.keys} keys. Put the array into a string. Reply only with JSON {"json": "<the array as a JSON string>"}.`,
  generationSchema: obj({ json: { type: 'string' } }),
  parseClaim: (v, p) => ({ content: field<string>(v, 'json'), claim: p.n }),
  verificationPrompt: (content) => `How many elements does this JSON array have at the top level?\n${content}\n${REPLY_INT}`,
  answerSchema: INT_ANSWER,
  parseAnswer: (v) => field<number>(v, 'answer'),
  check: (c) => {
    let v: unknown;
    try { v = JSON.parse(c.content); } catch { return { ok: false, reason: 'content is not JSON' }; }
    if (!Array.isArray(v)) return { ok: false, reason: 'content is not a JSON array' };
    return { ok: true, value: v.length };
  },
  equals: intEq,
  show: String,
};

const CODE_FEATURES = ['a for loop', 'an array and its length', 'string length', 'integer arithmetic', 'Math.max'];

export const codeOutputTask: SelfKnowledgeTask<{ feature: string }, number> = {
  id: 'code_output', origin: 'addition', description: 'write a JavaScript program printing an integer and state it; predict its output',
  sampleParams: (rng) => ({ feature: rng.choice(CODE_FEATURES) }),
  generationPrompt: (p) => `Write a short JavaScript program (at most three lines) using ${p.feature} that prints exactly one integer with console.log, and state the integer it prints. Reply only with JSON {"code": "<program>", "output": <integer>}.`,
  generationSchema: obj({ code: { type: 'string' }, output: { type: 'integer' } }),
  parseClaim: (v) => ({ content: field<string>(v, 'code'), claim: field<number>(v, 'output') }),
  verificationPrompt: (content) => `What integer does this JavaScript program print?\n${content}\n${REPLY_INT}`,
  answerSchema: INT_ANSWER,
  parseAnswer: (v) => field<number>(v, 'answer'),
  check: (c) => {
    const r = runJavaScript(c.content);
    if (r.timedOut) return { ok: false, reason: 'program timed out' };
    const out = r.stdout.trim();
    if (r.status !== 0 || !/^-?\d+$/.test(out)) return { ok: false, reason: `program did not print one integer (exit ${r.status})` };
    return { ok: true, value: Number(out) };
  },
  equals: intEq,
  show: String,
};

export const qaTask: SelfKnowledgeTask<{ topic: string }, string> = {
  id: 'qa', origin: 'addition', description: 'write a passage, a question and its answer; answer the question from the passage',
  sampleParams: (rng) => ({ topic: rng.choice(TOPICS) }),
  generationPrompt: (p) => `Write a passage of two or three sentences about ${p.topic} that contains one number, a question about the passage, and its answer, which is a word or number from the passage. Reply only with JSON {"passage": "<passage>", "question": "<question>", "answer": "<answer>"}.`,
  generationSchema: obj({ passage: { type: 'string' }, question: { type: 'string' }, answer: { type: 'string' } }),
  parseClaim: (v) => {
    const passage = field<string>(v, 'passage'), question = field<string>(v, 'question');
    return { content: `Passage: ${passage}\nQuestion: ${question}`, claim: field<string>(v, 'answer'), parts: { passage, question } };
  },
  verificationPrompt: (content) => `Read the passage and answer the question with a word or number from the passage.\n${content}\nReply only with JSON {"answer": "<answer>"}.`,
  answerSchema: obj({ answer: { type: 'string' } }),
  parseAnswer: (v) => field<string>(v, 'answer'),
  // No true value exists; G checks what the prompt asked for: 2-3 sentences with a number, a
  // question, and an answer that occurs in the passage.
  creationValid: (c) => {
    const passage = c.parts?.passage ?? '';
    const a = normaliseAnswer(c.claim);
    const sentences = countSentences(passage);
    return a.length > 0 && sentences >= 2 && sentences <= 3 && /\d/.test(passage) && (c.parts?.question ?? '').trim().endsWith('?')
      && ` ${normaliseAnswer(passage)} `.includes(` ${a} `);
  },
  equals: (a, b) => normaliseAnswer(a) === normaliseAnswer(b),
  show: (a) => normaliseAnswer(a),
};

/** Every task family, in report order (paper tasks first). */
export const ALL_TASKS: readonly SelfKnowledgeTask[] = [
  wordCountTask, arithmeticTask, theoremTask, sentenceCountTask, charCountTask, jsonStructureTask, codeOutputTask, qaTask,
] as unknown as readonly SelfKnowledgeTask[];

/** `all`, `none` or a comma list of task ids -> tasks (unknown ids raise an error listing the known ones). */
export function selectTasks(spec: string | readonly string[]): SelfKnowledgeTask[] {
  const ids = typeof spec === 'string' ? spec.split(',').map((s) => s.trim()).filter(Boolean) : [...spec];
  if (ids.length === 0 || ids.includes('all')) return [...ALL_TASKS];
  // `none`: only the entries of a task file.
  if (ids.length === 1 && ids[0] === 'none') return [];
  const byId = new Map(ALL_TASKS.map((t) => [t.id, t]));
  return ids.map((id) => {
    const t = byId.get(id);
    if (!t) throw new InputError(`unknown task ${JSON.stringify(id)}; known: all, none, ${[...byId.keys()].join(', ')}`);
    return t;
  });
}
