// In-process GGUF inference through node-llama-cpp (pinned 3.21.1, prebuilt linux-x64 binary).
// Never downloads or compiles (`build: 'never'`, `gpu: false`). `threads` is explicit: on a
// 2-core machine more than one thread was measured over 1000x slower, so the default is 1 there.
// Each request starts from a cleared context sequence, so an answer never depends on which
// requests came before it (and an in-process answer equals the same request served over HTTP).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import type { ChatWrapper, Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel } from 'node-llama-cpp';
import { InputError, ParseError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { checkModelHyperparameters, MAX_CONTEXT_LENGTH, readGgufHeader } from './gguf.js';
import { canonicalJson } from './cache.js';
import { samplingProblem, type ChatMessage, type CompletionRequest, type CompletionResponse, type LlmProvider } from './provider.js';

export interface LlamaCppOptions {
  readonly modelPath: string;
  /** CPU threads for llama.cpp (default: 1 on machines with <= 2 cores, else min(4, cores - 1)). */
  readonly threads?: number;
  /** Context window in tokens (default 1024, capped by the model's trained context). */
  readonly contextSize?: number;
  /**
   * How chat messages become a prompt: 'plain' is the project's fixed `Role: text` template
   * (id `plain-v1`); 'model' uses the GGUF's own chat template via node-llama-cpp; 'auto' picks
   * 'model' when the file carries `tokenizer.chat_template`, else 'plain'.
   */
  readonly chatTemplate?: 'auto' | 'plain' | 'model';
}

const KNOWN = ['modelPath', 'threads', 'contextSize', 'chatTemplate'];

export function defaultThreads(): number {
  const n = os.availableParallelism?.() ?? os.cpus().length;
  return n <= 2 ? 1 : Math.min(4, n - 1);
}

/** The project's plain chat template (`plain-v1`): one `Role: text` line per message, then `Assistant:`. */
export function renderPlain(messages: readonly ChatMessage[]): string {
  const name = { system: 'System', user: 'User', assistant: 'Assistant' } as const;
  return messages.map((m) => `${name[m.role]}: ${m.content}\n`).join('') + 'Assistant:';
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaContextSequence;
  template: 'plain' | 'model';
  /** Resolved once: building a template wrapper per call costs seconds. */
  chatWrapper: ChatWrapper | null;
}

export class LlamaCppProvider implements LlmProvider {
  readonly options: Readonly<Required<Omit<LlamaCppOptions, 'chatTemplate'>> & { chatTemplate: 'auto' | 'plain' | 'model' }>;
  private loading: Promise<Loaded> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private sha: Promise<string> | null = null;

  constructor(opts: LlamaCppOptions) {
    checkOptionKeys(opts, KNOWN, 'gguf provider');
    const modelPath = resolve(opts.modelPath);
    if (!existsSync(modelPath) || !statSync(modelPath).isFile()) throw new InputError(`GGUF model not found: ${opts.modelPath}`);
    const threads = opts.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1) throw new InputError(`threads must be a positive integer, got ${threads}`);
    const contextSize = opts.contextSize ?? 1024;
    if (!Number.isInteger(contextSize) || contextSize < 16 || contextSize > MAX_CONTEXT_LENGTH) throw new InputError(`contextSize must be an integer in [16, ${MAX_CONTEXT_LENGTH}], got ${contextSize}`);
    const chatTemplate = opts.chatTemplate ?? 'auto';
    if (!['auto', 'plain', 'model'].includes(chatTemplate)) throw new InputError(`chatTemplate must be auto, plain or model, got ${chatTemplate}`);
    // node-llama-cpp's own reader can hang on a corrupt file: check the header here first (ParseError).
    const header = readGgufHeader(modelPath);
    if (typeof header.metadata.get('general.architecture') !== 'string') throw new ParseError(modelPath, 0, 'general.architecture in the metadata', 'none', -1, 'general.architecture');
    // llama.cpp aborts the process (GGML_ASSERT) on some hyperparameters: refuse them here, by name.
    checkModelHyperparameters(header, modelPath);
    this.options = Object.freeze({ modelPath, threads, contextSize, chatTemplate });
  }

  id(): string {
    return `gguf:${this.options.modelPath}`;
  }

  async fingerprint(): Promise<string> {
    // Load first: a model that fails to load must not leave a file hash running behind the error.
    const l = await this.load();
    this.sha ??= sha256File(this.options.modelPath);
    return canonicalJson({ sha256: await this.sha, template: l.template === 'plain' ? 'plain-v1' : 'model', threads: this.options.threads, contextSize: l.context.contextSize });
  }

  private load(): Promise<Loaded> {
    this.loading ??= (async () => {
      const { getLlama, LlamaLogLevel, resolveChatWrapper } = await import('node-llama-cpp');
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false });
      try {
        let model: LlamaModel;
        try {
          model = await llama.loadModel({ modelPath: this.options.modelPath });
        } catch (e) {
          // node-llama-cpp says only "Failed to load model": name the file.
          throw new InputError(`cannot load GGUF model ${this.options.modelPath}: ${(e as Error).message}`);
        }
        const trained = model.trainContextSize;
        const context = await model.createContext({ contextSize: Math.min(this.options.contextSize, trained), threads: this.options.threads, sequences: 1 });
        const hasTemplate = typeof model.fileInfo.metadata?.tokenizer?.chat_template === 'string';
        const template = this.options.chatTemplate === 'auto' ? (hasTemplate ? 'model' : 'plain') : this.options.chatTemplate;
        const chatWrapper = template === 'model' ? resolveChatWrapper(model) : null;
        return { llama, model, context, sequence: context.getSequence(), template, chatWrapper };
      } catch (e) {
        await llama.dispose();
        throw e;
      }
    })();
    return this.loading;
  }

  private grammar(l: Loaded, schema: Readonly<Record<string, unknown>>): Promise<LlamaGrammar> {
    const key = canonicalJson(schema);
    let g = this.grammars.get(key);
    if (!g) {
      // The schema type of node-llama-cpp is narrower than a general JSON schema; unsupported
      // keywords are reported by it as an error, which comes back per call.
      g = l.llama.createGrammarForJsonSchema(schema as never) as Promise<LlamaGrammar>;
      this.grammars.set(key, g);
      g.catch(() => this.grammars.delete(key));
    }
    return g;
  }

  complete(request: CompletionRequest, opts: { signal?: AbortSignal } = {}): Promise<CompletionResponse> {
    // One context sequence: calls run one at a time, in arrival order.
    const run = this.queue.then(() => this.completeNow(request, opts.signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async completeNow(req: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse> {
    const t0 = performance.now();
    try {
      if (signal?.aborted) return { text: '', error: { kind: 'aborted', message: 'aborted before start' }, latencyMs: 0 };
      const bad = samplingProblem(req);
      if (bad) return { text: '', error: { kind: 'bad_request', message: bad }, latencyMs: 0, attempts: 1 };
      const l = await this.load();
      // The prompt is counted before anything runs: a prompt or max_tokens over the context is a
      // refusal naming both counts, never a silent truncation (context shift) or an endless run.
      const ctx = l.context.contextSize;
      const history = req.messages.map((m) => (m.role === 'assistant' ? { type: 'model' as const, response: [m.content] } : { type: m.role, text: m.content }));
      const prompt = l.template === 'plain' ? renderPlain(req.messages) : '';
      const promptTokens = l.template === 'plain' || !l.chatWrapper
        ? l.model.tokenize(l.template === 'plain' ? prompt : renderPlain(req.messages)).length + 1
        : l.chatWrapper.generateContextState({ chatHistory: [...history, { type: 'model', response: [] }] }).contextText.tokenize(l.model.tokenizer).length;
      const left = ctx - promptTokens;
      if (left < 1) return { text: '', error: { kind: 'bad_request', message: `prompt is ${promptTokens} tokens; the context holds ${ctx}` }, latencyMs: performance.now() - t0, attempts: 1 };
      if (req.maxTokens !== undefined && req.maxTokens > left) {
        return { text: '', error: { kind: 'bad_request', message: `max_tokens ${req.maxTokens} exceeds the ${left} tokens left in the context (${ctx}) after the ${promptTokens}-token prompt` }, latencyMs: performance.now() - t0, attempts: 1 };
      }
      await l.sequence.clearHistory();
      const grammar = req.jsonSchema ? await this.grammar(l, req.jsonSchema) : undefined;
      const common = {
        maxTokens: req.maxTokens ?? Math.min(256, left),
        temperature: req.temperature ?? 0,
        topP: req.topP,
        topK: req.topK,
        // llama.cpp draws a random seed when none is given; a fixed default keeps runs reproducible.
        seed: req.seed ?? 0,
        grammar,
        customStopTriggers: req.stop && req.stop.length ? [...req.stop] : undefined,
        signal,
      };
      let text: string;
      let usedPrompt = promptTokens;
      if (l.template === 'plain') {
        const { LlamaCompletion } = await import('node-llama-cpp');
        const comp = new LlamaCompletion({ contextSequence: l.sequence });
        const r = await comp.generateCompletionWithMeta(prompt, { ...common, disableContextShift: true });
        text = r.response;
      } else {
        const { LlamaChat } = await import('node-llama-cpp');
        const chat = new LlamaChat({ contextSequence: l.sequence, chatWrapper: l.chatWrapper ?? 'auto', autoDisposeSequence: false });
        const usedBefore = l.sequence.tokenMeter.usedInputTokens;
        try {
          history.push({ type: 'model', response: [] });
          const r = await chat.generateResponse(history, { ...common, customStopTriggers: common.customStopTriggers });
          text = r.response;
          usedPrompt = l.sequence.tokenMeter.usedInputTokens - usedBefore;
        } finally {
          chat.dispose({ disposeSequence: false });
        }
      }
      const completionTokens = l.model.tokenize(text).length;
      return { text, usage: { promptTokens: usedPrompt, completionTokens }, latencyMs: performance.now() - t0, attempts: 1 };
    } catch (e) {
      const aborted = signal?.aborted || (e as Error).name === 'AbortError';
      if (e instanceof InputError) return { text: '', error: { kind: 'internal', message: e.message }, latencyMs: performance.now() - t0, attempts: 1 };
      return { text: '', error: { kind: aborted ? 'aborted' : 'internal', message: (e as Error).message }, latencyMs: performance.now() - t0, attempts: 1 };
    }
  }

  async close(): Promise<void> {
    const p = this.loading;
    this.loading = null;
    this.grammars.clear();
    if (!p) return;
    let l: Loaded;
    try { l = await p; } catch { return; }
    try {
      await l.context.dispose();
      await l.model.dispose();
    } finally {
      await l.llama.dispose();
    }
  }
}
