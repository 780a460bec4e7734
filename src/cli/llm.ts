// `perennial llm ...`: make-tiny, inspect, complete, serve, selfknow; and the llm demo section.
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { outputGuard, writeJsonAtomic } from '../core/fsx.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { writeReport } from '../core/report.js';
import {
  addProviderOptions, providerSettings, type ProviderFlags, parseModelSpec, readGgufHeader, serveProvider, checkSelfknowOptions, runSelfknowCommand, type SelfknowCommandOptions,
  writeFinetune, writeTinyGguf, selfKnowledgeDemo, modelProblems, samplingProblem, type LlmProvider, type JsonSchema,
} from '../llm/index.js';
import type { AreaCli, DemoContext, DemoResult } from './types.js';
import { registerTrain } from './llm-train.js';
import { parseFloatOption, parseIntOption } from './util.js';
import { readJsonFile } from '../core/json.js';

// One set of provider flags for every command that takes --model (shared with breakout).
const settings = providerSettings;
const providerOptions = (cmd: Command): Command => addProviderOptions(cmd, parseIntOption);

function parseThresholds(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z_]+)=([0-9.]+)$/.exec(part);
    if (!m) throw new InputError(`--thresholds expects task=theta[,task=theta], got ${JSON.stringify(part)}`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The model file of a `gguf:PATH` spec (an input every command that loads it must not overwrite). */
function ggufPath(spec: string): string | undefined {
  return spec.startsWith('gguf:') ? spec.slice(5) : undefined;
}

async function withProvider<T>(p: LlmProvider, fn: (p: LlmProvider) => Promise<T>): Promise<T> {
  try {
    return await fn(p);
  } finally {
    await p.close?.();
  }
}

function register(program: Command): void {
  const llm = program.command('llm').description('LLM providers, tiny GGUF models, a local OpenAI-compatible server, self-knowledge evaluation');

  registerTrain(llm);

  llm.command('make-tiny')
    .description('write a tiny llama-architecture GGUF (character bigram model built exactly, or random weights)')
    .requiredOption('--out <file>', 'output .gguf path')
    .option('--corpus <file>', 'UTF-8 text for the bigram counts (default: a built-in corpus)')
    .option('--kind <kind>', 'bigram | random', 'bigram')
    .option('--seed <n>', 'seed (random kind)', parseIntOption('seed'), 0)
    .option('--context-length <n>', 'context length in the metadata', parseIntOption('context-length'), 1024)
    .action((o: { out: string; corpus?: string; kind: string; seed: number; contextLength: number }) => {
      if (o.kind !== 'bigram' && o.kind !== 'random') throw new InputError(`--kind must be bigram or random, got ${o.kind}`);
      outputGuard().input(o.corpus, '--corpus').output(o.out, '--out').check();
      const corpus = o.corpus ? readFileSync(o.corpus, 'utf8') : undefined;
      const m = writeTinyGguf(o.out, { kind: o.kind, corpus, seed: o.seed, contextLength: o.contextLength });
      process.stdout.write(`wrote ${resolve(o.out)}: ${m.bytes.length} bytes, vocabulary ${m.vocab.tokens.length}, embedding ${m.embedding}, sha256 ${m.sha256}\n`);
    });

  llm.command('inspect')
    .description('read a GGUF header (metadata and tensor table; sizes are checked against the file)')
    .argument('<file>', '.gguf file')
    .option('--json <file>', 'write the summary as JSON')
    .action((file: string, o: { json?: string }) => {
      outputGuard().input(file, '<file>').output(o.json, '--json').check();
      const h = readGgufHeader(file);
      const meta: Record<string, unknown> = {};
      for (const [k, v] of h.metadata) meta[k] = Array.isArray(v) ? `[${v.length} items]` : typeof v === 'bigint' ? v.toString() : v;
      const summary = { version: h.version, file_size: h.fileSize, alignment: h.alignment, data_offset: h.dataOffset, metadata: meta, tensors: h.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, offset: t.offset })) };
      for (const [k, v] of Object.entries(meta)) process.stdout.write(`${k}: ${String(v)}\n`);
      for (const t of h.tensors) process.stdout.write(`tensor ${t.name} [${t.dims.join(', ')}] type ${t.type} @${t.offset}\n`);
      // A header can be well-formed and still carry values llama.cpp would abort on: say so, exit 2.
      const problems = modelProblems(h);
      for (const pr of problems) process.stderr.write(`perennial: ${file} (${pr.field}): expected ${pr.expected}, found ${pr.found}; the model would be refused\n`);
      if (problems.length) process.exitCode = 2;
      if (o.json) writeJsonAtomic(o.json, { ...summary, problems });
    });

  providerOptions(llm.command('complete')
    .description('one completion (prints the text; --json writes the full response)')
    .requiredOption('--model <spec>', 'gguf:PATH | openai:BASE_URL#MODEL')
    .requiredOption('--prompt <text>', 'user message')
    .option('--system <text>', 'system message')
    .option('--temperature <t>', 'temperature', parseFloatOption('temperature'), 0)
    .option('--top-p <p>', 'top-p', parseFloatOption('top-p'))
    .option('--seed <n>', 'seed', parseIntOption('seed'), 0)
    .option('--max-tokens <n>', 'max tokens', parseIntOption('max-tokens'), 128)
    .option('--stop <s...>', 'stop strings')
    .option('--schema <file>', 'JSON schema file: constrain the output')
    .option('--json <file>', 'write the response as JSON'))
    .action(async (o: ProviderFlags & { model: string; prompt: string; system?: string; temperature: number; topP?: number; seed: number; maxTokens: number; stop?: string[]; schema?: string; json?: string }) => {
      outputGuard().input(o.schema, '--schema').input(ggufPath(o.model), '--model').output(o.json, '--json').check();
      const bad = samplingProblem({ temperature: o.temperature, topP: o.topP, maxTokens: o.maxTokens });
      if (bad) throw new InputError(bad.replace(/^(max_tokens|top_p|temperature)/, (m) => `--${m.replace('_', '-')}`));
      let jsonSchema: JsonSchema | undefined;
      if (o.schema) {
        jsonSchema = readJsonFile(o.schema, 'a JSON schema') as JsonSchema;
      }
      await withProvider(parseModelSpec(o.model, settings(o)), async (p) => {
        const messages = [...(o.system ? [{ role: 'system' as const, content: o.system }] : []), { role: 'user' as const, content: o.prompt }];
        const r = await p.complete({ messages, temperature: o.temperature, topP: o.topP, seed: o.seed, maxTokens: o.maxTokens, stop: o.stop, jsonSchema });
        if (r.error) { process.stderr.write(`perennial: ${r.error.kind}: ${r.error.message}\n`); process.exitCode = 1; }
        else process.stdout.write(r.text + '\n');
        if (o.json) writeJsonAtomic(o.json, r);
      });
    });

  providerOptions(llm.command('serve')
    .description('serve a model over OpenAI-compatible /v1/models and /v1/chat/completions (127.0.0.1 by default)')
    .requiredOption('--model <spec>', 'gguf:PATH (or any model spec)')
    .option('--port <n>', 'port (0 = any free port)', parseIntOption('port'), 8080)
    .option('--host <h>', 'address to bind', '127.0.0.1')
    .option('--name <name>', 'model name reported by /v1/models (default: the GGUF file name)')
    .option('--api-key <key>', 'require Authorization: Bearer <key> (default: $PERENNIAL_SERVE_API_KEY if set, else none)')
    .option('--max-tokens-cap <n>', 'largest max_tokens a request may ask for (default 4096)', parseIntOption('max-tokens-cap'))
    .option('--request-timeout-ms <n>', 'wall-clock limit of one request, waiting included (default 120000; 504 past it)', parseIntOption('request-timeout-ms'))
    .option('--max-pending <n>', 'requests running or waiting at once (default 8; 429 beyond)', parseIntOption('max-pending')))
    .action(async (o: ProviderFlags & { model: string; port: number; host: string; name?: string; apiKey?: string; maxTokensCap?: number; requestTimeoutMs?: number; maxPending?: number }) => {
      if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new InputError(`--port must be in [0, 65535], got ${o.port}`);
      const provider = parseModelSpec(o.model, settings(o));
      // Report the file name, not the full path, unless a name is given.
      const modelName = o.name ?? (o.model.startsWith('gguf:') ? basename(o.model.slice(5)).replace(/\.gguf$/i, '') : o.model);
      let s: Awaited<ReturnType<typeof serveProvider>>;
      try {
        s = await serveProvider(provider, {
          port: o.port, host: o.host, modelName, apiKey: o.apiKey ?? process.env.PERENNIAL_SERVE_API_KEY, maxTokensCap: o.maxTokensCap, requestTimeoutMs: o.requestTimeoutMs, maxPending: o.maxPending,
          onRequest: (i) => process.stderr.write(`${i.method} ${i.path} ${i.status} ${i.ms.toFixed(0)} ms\n`),
        });
      } catch (e) {
        await provider.close?.();
        throw e;
      }
      process.stdout.write(`serving ${provider.id()} at ${s.url}\n`);
      await new Promise<void>((resolveP) => {
        const stop = (): void => { void s.close().then(() => provider.close?.()).then(() => resolveP()); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  providerOptions(llm.command('selfknow')
    .description('self-knowledge evaluation: the model creates content with a checkable property, then answers a question about it; several --model in one run are compared item by item')
    .option('--model <spec>', 'gguf:PATH | openai:BASE_URL#MODEL | echo:numbers (repeat for several models: one record holds each)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--tasks <ids>', 'all, none (task file only), or a comma list (word_count, arithmetic, theorem, sentence_count, char_count, json_structure, code_output, qa)', 'all')
    .option('--tasks-file <file>', 'YAML task file: prompts with {{variables}}, items, checkers exact | regex | numeric | json_schema | judge')
    .option('--judge <spec>', 'judge model for open answers (qa family, judge checkers), reported apart from mechanical checks')
    .option('--items <n>', 'items per task', parseIntOption('items'), 20)
    .option('--repeats <k>', 'runs per item', parseIntOption('repeats'), 3)
    .option('--pass-k <k>', 'k of pass^k (default: repeats)', parseIntOption('pass-k'))
    .option('--seed <n>', 'seed of parameters and sampling', parseIntOption('seed'), 0)
    .option('--temperature <t>', 'sampling temperature', parseFloatOption('temperature'), 0.7)
    .option('--top-p <p>', 'top-p', parseFloatOption('top-p'))
    .option('--context-mode <m>', 'fresh | withGeneration | withNoise', 'fresh')
    .option('--split <s>', 'parameter seed range: dev | test', 'test')
    .option('--same-seed-repeats', 'reuse one sampling seed for all repeats of an item')
    .option('--no-constrained', 'do not send JSON schemas (no grammar-constrained decoding)')
    .option('--thresholds <list>', 'per-task pass-rate thresholds, task=theta,...', parseThresholds)
    .option('--eval-concurrency <n>', 'evaluation calls in flight (raise for HTTP servers)', parseIntOption('eval-concurrency'), 1)
    .option('--cache <file>', 'response cache JSONL (default: <json>.cache.jsonl when --json is given)')
    .option('--no-cache', 'keep no cache file')
    .option('--samples <file>', 'JSONL log, one line per item and repeat (messages, raw answer, parsed fields, verdicts, latency, tokens, cache hit, error kind); resumable')
    .option('--export-finetune <file>', 'write self-consistent exchanges as chat JSONL (one model only)')
    .option('--export-require-checked', 'export only items a checker confirmed')
    .option('--json <file>', 'run record')
    .option('--html <file>', 'HTML report'))
    .action(async (o: ProviderFlags & {
      model: string[]; tasks: string; tasksFile?: string; judge?: string; items: number; repeats: number; passK?: number; seed: number; temperature: number; topP?: number; contextMode: string; split: string;
      sameSeedRepeats?: boolean; constrained: boolean; thresholds?: Record<string, number>; evalConcurrency: number; cache: string | boolean; samples?: string; exportFinetune?: string; exportRequireChecked?: boolean; json?: string; html?: string;
    }) => {
      const cachePath = typeof o.cache === 'string' ? o.cache : o.cache === false ? null : o.json ? `${o.json}.cache.jsonl` : null;
      const opts: SelfknowCommandOptions = {
        models: o.model, tasks: o.tasks, tasksFile: o.tasksFile, judge: o.judge, items: o.items, repeats: o.repeats, passK: o.passK, seed: o.seed,
        temperature: o.temperature, topP: o.topP, contextMode: o.contextMode, split: o.split, sameSeedRepeats: o.sameSeedRepeats, constrained: o.constrained,
        thresholds: o.thresholds, evalConcurrency: o.evalConcurrency, cachePath, samples: o.samples, exportFinetune: o.exportFinetune !== undefined, provider: settings(o),
      };
      checkSelfknowOptions(opts);
      const guard = outputGuard();
      for (const m of o.model) guard.input(ggufPath(m), '--model');
      guard.input(o.judge ? ggufPath(o.judge) : undefined, '--judge').input(o.tasksFile, '--tasks-file')
        .cache(cachePath, typeof o.cache === 'string' ? '--cache' : 'the cache beside --json').cache(o.samples, '--samples')
        .output(o.exportFinetune, '--export-finetune').output(o.json, '--json').output(o.html, '--html').check();
      const rec = new RunRecorder('llm selfknow', { ...o }, o.seed);
      const r = await runSelfknowCommand(opts, rec);
      for (const line of r.stdout) process.stdout.write(line);
      for (const line of r.stderr) process.stderr.write(`perennial: ${line}\n`);
      if (r.allFailed) process.exitCode = 1;
      if (o.exportFinetune && r.first) {
        const n = writeFinetune(o.exportFinetune, r.first, { requireChecked: o.exportRequireChecked });
        process.stdout.write(`finetune export: ${n} lines -> ${o.exportFinetune}\n`);
      }
      if (o.json) writeRecord(o.json, rec.finish(r.body));
      if (o.html) await writeReport(o.html, 'perennial llm selfknow', [...r.sections], `model${o.model.length > 1 ? 's' : ''} ${o.model.join(', ')}`);
    });
}

async function demo(ctx: DemoContext): Promise<DemoResult> {
  const d = await selfKnowledgeDemo(join(ctx.outDir, 'tiny-bigram.gguf'), ctx.seed, ctx.quick);
  writeJsonAtomic(join(ctx.outDir, 'selfknow.json'), d.record);
  return { sections: d.sections, metrics: d.metrics };
}

export const llmCli: AreaCli = { name: 'llm', register, demo };
