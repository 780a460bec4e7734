// Test doubles and hand-made windows for the breakout tests.
import { parseFootprintText, labelFootprint, type FootprintWindow } from '../../src/breakout/index.js';
import type { CompletionRequest, CompletionResponse, LlmProvider, ProviderError } from '../../src/llm/index.js';

/** A window from tables given as [price, sell, buy] rows (any order; sorted high to low here), tick 0.25. */
export function win(tables: readonly (readonly (readonly [number, number, number])[])[], id = 'hand'): FootprintWindow {
  return {
    id, tick: 0.25,
    tables: tables.map((rows, index) => ({
      index,
      rows: [...rows].sort((a, b) => b[0] - a[0]).map(([p, sell, buy]) => ({ priceTicks: Math.round(p / 0.25), sell, buy })),
    })),
  };
}

/** Range bars shared by the hand-made windows: high 1001.25, low 1000.50. */
export const RANGE: readonly (readonly [number, number, number])[][] = [
  [[1001.0, 10, 12], [1000.75, 20, 18], [1000.5, 5, 6]],
  [[1001.25, 3, 4], [1001.0, 8, 9], [1000.75, 7, 7]],
  [[1000.75, 6, 5], [1000.5, 9, 9]],
];

type Answer = string | { readonly error: ProviderError };

/** A provider answering each request with `answer(req)`; counts calls. */
export class FakeProvider implements LlmProvider {
  calls = 0;
  constructor(private readonly name: string, private readonly answer: (req: CompletionRequest, call: number) => Answer) {}
  id(): string { return `fake:${this.name}`; }
  async complete(req: CompletionRequest): Promise<CompletionResponse> {
    const a = this.answer(req, this.calls++);
    return typeof a === 'string' ? { text: a, latencyMs: 0 } : { text: '', error: a.error, latencyMs: 0 };
  }
}

function userText(req: CompletionRequest): string {
  return req.messages[req.messages.length - 1]!.content;
}

/** The rule labeller behind a model interface: reads the tables (or facts) from the prompt. */
export function oracleAnswer(req: CompletionRequest, tweak: { flipDirection?: boolean } = {}): string {
  const u = userText(req);
  const answerSchema = (req.jsonSchema as { properties: { answer: { type?: string; enum?: string[] } } }).properties.answer;
  if (u.startsWith('Facts about')) {
    const dir = /breakout direction: (\w+)/.exec(u)![1]!, level = /range level: ([\d.]+)/.exec(u)![1]!, side = /stronger side beyond the level: (\w+)/.exec(u)![1]!;
    const verdict = (dir === 'upward') === (side === 'buyer');
    return JSON.stringify({ reason: `The break is ${dir} through the level ${level} and ${side}s are stronger.`, answer: verdict });
  }
  const tables = u.split('\n').filter((l) => l.startsWith('Table ')).join('\n');
  const step = Number(/price step is (\d+(?:\.\d+)?)/.exec(u)![1]);
  const w = parseFootprintText(tables, { tick: step });
  const l = labelFootprint(w);
  if (answerSchema.enum?.includes('upward')) {
    const d = tweak.flipDirection ? (l.direction === 'upward' ? 'downward' : 'upward') : l.direction;
    return JSON.stringify({ reason: l.stageReasons.direction, answer: d });
  }
  if (answerSchema.type === 'number') {
    // Answer for the direction the prompt states (gold-fed or chained).
    const dir = /direction is (\w+)/.exec(u)![1]!;
    const w2 = w.tables.slice(0, -1);
    const level = dir === 'upward' ? Math.max(...w2.map((t) => t.rows[0]!.priceTicks)) : Math.min(...w2.map((t) => t.rows[t.rows.length - 1]!.priceTicks));
    return JSON.stringify({ reason: 'the extreme of the range', answer: level * step });
  }
  if (answerSchema.enum?.includes('buyer')) return JSON.stringify({ reason: l.stageReasons.side, answer: l.strongerSide });
  return JSON.stringify({ reason: l.rationale, answer: l.verdict });
}
