// Model specs on the command line and in configs: `gguf:PATH` (in-process llama.cpp),
// `openai:BASE_URL#MODEL` (any OpenAI-compatible server), `echo` / `echo:numbers` (test stubs).
import { InputError } from '../core/errors.js';
import { EchoProvider } from './testing.js';
import { LlamaCppProvider, type LlamaCppOptions } from './llamacpp.js';
import { OpenAICompatibleProvider, type OpenAICompatibleOptions } from './openai.js';
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
    case 'openai': return new OpenAICompatibleProvider({ ...settings.openai, baseURL: s.baseURL, model: s.model });
    case 'echo': return new EchoProvider(s.mode);
  }
}
