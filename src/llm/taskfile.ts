// User task files (`--tasks-file F.yaml`): prompts with {{variable}} templates, a list of items
// giving the variables, and checkers from a fixed set (exact, regex, numeric tolerance, JSON
// schema, judge). The file is checked with zod and every error names the line and the key. Each
// task runs through the evaluation harness with a one-call predictor; the built-in self-knowledge
// families stay code.
//
//   tasks:
//     - id: capitals
//       prompt: 'Capital of {{country}}? Reply only with JSON {"city": "<name>"}.'
//       field: city                      # checkers see this JSON field (default: the raw text)
//       items: [{ country: France, city: Paris }]
//       checks:
//         - { type: exact, expected: '{{city}}', ignore_case: true }
//         - { type: regex, pattern: '^[A-Z]' }
//         - { type: numeric, expected: '{{n}}', tolerance: 0.01 }
//         - { type: json_schema, schema: { type: object, required: [city] } }   # on the whole response
//         - { type: judge, reference: '{{city}}' }
import { parseConfigText, readConfigText } from '../core/yaml.js';
import { z } from 'zod';
import { InputError, ParseError } from '../core/errors.js';
import { evaluate, type EvalCase, type Predictor, type SampleLog } from './harness.js';
import { judgeAnswer, summariseJudge, type JudgeSummary, type JudgeVerdict } from './judge.js';
import type { ResponseCache } from './cache.js';
import type { ChatMessage, CompletionRequest, JsonSchema, LlmProvider } from './provider.js';
import { rate, type Rate } from './stats.js';
import { validateSchema } from './strict.js';

export const MAX_TASK_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_TASK_ITEMS = 100_000;
export const MAX_REGEX_LENGTH = 1000;

// The JSON-schema subset strict.ts validates; any other keyword is an error in the file, not a
// silently ignored constraint.
type SchemaNode = { [k: string]: unknown };
const jsonSchema: z.ZodType<SchemaNode> = z.lazy(() => z.strictObject({
  type: z.enum(['object', 'array', 'string', 'integer', 'number', 'boolean', 'null']).optional(),
  properties: z.record(z.string(), jsonSchema).optional(),
  required: z.array(z.string()).optional(),
  additionalProperties: z.boolean().optional(),
  items: jsonSchema.optional(),
  enum: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).min(1).optional(),
  const: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  minLength: z.number().int().min(0).optional(),
  maxLength: z.number().int().min(0).optional(),
  description: z.string().optional(),
}));

const templ = z.union([z.string(), z.number().refine(Number.isFinite, 'a finite number')]);

const Checker = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('exact'), expected: templ, ignore_case: z.boolean().default(false), trim: z.boolean().default(true), name: z.string().optional() }),
  z.strictObject({ type: z.literal('regex'), pattern: z.string().min(1).max(MAX_REGEX_LENGTH), flags: z.string().regex(/^[imsu]*$/, 'regex flags from i, m, s, u').default(''), name: z.string().optional() }),
  z.strictObject({ type: z.literal('numeric'), expected: templ, tolerance: z.number().min(0).refine(Number.isFinite, 'a finite number').default(0), relative: z.boolean().default(false), name: z.string().optional() }),
  z.strictObject({ type: z.literal('json_schema'), schema: jsonSchema, name: z.string().optional() }),
  z.strictObject({ type: z.literal('judge'), reference: templ.optional(), rubric: z.string().max(2000).optional(), name: z.string().optional() }),
]);
export type CheckerSpec = z.infer<typeof Checker>;

const Task = z.strictObject({
  id: z.string().regex(/^[A-Za-z][\w.-]{0,63}$/, 'an id of letters, digits, _ . - (starting with a letter, at most 64)'),
  description: z.string().optional(),
  system: z.string().optional(),
  prompt: z.string().min(1),
  /** Sent for constrained decoding; the json_schema checker checks the answer itself. */
  schema: jsonSchema.optional(),
  /** Checkers other than json_schema see this field of the JSON answer instead of the raw text. */
  field: z.string().min(1).optional(),
  temperature: z.number().min(0).max(2).default(0),
  max_tokens: z.number().int().min(1).max(32768).default(256),
  items: z.array(z.record(z.string().regex(/^\w+$/, 'a variable name of letters, digits and _'), templ.or(z.boolean()))).min(1).max(MAX_TASK_ITEMS),
  checks: z.array(Checker).min(1),
});
export type UserTask = z.infer<typeof Task>;

const TaskFile = z.strictObject({ version: z.literal(1).default(1), tasks: z.array(Task).min(1) });

const VAR = /\{\{\s*(\w+)\s*\}\}/g;

/** `{{name}}` replaced by the item's value (every name was checked to exist when the file was read). */
export function render(template: string | number, vars: Readonly<Record<string, string | number | boolean>>): string {
  return String(template).replace(VAR, (_m, k: string) => String(vars[k]));
}

/** Parse and check a task file's text; errors are ParseErrors naming `file`, the line and the key. */
export function parseTaskFile(text: string, file: string): UserTask[] {
  const parsed = parseConfigText(text, file, TaskFile, { what: 'task file', rootKey: 'tasks', keyNoun: 'task file key' });
  const fail = (path: (string | number)[], expected: string): never => parsed.fail(path, expected);
  const tasks = parsed.data.tasks;
  const seen = new Set<string>();
  tasks.forEach((t, ti) => {
    if (seen.has(t.id)) fail(['tasks', ti, 'id'], `a task id not used before (${t.id} is)`);
    seen.add(t.id);
    // Every {{variable}} used must be given by every item.
    const used: { path: (string | number)[]; names: string[] }[] = [];
    const scan = (path: (string | number)[], s: unknown): void => {
      if (typeof s === 'string') used.push({ path, names: [...s.matchAll(VAR)].map((m) => m[1]) });
    };
    scan(['tasks', ti, 'prompt'], t.prompt);
    scan(['tasks', ti, 'system'], t.system);
    t.checks.forEach((c, ci) => {
      if (c.type === 'exact' || c.type === 'numeric') scan(['tasks', ti, 'checks', ci, 'expected'], c.expected);
      if (c.type === 'judge') scan(['tasks', ti, 'checks', ci, 'reference'], c.reference);
      if (c.type === 'regex') {
        try { new RegExp(c.pattern, c.flags); } catch (e) { fail(['tasks', ti, 'checks', ci, 'pattern'], `a valid regular expression (${(e as Error).message})`); }
      }
      if (c.type === 'judge' && t.checks.filter((x) => x.type === 'judge').length > 1) fail(['tasks', ti, 'checks', ci], 'at most one judge checker per task');
    });
    t.items.forEach((it, ii) => {
      for (const u of used) for (const n of u.names) if (!(n in it)) fail(['tasks', ti, 'items', ii], `a value for {{${n}}} (used in ${u.path.slice(2).join('.')})`);
      t.checks.forEach((c, ci) => {
        if (c.type === 'numeric' && !Number.isFinite(Number(render(c.expected, it)))) fail(['tasks', ti, 'checks', ci, 'expected'], `a number for item ${ii}`);
      });
    });
  });
  return tasks;
}

export function readTaskFile(file: string): UserTask[] {
  return readConfigText(file, MAX_TASK_FILE_BYTES, 'task file', (text) => parseTaskFile(text, file));
}

export const checkerName = (c: CheckerSpec, i: number): string => c.name ?? `${c.type}${i === 0 ? '' : `#${i}`}`;

export interface UserOutcome {
  readonly task: string;
  readonly item: number;
  readonly repeat: number;
  readonly messages: readonly ChatMessage[];
  readonly response: string | null;
  /** What the checkers saw (the `field` of the JSON answer, or the raw text); null when it could not be read. */
  readonly value: unknown;
  /** Mechanical verdicts by checker name; null where the answer could not be read. */
  readonly checks: Readonly<Record<string, boolean | null>>;
  /** Every mechanical checker passed (null when the task has none or the call failed). */
  readonly pass: boolean | null;
  readonly judge: JudgeVerdict | null;
  readonly failure: string | null;
  readonly error: { readonly kind: string; readonly message: string } | null;
}

function runChecker(c: CheckerSpec, value: unknown, text: string, vars: Readonly<Record<string, string | number | boolean>>): boolean {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  switch (c.type) {
    case 'exact': {
      let a = c.trim ? s.trim() : s, b = render(c.expected, vars);
      if (c.trim) b = b.trim();
      if (c.ignore_case) { a = a.toLowerCase(); b = b.toLowerCase(); }
      return a === b;
    }
    case 'regex': return new RegExp(c.pattern, c.flags).test(s);
    case 'numeric': {
      const x = typeof value === 'number' ? value : Number(s.trim());
      if (s.trim() === '' || !Number.isFinite(x)) return false;
      const e = Number(render(c.expected, vars));
      const tol = c.relative ? c.tolerance * Math.abs(e) : c.tolerance;
      return Math.abs(x - e) <= tol;
    }
    case 'json_schema': {
      let v: unknown;
      try { v = JSON.parse(text.trim()); } catch { return false; }
      return validateSchema(v, c.schema as JsonSchema) === null;
    }
    case 'judge': throw new Error('judge is not a mechanical checker');
  }
}

export interface UserInput { readonly vars: Readonly<Record<string, string | number | boolean>> }

/** The one-call predictor of task-file entries; the judge (when given) grades tasks with a judge checker. */
export function userTaskPredictor(tasks: readonly UserTask[], opts: { judge?: LlmProvider | null; seed?: number } = {}): Predictor<UserInput, UserOutcome> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  return {
    name: 'taskfile',
    predict: async (c, ctx) => {
      const t = byId.get(c.task)!;
      const vars = c.input.vars;
      const messages: ChatMessage[] = [...(t.system ? [{ role: 'system' as const, content: render(t.system, vars) }] : []), { role: 'user', content: render(t.prompt, vars) }];
      const req: CompletionRequest = { messages, temperature: t.temperature, maxTokens: t.max_tokens, seed: (opts.seed ?? 0) + ctx.repeat, ...(t.schema ? { jsonSchema: t.schema as JsonSchema } : {}) };
      const mech = t.checks.map((x, i) => ({ x, name: checkerName(x, i) })).filter((m) => m.x.type !== 'judge');
      const base = { task: t.id, item: c.item, repeat: ctx.repeat, messages };
      const r = await ctx.call('answer', req);
      if (r.error) return { ...base, response: null, value: null, checks: Object.fromEntries(mech.map((m) => [m.name, null])), pass: null, judge: null, failure: null, error: { kind: r.error.kind, message: r.error.message } };
      let value: unknown = r.text;
      let failure: string | null = null;
      if (t.field) {
        try {
          const v = JSON.parse(r.text.trim()) as unknown;
          if (v && typeof v === 'object' && !Array.isArray(v) && t.field in v) value = (v as Record<string, unknown>)[t.field];
          else { value = null; failure = `answer has no field ${t.field}`; }
        } catch {
          value = null;
          failure = 'answer is not JSON';
        }
      }
      const checks: Record<string, boolean | null> = {};
      for (const m of mech) checks[m.name] = m.x.type === 'json_schema' ? runChecker(m.x, value, r.text, vars) : failure ? false : runChecker(m.x, value, r.text, vars);
      const pass = mech.length ? mech.every((m) => checks[m.name] === true) : null;
      const jc = t.checks.find((x) => x.type === 'judge') as Extract<CheckerSpec, { type: 'judge' }> | undefined;
      let judge: JudgeVerdict | null = null;
      if (jc && opts.judge) {
        judge = failure ? { ok: true, correct: false, reason: failure } : await judgeAnswer(ctx, opts.judge, {
          question: messages.map((m) => m.content).join('\n'), answer: typeof value === 'string' ? value : JSON.stringify(value),
          reference: jc.reference !== undefined ? render(jc.reference, vars) : null, rubric: jc.rubric ?? null,
        });
      }
      return { ...base, response: r.text, value, checks, pass, judge, failure, error: null };
    },
    sample: (_c, o) => ({
      parsed: { value: o.value },
      verdicts: { ...o.checks, pass: o.pass, ...(o.judge ? { judge: o.judge.ok ? o.judge.correct : null } : {}) },
      error_kind: o.error?.kind ?? (o.failure ? 'unreadable' : null),
    }),
  };
}

export interface UserTaskSummary {
  readonly description: string | null;
  readonly n: number;
  readonly runs: number;
  readonly evaluated: number;
  readonly errors: number;
  /** Runs whose answer could not be read (not JSON, no such field). */
  readonly unreadable: number;
  /** All mechanical checkers passed; null when the task has only a judge. */
  readonly pass: Rate | null;
  readonly checks: Readonly<Record<string, Rate>>;
  /** Reported apart from the mechanical checks; absent without --judge or a judge checker. */
  readonly judge?: JudgeSummary;
}

export interface UserTaskReport {
  readonly model: string;
  readonly file_tasks: readonly string[];
  readonly tasks: Readonly<Record<string, UserTaskSummary>>;
  readonly throughput: { readonly calls: number; readonly cache_hits: number; readonly wall_s: number };
  readonly outcomes: readonly UserOutcome[];
  readonly warnings: readonly string[];
}

export interface UserTaskOptions {
  readonly repeats?: number;
  readonly seed?: number;
  readonly concurrency?: number;
  readonly cache?: ResponseCache | string | null;
  readonly samples?: SampleLog | null;
  readonly judge?: LlmProvider | null;
  readonly signal?: AbortSignal;
  readonly quiet?: boolean;
}

/** Run task-file entries on one model through the harness. */
export async function runUserTasks(tasks: readonly UserTask[], provider: LlmProvider, o: UserTaskOptions = {}): Promise<UserTaskReport> {
  const cases: EvalCase<UserInput>[] = [];
  for (const t of tasks) t.items.forEach((vars, i) => cases.push({ task: t.id, item: i, input: { vars } }));
  const warnings: string[] = [];
  const needsJudge = tasks.filter((t) => t.checks.some((c) => c.type === 'judge')).map((t) => t.id);
  if (needsJudge.length && !o.judge) warnings.push(`tasks ${needsJudge.join(', ')} have a judge checker but no --judge was given: their judge verdicts are not computed`);
  const run = await evaluate(cases, userTaskPredictor(tasks, { judge: o.judge ?? null, seed: o.seed ?? 0 }), {
    provider, repeats: o.repeats ?? 1, concurrency: o.concurrency ?? 1, cache: o.cache ?? null, label: 'tasks-file', quiet: o.quiet ?? false,
    ...(o.samples ? { samples: o.samples } : {}), ...(o.signal ? { signal: o.signal } : {}),
    runKey: { taskfile: tasks, seed: o.seed ?? 0, judge: o.judge?.id() ?? null },
  });
  const outcomes = run.outcomes.map((x) => x.output);
  const summaries: Record<string, UserTaskSummary> = {};
  for (const t of tasks) {
    const mine = outcomes.filter((x) => x.task === t.id);
    const ok = mine.filter((x) => x.error === null);
    const names = t.checks.map((c, i) => ({ c, name: checkerName(c, i) })).filter((m) => m.c.type !== 'judge').map((m) => m.name);
    const checks: Record<string, Rate> = {};
    for (const n of names) checks[n] = rate(ok.filter((x) => x.checks[n] === true).length, ok.length, 'no answered run');
    const passes = ok.map((x) => x.pass).filter((x): x is boolean => x !== null);
    const judged = ok.filter((x) => x.judge !== null);
    summaries[t.id] = {
      description: t.description ?? null, n: t.items.length, runs: mine.length, evaluated: ok.length, errors: mine.length - ok.length,
      unreadable: ok.filter((x) => x.failure !== null).length,
      pass: names.length ? rate(passes.filter(Boolean).length, passes.length, 'no answered run') : null,
      checks,
      ...(judged.length && o.judge ? { judge: summariseJudge(o.judge.id(), judged.map((x) => ({ verdict: x.judge!, mechanical: x.pass }))) } : {}),
    };
  }
  return { model: provider.id(), file_tasks: tasks.map((t) => t.id), tasks: summaries, throughput: { calls: run.calls, cache_hits: run.cache_hits, wall_s: run.wall_s }, outcomes, warnings };
}
