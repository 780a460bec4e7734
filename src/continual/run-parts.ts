// One `cil run` may name methods of several scenario kinds: frozen-backbone learners on a
// miniature, Co2L/CILA on their own stream, ATLAS on its multimodal stand-in. Each kind is a part
// (prepared, then run by the trainer over its own stream); the parts of a run go into one record.
import { RunRecorder, type RunRecord } from '../core/record.js';
import type { Section } from '../core/report.js';

export type PartKind = 'frozen' | 'co2l' | 'atlas';

export interface RunPart<R extends object = object> {
  readonly kind: PartKind;
  /** The record's command when the part runs alone (`cil run`, `cil co2l`, `cil atlas`). */
  readonly command: string;
  readonly config: Record<string, unknown>;
  readonly seeds: readonly number[];
  /** What the part runs on (dataset, split or stream), for the mixed record and report. */
  readonly stream: string;
  run(): Promise<R>;
  /** Console lines of the result (each ending in a newline). */
  lines(result: R): string[];
  title: string;
  sections(result: R): Section[];
}

interface CilLike { runs?: readonly Record<string, unknown>[]; summary?: unknown }

/** What a run gives the CLI to write: the record, the console lines, the report. */
export interface RunOutputs {
  readonly record: RunRecord<object>;
  readonly lines: readonly string[];
  readonly title: string;
  readonly sections: readonly Section[];
}

/**
 * Run the parts into one record: a single part's record keeps that command's shape; several
 * give `parts` (each part's result without its runs, and its stream), `runs` (every
 * class-incremental entry, tagged with its part and stream) and `summary` (by method name).
 */
export async function runParts(parts: readonly RunPart[], resolvedConfig?: Record<string, unknown>): Promise<RunOutputs> {
  if (parts.length === 1) {
    const p = parts[0];
    const rec = new RunRecorder(p.command, p.config, [...p.seeds]);
    const result = await rec.time('run', () => p.run());
    return { record: rec.finish(result), lines: p.lines(result), title: p.title, sections: p.sections(result) };
  }
  const seeds = [...new Set(parts.flatMap((p) => p.seeds))].sort((a, b) => a - b);
  const rec = new RunRecorder('cil run', { parts: Object.fromEntries(parts.map((p) => [p.kind, { command: p.command, stream: p.stream, ...p.config }])), ...(resolvedConfig ? { resolved_config: resolvedConfig } : {}) }, seeds);
  const results: object[] = [];
  for (const p of parts) {
    process.stderr.write(`cil run: part ${p.kind} (${p.stream})\n`);
    results.push(await rec.time(p.kind, () => p.run()));
  }
  const runs: Record<string, unknown>[] = [];
  const summary: Record<string, unknown> = {};
  const methods: Record<string, string> = {};
  const partRecords: Record<string, unknown> = {};
  parts.forEach((p, i) => {
    const r = results[i] as CilLike & Record<string, unknown>;
    // Class-incremental parts (a summary by method, `cil run`'s entries) share `runs` and `summary`;
    // another shape (ATLAS: per order, task and variant) stays whole in its part.
    const cil = Array.isArray(r.runs) && r.summary !== null && typeof r.summary === 'object' && !Array.isArray(r.summary);
    const { runs: pr, ...rest } = r;
    partRecords[p.kind] = { stream: p.stream, seeds: [...p.seeds], ...(cil ? rest : r) };
    if (cil) {
      for (const e of pr!) {
        runs.push({ part: p.kind, stream: p.stream, ...e });
        methods[String(e.method)] = p.kind;
      }
      Object.assign(summary, r.summary);
    } else methods[p.kind] = p.kind;
  });
  return {
    record: rec.finish({ mixed: true, parts: partRecords, method_part: methods, runs, summary }),
    lines: parts.flatMap((p, i) => [`-- ${p.kind}: ${p.stream}\n`, ...p.lines(results[i])]),
    title: `perennial cil run: ${parts.map((p) => p.kind).join(' + ')}`,
    sections: parts.flatMap((p, i) => p.sections(results[i])),
  };
}
