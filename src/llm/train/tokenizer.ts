// The trainer's tokenizer: byte-level, the same vocabulary layout as the tiny models
// (`<unk> <s> </s>`, the 256 byte tokens '<0xXX>', then printable ASCII with space written as
// U+2581). The GGUF carries it as a SentencePiece ('llama') vocabulary with no multi-character
// pieces, so llama.cpp's tokenizer has nothing to merge: every printable ASCII character is its
// own token and everything else falls back to its UTF-8 bytes, exactly as `encode` does here.
// No Unicode normalisation: llama.cpp applies none either.
import { buildVocab, TOKEN_BOS, TOKEN_EOS, TOKEN_UNK, type TinyVocab } from '../tiny.js';

export { TOKEN_BOS, TOKEN_EOS, TOKEN_UNK };

export interface ByteTokenizer {
  readonly vocab: TinyVocab;
  readonly size: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

let shared: ByteTokenizer | null = null;

export function byteTokenizer(): ByteTokenizer {
  if (shared) return shared;
  const vocab = buildVocab('');
  const byId: (string | null)[] = vocab.tokens.map(() => null);
  for (const [ch, id] of vocab.charIds) byId[id] = ch;
  shared = {
    vocab,
    size: vocab.tokens.length,
    encode(text: string): number[] {
      const out: number[] = [];
      for (const ch of text) {
        const id = vocab.charIds.get(ch);
        if (id !== undefined) out.push(id);
        else for (const b of Buffer.from(ch, 'utf8')) out.push(3 + b);
      }
      return out;
    },
    decode(ids: readonly number[]): string {
      const bytes: number[] = [];
      for (const id of ids) {
        if (id >= 3 && id < 259) bytes.push(id - 3);
        else if (byId[id] !== null && byId[id] !== undefined) for (const b of Buffer.from(byId[id]!, 'utf8')) bytes.push(b);
      }
      return Buffer.from(bytes).toString('utf8');
    },
  };
  return shared;
}
