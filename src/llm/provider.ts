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

export type ProviderErrorKind = 'timeout' | 'connection' | 'http' | 'rate_limit' | 'malformed' | 'aborted' | 'internal';

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
