// The provider contract: chat messages in, text out. Every model backend (in-process GGUF,
// OpenAI-compatible HTTP, scripted test providers) implements `LlmProvider`, and everything that
// uses a model (self-knowledge evaluation, breakout pipelines) sees only this interface.
// Configuration faults throw at construction; per-call faults come back as `error` data.

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** A JSON schema the answer must satisfy (constrained decoding where the backend supports it). */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface CompletionRequest {
  readonly messages: readonly ChatMessage[];
  readonly temperature?: number;
  readonly topP?: number;
  /** Keep only the k most likely tokens before sampling (backends without it ignore it). */
  readonly topK?: number;
  readonly maxTokens?: number;
  readonly seed?: number;
  readonly stop?: readonly string[];
  readonly jsonSchema?: JsonSchema;
}

/** `bad_request`: the request itself cannot be served (sampling values out of range, prompt or max_tokens over the context). */
export type ProviderErrorKind = 'timeout' | 'connection' | 'http' | 'rate_limit' | 'malformed' | 'aborted' | 'internal' | 'bad_request';

export interface ProviderError {
  readonly kind: ProviderErrorKind;
  readonly message: string;
  readonly status?: number;
}

export interface CompletionResponse {
  /** The generated text ('' when `error` is set). */
  readonly text: string;
  readonly error?: ProviderError;
  readonly usage?: { readonly promptTokens: number; readonly completionTokens: number };
  readonly latencyMs: number;
  readonly cached?: boolean;
  /** Number of attempts made (1 when no retry happened). */
  readonly attempts?: number;
}

export interface LlmProvider {
  /** Stable identity, part of every cache key, e.g. `gguf:/path/model.gguf` or `openai:http://host/v1#model`. */
  id(): string;
  complete(request: CompletionRequest, opts?: { signal?: AbortSignal }): Promise<CompletionResponse>;
  /**
   * What identifies the exact model behind `id()` (a GGUF's SHA-256, an API model name plus
   * fingerprint, template and thread settings), for cache keys. Defaults to `id()` when absent.
   */
  fingerprint?(): Promise<string>;
  /** Release models, sockets, workers. */
  close?(): Promise<void>;
}

/** Largest `maxTokens` any request may ask for, whatever the context (a guard, not a default). */
export const MAX_TOKENS_CAP = 1 << 20;

/**
 * What is wrong with the sampling values of a request, or null. Shared by the server (400), the CLI
 * (one-line error) and the in-process provider, so every path refuses the same values.
 * Ranges are OpenAI's: temperature in [0, 2], top_p in (0, 1]; max_tokens a positive integer
 * (0 means "no limit" to llama.cpp, which let one request generate forever).
 */
export function samplingProblem(req: Pick<CompletionRequest, 'temperature' | 'topP' | 'topK' | 'maxTokens' | 'seed'>): string | null {
  const { temperature: t, topP, topK, maxTokens: m, seed } = req;
  if (t !== undefined && !(Number.isFinite(t) && t >= 0 && t <= 2)) return `temperature must be in [0, 2], got ${t}`;
  if (topP !== undefined && !(Number.isFinite(topP) && topP > 0 && topP <= 1)) return `top_p must be in (0, 1], got ${topP}`;
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0 && topK <= MAX_TOKENS_CAP)) return `top_k must be an integer >= 0, got ${topK}`;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1 && m <= MAX_TOKENS_CAP)) return `max_tokens must be an integer in [1, ${MAX_TOKENS_CAP}], got ${m}`;
  if (seed !== undefined && !Number.isSafeInteger(seed)) return `seed must be an integer, got ${seed}`;
  return null;
}
