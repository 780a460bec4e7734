// `npm run bench -- llm [--quick]` (or `node --import tsx bench/llm.bench.ts --json F [--quick]`):
// throughput of the self-knowledge evaluation with the project's tiny bigram GGUF, in the same run:
//   perennial in-process: runSelfKnowledge (all task families, checkers, strict parsing, cache) on
//                         LlamaCppProvider with 1 thread;
//   peer (raw llama.cpp): the very same requests replayed straight through node-llama-cpp's
//                         LlamaCompletion (no harness), to show the harness overhead;
//   perennial over HTTP:  the same evaluation through `llm serve` on 127.0.0.1.
// Target (issue 8): >= 200 prompt-answer pairs per minute in-process on 2 cores. A self-knowledge
// run is two prompt-answer pairs (generation, verification); both counts are reported, and the
// conservative one (runs per minute) is compared with the target. The machine is shared, so
// timings are noisy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunRecorder, writeRecord } from '../src/core/record.js';
import {
  ALL_TASKS, LlamaCppProvider, OpenAICompatibleProvider, renderPlain, runSelfKnowledge, serveProvider, writeTinyGguf,
  type CompletionRequest, type CompletionResponse, type LlmProvider,
} from '../src/llm/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ji = args.indexOf('--json');
const json = ji >= 0 ? args[ji + 1] : undefined;
const items = quick ? 4 : 15;
const repeats = 2;
const TARGET = 200;

class Recording implements LlmProvider {
  readonly requests: CompletionRequest[] = [];
  constructor(private readonly inner: LlmProvider) {}
  id(): string { return this.inner.id(); }
  fingerprint(): Promise<string> { return this.inner.fingerprint ? this.inner.fingerprint() : Promise.resolve(this.inner.id()); }
  complete(r: CompletionRequest): Promise<CompletionResponse> { this.requests.push(r); return this.inner.complete(r); }
}

const dir = mkdtempSync(join(tmpdir(), 'perennial-bench-llm-'));
const rec = new RunRecorder('bench llm', { items, repeats, quick }, 0);
try {
  const modelPath = join(dir, 'tiny.gguf');
  writeTinyGguf(modelPath);
  const provider = new LlamaCppProvider({ modelPath, threads: 1 });
  const recording = new Recording(provider);
  // Warm-up (library and model load are not part of the throughput).
  await provider.complete({ messages: [{ role: 'user', content: 'warm up' }], maxTokens: 4 });
  const opts = { items, repeats, seed: 0, quiet: true };
  const inproc = await rec.time('in_process', () => runSelfKnowledge(ALL_TASKS, recording, opts));
  const runsPerMin = inproc.throughput.pairs_per_minute;
  const callsPerMin = (inproc.throughput.calls / inproc.throughput.wall_s) * 60;

  // Peer: the same requests straight through node-llama-cpp.
  const { getLlama, LlamaCompletion, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false });
  const model = await llama.loadModel({ modelPath });
  const ctx = await model.createContext({ contextSize: 1024, threads: 1 });
  const seq = ctx.getSequence();
  const grammars = new Map<string, Awaited<ReturnType<typeof llama.createGrammarForJsonSchema>>>();
  const t0 = performance.now();
  let agree = 0;
  for (let i = 0; i < recording.requests.length; i++) {
    const r = recording.requests[i]!;
    const key = JSON.stringify(r.jsonSchema ?? null);
    if (r.jsonSchema && !grammars.has(key)) grammars.set(key, await llama.createGrammarForJsonSchema(r.jsonSchema as never));
    await seq.clearHistory();
    const out = await new LlamaCompletion({ contextSequence: seq }).generateCompletion(renderPlain(r.messages), {
      maxTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, topK: r.topK, seed: r.seed ?? 0, grammar: r.jsonSchema ? grammars.get(key) : undefined,
    });
    void out;
    agree++;
  }
  const rawWall = (performance.now() - t0) / 1000;
  const rawCallsPerMin = (agree / rawWall) * 60;
  await ctx.dispose(); await model.dispose(); await llama.dispose();

  // Over HTTP through the project's server.
  const server = await serveProvider(provider, { modelName: 'tiny' });
  let httpRunsPerMin = 0;
  try {
    const http = new OpenAICompatibleProvider({ baseURL: server.url, model: 'tiny', concurrency: 2 });
    const viaHttp = await rec.time('http', () => runSelfKnowledge(ALL_TASKS, http, { ...opts, concurrency: 2 }));
    httpRunsPerMin = viaHttp.throughput.pairs_per_minute;
    if (JSON.stringify(viaHttp.tasks) !== JSON.stringify(inproc.tasks)) process.stderr.write('bench llm: warning: HTTP results differ from in-process\n');
  } finally {
    await server.close();
    await provider.close();
  }

  const metrics = {
    target_pairs_per_minute: TARGET,
    runs: inproc.throughput.pairs,
    calls: inproc.throughput.calls,
    in_process: { runs_per_minute: runsPerMin, calls_per_minute: callsPerMin, wall_s: inproc.throughput.wall_s },
    peer_raw_llama_cpp: { calls_per_minute: rawCallsPerMin, wall_s: rawWall },
    http: { runs_per_minute: httpRunsPerMin },
    ratios: {
      /** perennial calls/min over raw node-llama-cpp calls/min (<= 1; the harness overhead). */
      harness_vs_raw: callsPerMin / rawCallsPerMin,
      http_vs_in_process: httpRunsPerMin / runsPerMin,
      runs_per_minute_vs_target: runsPerMin / TARGET,
    },
    target_met: runsPerMin >= TARGET,
  };
  process.stdout.write(`in-process: ${runsPerMin.toFixed(0)} runs/min (${callsPerMin.toFixed(0)} prompt-answer pairs/min); raw llama.cpp ${rawCallsPerMin.toFixed(0)} calls/min; HTTP ${httpRunsPerMin.toFixed(0)} runs/min; target ${TARGET}: ${metrics.target_met ? 'met' : 'NOT met'}\n`);
  if (json) writeRecord(json, rec.finish(metrics));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
