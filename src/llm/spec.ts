// Model specs on the command line and in configs: `gguf:PATH` (in-process llama.cpp),
// `openai:BASE_URL#MODEL` (any OpenAI-compatible server; `openai:URL1,URL2,...#MODEL` spreads
// requests over replicas of one model, see replicas.ts), `echo` / `echo:numbers` (test stubs).
import { InputError } from '../core/errors.js';
import { EchoProvider } from './testing.js';
import { LlamaCppProvider, type LlamaCppOptions } from './llamacpp.js';
import { OpenAICompatibleProvider, type OpenAICompatibleOptions } from './openai.js';
import { replicatedProvider } from './replicas.js';
import type { LlmProvider } from './provider.js';

export const MODEL_SPEC_KINDS = ['gguf:PATH', 'openai:BASE_URL#MODEL', 'echo', 'echo:numbers'] as const;

export type ModelSpec =
  | { readonly kind: 'gguf'; readonly path: string }
  | { readonly kind: 'openai'; readonly baseURL: string; readonly model: string }
  | { readonly kind: 'echo'; readonly mode: 'text' | 'numbers' };

export interface ProviderSettings {
  readonly gguf?: Omit<LlamaCppOptions, 'modelPath'>;
  readonly openai?: Omit<OpenAICompatibleOptions, 'baseURL' | 'model'>;
}

/** Parse a spec string without touching the model (throws InputError listing the known forms). */
export function parseSpec(spec: string): ModelSpec {
  const known = `known forms: ${MODEL_SPEC_KINDS.join(', ')}`;
  if (spec.startsWith('gguf:')) {
    const path = spec.slice(5);
    if (!path) throw new InputError(`model spec ${JSON.stringify(spec)} has no path; ${known}`);
    return { kind: 'gguf', path };
  }
  if (spec.startsWith('openai:')) {
    const rest = spec.slice(7);
    const hash = rest.lastIndexOf('#');
    if (hash <= 0 || hash === rest.length - 1) throw new InputError(`model spec ${JSON.stringify(spec)} needs BASE_URL#MODEL; ${known}`);
    return { kind: 'openai', baseURL: rest.slice(0, hash), model: rest.slice(hash + 1) };
  }
  if (spec === 'echo' || spec === 'echo:text') return { kind: 'echo', mode: 'text' };
  if (spec === 'echo:numbers') return { kind: 'echo', mode: 'numbers' };
  throw new InputError(`unknown model spec ${JSON.stringify(spec)}; ${known}`);
}

/** Build the provider a spec names. Configuration faults (missing file, bad URL) throw here. */
export function parseModelSpec(spec: string, settings: ProviderSettings = {}): LlmProvider {
  const s = parseSpec(spec);
  switch (s.kind) {
    case 'gguf': return new LlamaCppProvider({ ...settings.gguf, modelPath: s.path });
    case 'openai': return s.baseURL.includes(',') ? replicatedProvider(s.baseURL.split(','), s.model, settings.openai) : new OpenAICompatibleProvider({ ...settings.openai, baseURL: s.baseURL, model: s.model });
    case 'echo': return new EchoProvider(s.mode);
  }
}

/** The provider flags every command that takes `--model` accepts (one set, one set of defaults). */
export interface ProviderFlags {
  threads?: number;
  contextSize?: number;
  chatTemplate?: 'auto' | 'plain' | 'model';
  concurrency?: number;
  timeoutMs?: number;
  retries?: number;
}

/** llama.cpp context size when the command line names none (capped by the model's trained context). */
export const DEFAULT_CONTEXT_SIZE = 8192;

/**
 * Add the shared provider flags to a commander command. Commander is only a type here, so the llm
 * library does not depend on it at run time.
 */
export function addProviderOptions<C extends { option(flags: string, description: string, parse?: (v: string, prev: unknown) => unknown): C }>(cmd: C, parseInt: (name: string) => (v: string) => number): C {
  return cmd
    .option('--threads <n>', 'llama.cpp threads (default 1 on <= 2 cores)', parseInt('threads'))
    .option('--context-size <n>', `llama.cpp context size in tokens (default ${DEFAULT_CONTEXT_SIZE}, capped by the model)`, parseInt('context-size'))
    .option('--chat-template <t>', 'auto | plain | model (how messages become a prompt for GGUF models)')
    .option('--concurrency <n>', 'HTTP requests in flight per model (openai models, default 4)', parseInt('concurrency'))
    .option('--timeout-ms <n>', 'HTTP timeout per attempt (default 60000)', parseInt('timeout-ms'))
    .option('--retries <n>', 'HTTP retries on 429/5xx/connection failures (default 3)', parseInt('retries'));
}

/** Provider settings from the shared flags (undefined members keep each provider's own default). */
export function providerSettings(o: ProviderFlags): ProviderSettings {
  if (o.chatTemplate !== undefined && !['auto', 'plain', 'model'].includes(o.chatTemplate)) throw new InputError(`--chat-template must be auto, plain or model, got ${JSON.stringify(o.chatTemplate)}`);
  const def = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
  return {
    gguf: { ...def('threads', o.threads), contextSize: o.contextSize ?? DEFAULT_CONTEXT_SIZE, ...def('chatTemplate', o.chatTemplate) },
    openai: { ...def('concurrency', o.concurrency), ...def('timeoutMs', o.timeoutMs), ...def('maxRetries', o.retries) },
  };
}
