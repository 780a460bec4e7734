// Providers for tests and baselines: no model, fully predictable.
import type { CompletionRequest, CompletionResponse, LlmProvider, ProviderError } from './provider.js';

function lastUser(req: CompletionRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) if (req.messages[i].role === 'user') return req.messages[i].content;
  return '';
}

/**
 * Echoes the last user message. With `mode: 'numbers'` it answers with the first integer found in
 * that message (`{"answer": N}`, or a schema-shaped object whose integer fields are N and whose
 * strings are "echo"): the leak-test stub, which must not reach full self-consistency.
 */
export class EchoProvider implements LlmProvider {
  calls = 0;
  constructor(private readonly mode: 'text' | 'numbers' = 'text') {}
  id(): string {
    return `echo:${this.mode}`;
  }
  async complete(req: CompletionRequest): Promise<CompletionResponse> {
    this.calls++;
    const u = lastUser(req);
    if (this.mode === 'text') return { text: u, latencyMs: 0, attempts: 1 };
    const m = /-?\d+/.exec(u);
    const n = m ? Number(m[0]) : 0;
    const schema = req.jsonSchema as { properties?: Record<string, { type?: string; enum?: unknown[] }> } | undefined;
    if (!schema?.properties) return { text: JSON.stringify({ answer: n }), latencyMs: 0, attempts: 1 };
    // A schema-valid object: integers echo the number, strings are a fixed word, enums their first value.
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(schema.properties)) {
      out[k] = s.enum ? s.enum[0] : s.type === 'integer' || s.type === 'number' ? n : s.type === 'boolean' ? false : 'echo';
    }
    return { text: JSON.stringify(out), latencyMs: 0, attempts: 1 };
  }
}

export type ScriptStep = string | { readonly error: ProviderError } | ((req: CompletionRequest, call: number) => string | { readonly error: ProviderError });

/**
 * Replies from a script: a list of steps used in order (cycling when `cycle` is set), or one
 * function of the request. Every request is kept in `requests` for assertions.
 */
export class ScriptedProvider implements LlmProvider {
  readonly requests: CompletionRequest[] = [];
  constructor(private readonly steps: readonly ScriptStep[] | ((req: CompletionRequest, call: number) => string | { readonly error: ProviderError }), private readonly opts: { id?: string; cycle?: boolean } = {}) {}
  id(): string {
    return this.opts.id ?? 'scripted';
  }
  async complete(req: CompletionRequest): Promise<CompletionResponse> {
    const call = this.requests.length;
    this.requests.push(req);
    let step: ScriptStep | undefined;
    if (typeof this.steps === 'function') step = this.steps;
    else step = this.opts.cycle ? this.steps[call % this.steps.length] : this.steps[call];
    if (step === undefined) return { text: '', error: { kind: 'internal', message: `script has no step ${call}` }, latencyMs: 0, attempts: 1 };
    const out = typeof step === 'function' ? step(req, call) : step;
    if (typeof out === 'string') return { text: out, latencyMs: 0, attempts: 1, usage: { promptTokens: 0, completionTokens: 0 } };
    return { text: '', error: out.error, latencyMs: 0, attempts: 1 };
  }
}
