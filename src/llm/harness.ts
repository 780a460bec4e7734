// The one evaluation harness (promptfoo's shape): cases in, a predictor, outcomes out. Every
// evaluation of a model (self-knowledge families, user task files, breakout's pipelines) is a
// list of cases and a predictor; the harness runs each case `repeats` times with a bounded number
// in flight, sends every model call through the one ResponseCache, logs one samples line per case
// and repeat, and stops between cases when the signal aborts. Outcomes come back in (case, repeat)
// order whatever the concurrency, so results cannot depend on it.
import { InputError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { progress } from '../core/progress.js';
import { versions } from '../core/record.js';
import { cacheKey, canonicalJson, JsonlAppendLog, ResponseCache, sha256Hex } from './cache.js';
import type { ChatMessage, CompletionRequest, CompletionResponse, LlmProvider, ProviderErrorKind } from './provider.js';

export interface EvalCase<I = unknown> {
  /** Task (family, task-file entry or pipeline) the case belongs to. */
  readonly task: string;
  /** Item index within the task. */
  readonly item: number;
  readonly input: I;
}

/** One model call as the samples log shows it. */
export interface CallLog {
  readonly stage: string;
  readonly messages: readonly ChatMessage[];
  readonly response: string;
  readonly latency_ms: number;
  readonly tokens: { readonly prompt: number; readonly completion: number } | null;
  readonly cache_hit: boolean;
  readonly error_kind: ProviderErrorKind | null;
  /** Which provider answered (the judge is another one). */
  readonly model: string;
}

export interface CallOptions {
  /** Another provider than the evaluated one (a judge). */
  readonly provider?: LlmProvider;
  /** Repeat index in the cache key (default: the current repeat). */
  readonly repeatIndex?: number;
}

export type CallResult = CompletionResponse & { readonly cached: boolean };

export interface PredictContext {
  readonly repeat: number;
  readonly signal?: AbortSignal;
  /** One model call through the cache. Never throws: a provider that throws gives an 'internal' error. */
  call(stage: string, req: CompletionRequest, opts?: CallOptions): Promise<CallResult>;
}

/** What the samples line says about an outcome beyond the calls. */
export interface SampleFields {
  readonly parsed?: unknown;
  readonly verdicts?: Readonly<Record<string, unknown>>;
  /** The outcome's failure or error kind, null when it has none. */
  readonly error_kind?: string | null;
}

export interface Predictor<I = unknown, O = unknown> {
  readonly name: string;
  predict(c: EvalCase<I>, ctx: PredictContext): Promise<O>;
  sample?(c: EvalCase<I>, output: O): SampleFields;
}

export interface Outcome<I = unknown, O = unknown> {
  readonly case: EvalCase<I>;
  readonly repeat: number;
  readonly output: O;
  readonly calls: readonly CallLog[];
}

export interface EvaluateOptions {
  /** The evaluated model; predictors that make no calls (rules, learned) need none. */
  readonly provider?: LlmProvider;
  /** Runs per case (default 1). */
  readonly repeats?: number;
  /** Cases in flight at once (default 1). */
  readonly concurrency?: number;
  /** Response cache: a ResponseCache, a JSONL path, or null for memory only (default). */
  readonly cache?: ResponseCache | string | null;
  readonly signal?: AbortSignal;
  /** Samples log (one line per case and repeat); lines already there are not written again. */
  readonly samples?: SampleLog | null;
  /** What else the samples key must pin (the run's configuration), so another config never resumes into it. */
  readonly runKey?: unknown;
  /** Progress bar label; `quiet` hides it. */
  readonly label?: string;
  readonly quiet?: boolean;
}

export interface EvaluationRun<I = unknown, O = unknown> {
  readonly outcomes: readonly Outcome<I, O>[];
  readonly model: string | null;
  readonly fingerprint: string | null;
  /** Calls sent to a provider (cache misses). */
  readonly calls: number;
  readonly cache_hits: number;
  readonly cache_misses: number;
  readonly wall_s: number;
}

const KNOWN = ['provider', 'repeats', 'concurrency', 'cache', 'signal', 'samples', 'runKey', 'label', 'quiet'];
export const MAX_EVAL_CONCURRENCY = 1024;
export const MAX_EVAL_REPEATS = 10_000;

function abortError(): Error {
  return Object.assign(new Error('evaluation aborted'), { name: 'AbortError' });
}

/** Run every case `repeats` times through `predictor`. */
export async function evaluate<I, O>(cases: readonly EvalCase<I>[], predictor: Predictor<I, O>, opts: EvaluateOptions = {}): Promise<EvaluationRun<I, O>> {
  checkOptionKeys(opts, KNOWN, 'evaluate');
  const repeats = opts.repeats ?? 1;
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > MAX_EVAL_REPEATS) throw new InputError(`repeats must be an integer in 1..${MAX_EVAL_REPEATS}, got ${repeats}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_EVAL_CONCURRENCY) throw new InputError(`concurrency must be an integer in 1..${MAX_EVAL_CONCURRENCY}, got ${concurrency}`);
  const ownCache = !(opts.cache instanceof ResponseCache);
  const cache = opts.cache instanceof ResponseCache ? opts.cache : new ResponseCache(opts.cache ?? null);
  const libs = { 'node-llama-cpp': versions()['node-llama-cpp'] ?? 'missing' };
  const fingerprints = new Map<LlmProvider, Promise<string>>();
  const fingerprintOf = (p: LlmProvider): Promise<string> => {
    let f = fingerprints.get(p);
    if (!f) {
      f = p.fingerprint ? p.fingerprint() : Promise.resolve(p.id());
      fingerprints.set(p, f);
    }
    return f;
  };
  const fingerprint = opts.provider ? await fingerprintOf(opts.provider) : null;
  let calls = 0, hits = 0, misses = 0;

  const jobs: { c: EvalCase<I>; repeat: number }[] = [];
  for (const c of cases) for (let r = 0; r < repeats; r++) jobs.push({ c, repeat: r });
  const model = opts.provider?.id() ?? null;
  const sampleKey = (c: EvalCase<I>, repeat: number): string =>
    sha256Hex(canonicalJson({ model, fingerprint, predictor: predictor.name, task: c.task, item: c.item, repeat, run: opts.runKey ?? null }));

  const runOne = async (job: { c: EvalCase<I>; repeat: number }): Promise<Outcome<I, O>> => {
    const log: CallLog[] = [];
    const ctx: PredictContext = {
      repeat: job.repeat,
      ...(opts.signal ? { signal: opts.signal } : {}),
      call: async (stage, req, o = {}) => {
        const p = o.provider ?? opts.provider;
        if (!p) throw new InputError(`predictor ${predictor.name} made a model call (${stage}) but no provider was given`);
        const key = cacheKey(req, { providerId: p.id(), fingerprint: await fingerprintOf(p), repeatIndex: o.repeatIndex ?? job.repeat, extra: libs });
        const hit = cache.get(key);
        let r: CallResult;
        if (hit) {
          hits++;
          r = { text: hit.text, ...(hit.usage ? { usage: hit.usage } : {}), latencyMs: hit.latencyMs, cached: true };
        } else {
          misses++;
          calls++;
          let resp: CompletionResponse;
          try {
            resp = await p.complete(req, opts.signal ? { signal: opts.signal } : undefined);
          } catch (e) {
            // A provider that throws per call is reported as data, like any per-call fault.
            resp = { text: '', error: { kind: 'internal', message: (e as Error).message }, latencyMs: 0 };
          }
          cache.put(key, resp);
          r = { ...resp, cached: false };
        }
        log.push({
          stage, messages: req.messages, response: r.text, latency_ms: r.latencyMs,
          tokens: r.usage ? { prompt: r.usage.promptTokens, completion: r.usage.completionTokens } : null,
          cache_hit: r.cached, error_kind: r.error?.kind ?? null, model: p.id(),
        });
        return r;
      },
    };
    const output = await predictor.predict(job.c, ctx);
    const outcome: Outcome<I, O> = { case: job.c, repeat: job.repeat, output, calls: log };
    if (opts.samples) {
      const key = sampleKey(job.c, job.repeat);
      if (!opts.samples.has(key)) {
        const f = predictor.sample?.(job.c, output) ?? {};
        opts.samples.write(key, {
          model, predictor: predictor.name, task: job.c.task, item: job.c.item, repeat: job.repeat,
          calls: log, parsed: f.parsed ?? null, verdicts: f.verdicts ?? {},
          latency_ms: log.reduce((s, x) => s + x.latency_ms, 0),
          tokens: log.some((x) => x.tokens) ? { prompt: log.reduce((s, x) => s + (x.tokens?.prompt ?? 0), 0), completion: log.reduce((s, x) => s + (x.tokens?.completion ?? 0), 0) } : null,
          cache_hit: log.length > 0 && log.every((x) => x.cache_hit),
          error_kind: f.error_kind ?? log.find((x) => x.error_kind)?.error_kind ?? null,
        });
      }
    }
    return outcome;
  };

  const t0 = performance.now();
  const outcomes: Outcome<I, O>[] = new Array(jobs.length);
  const bar = progress(opts.label ?? `evaluate ${predictor.name}`, jobs.length, { quiet: opts.quiet });
  let next = 0;
  let stopped = false;
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      for (;;) {
        if (stopped) return;
        if (opts.signal?.aborted) { stopped = true; throw abortError(); }
        const j = next++;
        if (j >= jobs.length) return;
        try {
          outcomes[j] = await runOne(jobs[j]);
        } catch (e) {
          stopped = true;
          throw e;
        }
        bar.tick(1, jobs[j].c.task);
      }
    }));
  } finally {
    bar.done();
    if (ownCache) cache.close();
  }
  return { outcomes, model, fingerprint, calls, cache_hits: hits, cache_misses: misses, wall_s: (performance.now() - t0) / 1000 };
}

/**
 * `--samples FILE.jsonl`: one line per case and repeat, appended (fsynced) as each finishes. It
 * resumes like the cache: a torn last line is cut off on open, and a key already in the file is
 * not written again, so a killed and rerun evaluation leaves exactly one line per case and repeat.
 */
export class SampleLog {
  private readonly keys = new Set<string>();
  private readonly log: JsonlAppendLog;
  /** Lines written by this process. */
  written = 0;
  constructor(path: string) {
    this.log = new JsonlAppendLog(path, (v, line, text) => {
      const key = (v as { key?: unknown } | null)?.key;
      if (typeof key !== 'string') throw new InputError(`${path}:${line}: a samples line needs a string "key", got ${text.slice(0, 80)}`);
      this.keys.add(key);
    });
  }
  get path(): string { return this.log.path; }
  get size(): number { return this.keys.size; }
  /** Torn tails cut off on open. */
  get repaired(): number { return this.log.repaired; }
  has(key: string): boolean { return this.keys.has(key); }
  write(key: string, line: Readonly<Record<string, unknown>>): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.log.append({ key, ...line });
    this.written++;
  }
  close(): void { this.log.close(); }
}
