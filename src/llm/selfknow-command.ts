// What `perennial llm selfknow` computes: check the options, evaluate every model (built-in task
// families and a task file) through one cache and one samples log, and return the console lines,
// the record body and the report sections, so the CLI only parses options, guards the files,
// calls this and writes what comes back.
import { InputError } from '../core/errors.js';
import type { Section } from '../core/report.js';
import type { RunRecorder } from '../core/record.js';
import { ResponseCache } from './cache.js';
import { SampleLog } from './harness.js';
import { OpenAICompatibleProvider } from './openai.js';
import { samplingProblem, type LlmProvider } from './provider.js';
import {
  compareModels, comparisonSection, reportRecord, runSelfKnowledge, selfKnowledgeSection, userTasksSection,
  type ContextMode, type ModelComparison, type ModelResults, type SelfKnowledgeReport,
} from './selfknow.js';
import { parseModelSpec, type ProviderSettings } from './spec.js';
import { readTaskFile, runUserTasks, type UserTaskReport } from './taskfile.js';
import { selectTasks } from './tasks.js';

export interface SelfknowCommandOptions {
  /** Model specs (gguf:PATH, openai:URL#MODEL, echo:...): several are compared item by item. */
  readonly models: readonly string[];
  /** all, none, or a comma list of built-in task families. */
  readonly tasks: string;
  readonly tasksFile?: string;
  readonly judge?: string;
  readonly items: number;
  readonly repeats: number;
  readonly passK?: number;
  readonly seed: number;
  readonly temperature: number;
  readonly topP?: number;
  readonly contextMode: string;
  readonly split: string;
  readonly sameSeedRepeats?: boolean;
  readonly constrained: boolean;
  readonly thresholds?: Readonly<Record<string, number>>;
  readonly evalConcurrency: number;
  /** Response cache JSONL, or null for none. */
  readonly cachePath: string | null;
  /** Samples log JSONL (resumable). */
  readonly samples?: string;
  /** Whether a fine-tuning export will be written (one model only). */
  readonly exportFinetune?: boolean;
  readonly provider: ProviderSettings;
}

export interface SelfknowCommandResult {
  readonly results: readonly (ModelResults & { readonly served: unknown })[];
  /** The first model's self-knowledge report (what a fine-tuning export is made from). */
  readonly first: SelfKnowledgeReport | null;
  /** Console lines (stdout), each ending in a newline. */
  readonly stdout: readonly string[];
  /** Problems to report on stderr (without the `perennial: ` prefix). */
  readonly stderr: readonly string[];
  /** True when runs were made and every one failed: nothing was measured. */
  readonly allFailed: boolean;
  /** The record body (before the recorder's envelope). */
  readonly body: Record<string, unknown>;
  readonly sections: readonly Section[];
}

const CONTEXT_MODES = ['fresh', 'withGeneration', 'withNoise'];

/** Option problems that need no model: each is one InputError naming the flag. */
export function checkSelfknowOptions(o: SelfknowCommandOptions): void {
  const models = o.models;
  if (models.length === 0) throw new InputError('selfknow needs --model (repeat it to compare several models)');
  const dup = models.find((m, i) => models.indexOf(m) !== i);
  if (dup) throw new InputError(`--model ${dup} is given twice`);
  if (models.length > 1 && o.exportFinetune) throw new InputError('--export-finetune takes one --model');
  selectTasks(o.tasks);
  if (!CONTEXT_MODES.includes(o.contextMode)) throw new InputError(`--context-mode must be fresh, withGeneration or withNoise, got ${o.contextMode}`);
  if (o.split !== 'dev' && o.split !== 'test') throw new InputError(`--split must be dev or test, got ${o.split}`);
  const badSampling = samplingProblem({ temperature: o.temperature, topP: o.topP });
  if (badSampling) throw new InputError(`--${badSampling.replace('_', '-')}`);
}

async function withProvider<T>(p: LlmProvider, fn: (p: LlmProvider) => Promise<T>): Promise<T> {
  try {
    return await fn(p);
  } finally {
    await p.close?.();
  }
}

const f = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));

/** Runs the evaluation of every model; `rec` times each model's phase. */
export async function runSelfknowCommand(o: SelfknowCommandOptions, rec: RunRecorder): Promise<SelfknowCommandResult> {
  checkSelfknowOptions(o);
  const tasks = selectTasks(o.tasks);
  const userTasks = o.tasksFile ? readTaskFile(o.tasksFile) : [];
  if (tasks.length === 0 && userTasks.length === 0) throw new InputError('--tasks none leaves nothing to run: give --tasks-file');
  const models = o.models;
  // One cache and one samples log for every model (and the judge): keys name the model.
  const cache = new ResponseCache(o.cachePath);
  const samples = o.samples ? new SampleLog(o.samples) : null;
  const judge = o.judge ? parseModelSpec(o.judge, o.provider) : null;
  const results: (ModelResults & { served: unknown })[] = [];
  try {
    for (const spec of models) {
      results.push(await withProvider(parseModelSpec(spec, o.provider), (p) => rec.time(`evaluate ${spec}`, async () => {
        const selfknow = tasks.length ? await runSelfKnowledge(tasks, p, {
          items: o.items, repeats: o.repeats, passK: o.passK, seed: o.seed, temperature: o.temperature, topP: o.topP, contextMode: o.contextMode as ContextMode,
          split: o.split as 'dev' | 'test', independentRepeats: !o.sameSeedRepeats, constrained: o.constrained, thresholds: o.thresholds, concurrency: o.evalConcurrency, cache,
          samples, judge,
        }) : null;
        const user = userTasks.length ? await runUserTasks(userTasks, p, { repeats: o.repeats, seed: o.seed, concurrency: o.evalConcurrency, cache, samples, judge }) : null;
        // What an HTTP server said it ran (model name, system fingerprint), for the record.
        const served = p instanceof OpenAICompatibleProvider ? p.lastServed : null;
        return { model: p.id(), selfknow, user, served };
      })));
    }
  } finally {
    cache.close();
    samples?.close();
    await judge?.close?.();
  }

  const stdout: string[] = [];
  const stderr: string[] = [];
  let runs = 0, failed = 0;
  for (const { model, selfknow: r, user } of results) {
    if (models.length > 1) stdout.push(`== ${model}\n`);
    if (r) {
      for (const [id, t] of Object.entries(r.tasks)) {
        stdout.push(`${id.padEnd(15)} S ${f(t.self_consistency)}  G ${f(t.generation_correct)}  V ${f(t.verification_correct)}  pass^${t.k} ${f(t.pass_k)}  parse failures ${t.parse_failures}  errors ${t.errors}${t.judge ? `  judge: claim ${f(t.judge.claim.rate)} answer ${f(t.judge.answer.rate)}` : ''}\n`);
      }
      stdout.push(`overall         S ${r.overall.self_consistency?.toFixed(3) ?? 'n/a'}; ${r.throughput.pairs} runs in ${r.throughput.wall_s.toFixed(1)} s (${r.throughput.cache_hits} cache hits)\n`);
      if (r.errors.length) stderr.push(`${model}: ${r.errors.length} runs hit provider errors (first: ${r.errors[0].kind}: ${r.errors[0].message}); rerun to retry them from the cache`);
      runs += r.outcomes.length;
      failed += r.errors.length;
    }
    if (user) {
      for (const [id, t] of Object.entries(user.tasks)) {
        stdout.push(`${id.padEnd(15)} pass ${f(t.pass?.value ?? null)}  ${Object.entries(t.checks).map(([k, v]) => `${k} ${f(v.value)}`).join('  ')}${t.judge ? `  judge ${f(t.judge.rate)} (agrees ${t.judge.agreement.agree}/${t.judge.agreement.n})` : ''}  errors ${t.errors}\n`);
      }
      stderr.push(...user.warnings);
      runs += user.outcomes.length;
      failed += user.outcomes.filter((x) => x.error).length;
    }
  }
  // Nothing measured is not a result: the record is still written, the caller's exit code says so.
  const allFailed = runs > 0 && failed >= runs;
  if (allFailed) stderr.push(`every one of the ${runs} runs failed; no rate was measured`);

  const userRecord = (u: UserTaskReport | null): Record<string, unknown> => (u ? { user_tasks: { file: o.tasksFile, tasks: u.tasks, throughput: u.throughput, warnings: u.warnings } } : {});
  const one = (r: (typeof results)[number]): Record<string, unknown> => ({
    ...(r.selfknow ? reportRecord(r.selfknow) : { model: r.model }), served: r.served, ...userRecord(r.user),
  });
  const comparison: ModelComparison | null = models.length > 1 ? compareModels(results, o.seed) : null;
  const body = {
    ...(models.length === 1 ? one(results[0]) : { models: results.map(one), comparison }),
    ...(judge ? { judge: judge.id() } : {}),
    ...(samples ? { samples: { file: samples.path, lines: samples.size, written: samples.written } } : {}),
  };
  const sections: Section[] = results.flatMap((r) => [
    ...(r.selfknow ? [selfKnowledgeSection(r.selfknow, models.length > 1 ? `LLM self-knowledge: ${r.model}` : undefined)] : []),
    ...(r.user ? [userTasksSection(r.user, `Task file ${o.tasksFile}: ${r.model}`)] : []),
  ]);
  if (comparison) sections.unshift(comparisonSection(comparison));
  return { results, first: results[0].selfknow, stdout, stderr, allFailed, body, sections };
}
