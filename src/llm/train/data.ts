// Training examples from chat JSONL (`{"messages": [...]}` per line, as `breakout export` and
// `llm selfknow --export-finetune` write). Each assistant turn becomes one sequence rendered
// exactly as the in-process provider asks the model: BOS, the plain-v1 rendering of the messages
// before it (which ends in "Assistant:"), then " " + the answer and EOS. The space matches how
// plain-v1 renders an earlier assistant turn ("Assistant: text"); EOS teaches the model to stop.
// The loss covers the answer and EOS only.
import { readFileSync, statSync } from 'node:fs';
import { InputError, ParseError, warn } from '../../core/errors.js';
import { renderPlain } from '../llamacpp.js';
import type { ChatMessage } from '../provider.js';
import { byteTokenizer, TOKEN_BOS, TOKEN_EOS } from './tokenizer.js';

/** A chat JSONL file larger than this is refused before reading. */
export const MAX_CHAT_JSONL_BYTES = 512 * 1024 * 1024;

export interface TrainExample {
  readonly ids: Int32Array;
  /** Index of the first target token (the answer's first token); the loss covers ids[lossFrom..]. */
  readonly lossFrom: number;
}

export interface ChatData {
  readonly examples: readonly TrainExample[];
  readonly conversations: number;
  /** Assistant turns dropped because the rendered sequence is longer than the context. */
  readonly tooLong: number;
  readonly targetTokens: number;
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** Parse chat JSONL text into conversations (every error names the file and line). */
export function parseChatJsonl(text: string, file: string): ChatMessage[][] {
  const out: ChatMessage[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let obj: unknown;
    try { obj = JSON.parse(line); } catch (e) { throw new ParseError(file, i + 1, 'a JSON object per line', (e as Error).message, -1, 'line'); }
    const msgs = (obj as { messages?: unknown } | null)?.messages;
    if (!Array.isArray(msgs) || msgs.length === 0) throw new ParseError(file, i + 1, 'a non-empty "messages" array', JSON.stringify(msgs ?? null)?.slice(0, 60) ?? 'nothing', -1, 'messages');
    const conv: ChatMessage[] = [];
    msgs.forEach((m: unknown, j: number) => {
      const r = m as { role?: unknown; content?: unknown } | null;
      if (!r || typeof r.role !== 'string' || !ROLES.has(r.role)) throw new ParseError(file, i + 1, 'role system, user or assistant', JSON.stringify(r?.role ?? null), -1, `messages[${j}].role`);
      if (typeof r.content !== 'string') throw new ParseError(file, i + 1, 'a string content', JSON.stringify(r.content ?? null)?.slice(0, 60) ?? 'nothing', -1, `messages[${j}].content`);
      conv.push({ role: r.role as ChatMessage['role'], content: r.content });
    });
    if (!conv.some((m) => m.role === 'assistant')) throw new ParseError(file, i + 1, 'at least one assistant message (the training target)', 'none', -1, 'messages');
    out.push(conv);
  }
  if (out.length === 0) throw new InputError(`${file}: no lines (expected chat JSONL, one {"messages": [...]} object per line)`);
  return out;
}

/** One sequence per assistant turn; sequences longer than `contextLength` are dropped and counted. */
export function chatExamples(conversations: readonly (readonly ChatMessage[])[], contextLength: number): ChatData {
  const tok = byteTokenizer();
  const examples: TrainExample[] = [];
  let tooLong = 0, targetTokens = 0;
  for (const conv of conversations) {
    for (let i = 0; i < conv.length; i++) {
      if (conv[i].role !== 'assistant') continue;
      const prompt = [TOKEN_BOS, ...tok.encode(renderPlain(conv.slice(0, i)))];
      const target = [...tok.encode(' ' + conv[i].content), TOKEN_EOS];
      if (prompt.length + target.length > contextLength) { tooLong++; continue; }
      examples.push({ ids: Int32Array.from([...prompt, ...target]), lossFrom: prompt.length });
      targetTokens += target.length;
    }
  }
  return { examples, conversations: conversations.length, tooLong, targetTokens };
}

/** Read a chat JSONL file and render its examples; warns about dropped turns, refuses a file with none left. */
export function readChatData(file: string, contextLength: number): ChatData {
  let size: number;
  try { size = statSync(file).size; } catch (e) { throw new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  if (size > MAX_CHAT_JSONL_BYTES) throw new InputError(`${file} is ${size} bytes; at most ${MAX_CHAT_JSONL_BYTES}`);
  const data = chatExamples(parseChatJsonl(readFileSync(file, 'utf8'), file), contextLength);
  if (data.examples.length === 0) throw new InputError(`${file}: every assistant turn (${data.tooLong}) renders longer than the context of ${contextLength} tokens; raise contextLength`);
  if (data.tooLong) warn('llm.train.too-long', `${file}: ${data.tooLong} of ${data.tooLong + data.examples.length} assistant turns render longer than the context of ${contextLength} tokens and are not used`);
  return data;
}
