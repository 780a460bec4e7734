// Tiny llama-architecture GGUF models built by the project (no download): a character bigram
// model expressed exactly as a one-block transformer, and a random-weight twin for load tests.
//
// Bigram construction: one-hot token embeddings (so the vocabulary must fit in the embedding
// width E); attention-output and FFN-down matrices are zero, so the block adds nothing and the
// final residual is the current token's one-hot vector e_i. The final RMS norm maps e_i to
// e_i / sqrt(1/E + eps); an output-norm weight of sqrt(1/E + eps) undoes that exactly. Column i of
// output row j holds log P(j | i), so the logits are the smoothed bigram log-probabilities.
import { createHash } from 'node:crypto';
import { InputError } from '../core/errors.js';
import { checkOptionKeys } from '../core/options.js';
import { Rng } from '../core/rng.js';
import { encodeGguf, kv, MAX_CONTEXT_LENGTH, type GgufTensorIn, type GgufValue } from './gguf.js';
import { writeFileAtomic } from '../core/fsx.js';

export const TOKEN_UNK = 0, TOKEN_BOS = 1, TOKEN_EOS = 2;
const SPACE = '\u2581';

/** A small built-in corpus: plain sentences, counting phrases and JSON answers. */
export const DEFAULT_CORPUS = [
  'The cat sat on the mat and the dog ran to the park.',
  'A small model writes short words and counts them one by one.',
  'There are three apples, two pears and one plum on the table.',
  '{"answer": 12}',
  '{"answer": 7}',
  '{"answer": 42}',
  '{"content": "the sun is warm", "answer": 4}',
  'Seven plus five is twelve. Two times three is six.',
  'We read the text again and check each word with care.',
  'print(3 + 4)',
  '[1, 2, 3, 4, 5]',
  'It is true that every even number is a sum of two odd numbers.',
].join('\n');

export interface TinyGgufOptions {
  /** 'bigram' (default): exact bigram logits; 'random': small random weights, for load tests only. */
  readonly kind?: 'bigram' | 'random';
  /** Training text for the bigram counts (default: DEFAULT_CORPUS). */
  readonly corpus?: string;
  readonly seed?: number;
  /** Additive smoothing of bigram counts (default 0.01). */
  readonly smoothing?: number;
  /** Context length written to the metadata (default 1024). */
  readonly contextLength?: number;
  readonly name?: string;
  /** A Jinja chat template to store as `tokenizer.chat_template` (default: none). */
  readonly chatTemplate?: string;
}

const KNOWN_OPTIONS = ['kind', 'corpus', 'seed', 'smoothing', 'contextLength', 'name', 'chatTemplate'];

export interface TinyVocab {
  readonly tokens: readonly string[];
  readonly types: readonly number[];
  /** character -> token id for the character tokens. */
  readonly charIds: ReadonlyMap<string, number>;
}

/** `<unk> <s> </s>`, 256 byte tokens, then printable ASCII plus every other corpus character. */
export function buildVocab(corpus: string): TinyVocab {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  const chars = new Set<string>();
  for (let c = 0x20; c < 0x7f; c++) chars.add(String.fromCharCode(c));
  for (const ch of corpus.normalize('NFC')) if (ch >= ' ' && ch !== '\u007f') chars.add(ch);
  const charIds = new Map<string, number>();
  for (const ch of [...chars].sort()) {
    charIds.set(ch, tokens.length);
    tokens.push(ch === ' ' ? SPACE : ch);
    types.push(1);
  }
  return { tokens, types, charIds };
}

/** Token ids of `text` the way the SentencePiece-style tokenizer splits it (characters, else UTF-8 bytes). */
export function tinyTokenize(vocab: TinyVocab, text: string): number[] {
  const out: number[] = [];
  for (const ch of text.normalize('NFC')) {
    const id = vocab.charIds.get(ch);
    if (id !== undefined) out.push(id);
    else for (const b of Buffer.from(ch, 'utf8')) out.push(3 + b);
  }
  return out;
}

export interface TinyModel {
  readonly bytes: Buffer;
  readonly vocab: TinyVocab;
  readonly embedding: number;
  /** Row-major V x V log P(next = j | current = i) (bigram kind only). */
  readonly logProbs: Float64Array | null;
  readonly sha256: string;
}

/** The llama hyperparameters and byte-level vocabulary a GGUF carries (the tiny models and trained ones alike). */
export interface LlamaMetadata {
  readonly name: string;
  readonly contextLength: number;
  readonly dim: number;
  readonly layers: number;
  readonly ffn: number;
  readonly heads: number;
  readonly rmsEps: number;
  readonly ropeDim: number;
  readonly ropeBase: number;
  readonly vocab: Pick<TinyVocab, 'tokens' | 'types'>;
}

export function llamaMetadata(m: LlamaMetadata): Map<string, GgufValue> {
  return new Map<string, GgufValue>([
    ['general.architecture', kv.str('llama')],
    ['general.name', kv.str(m.name)],
    ['general.file_type', kv.u32(0)],
    ['llama.context_length', kv.u32(m.contextLength)],
    ['llama.embedding_length', kv.u32(m.dim)],
    ['llama.block_count', kv.u32(m.layers)],
    ['llama.feed_forward_length', kv.u32(m.ffn)],
    ['llama.attention.head_count', kv.u32(m.heads)],
    ['llama.attention.head_count_kv', kv.u32(m.heads)],
    ['llama.attention.layer_norm_rms_epsilon', kv.f32(m.rmsEps)],
    ['llama.rope.dimension_count', kv.u32(m.ropeDim)],
    ['llama.rope.freq_base', kv.f32(m.ropeBase)],
    ['llama.vocab_size', kv.u32(m.vocab.tokens.length)],
    ['tokenizer.ggml.model', kv.str('llama')],
    ['tokenizer.ggml.tokens', kv.strs([...m.vocab.tokens])],
    ['tokenizer.ggml.scores', kv.f32s(m.vocab.tokens.map(() => 0))],
    ['tokenizer.ggml.token_type', kv.i32s([...m.vocab.types])],
    ['tokenizer.ggml.bos_token_id', kv.u32(TOKEN_BOS)],
    ['tokenizer.ggml.eos_token_id', kv.u32(TOKEN_EOS)],
    ['tokenizer.ggml.unknown_token_id', kv.u32(TOKEN_UNK)],
    ['tokenizer.ggml.add_bos_token', kv.bool(true)],
    ['tokenizer.ggml.add_eos_token', kv.bool(false)],
    ['tokenizer.ggml.add_space_prefix', kv.bool(false)],
  ]);
}

/** Build the model in memory. */
export function buildTinyGguf(opts: TinyGgufOptions = {}): TinyModel {
  checkOptionKeys(opts, KNOWN_OPTIONS, 'tiny-model');
  const kind = opts.kind ?? 'bigram';
  if (kind !== 'bigram' && kind !== 'random') throw new InputError(`tiny-model kind must be bigram or random, got ${String(kind)}`);
  const corpus = (opts.corpus ?? DEFAULT_CORPUS).normalize('NFC');
  if (corpus.trim().length === 0) throw new InputError('tiny-model corpus is empty');
  const smoothing = opts.smoothing ?? 0.01;
  if (!(smoothing > 0)) throw new InputError(`smoothing must be > 0, got ${smoothing}`);
  const contextLength = opts.contextLength ?? 1024;
  // Written as a u32 and read by llama.cpp as the trained context: capped like any file's claim.
  if (!Number.isInteger(contextLength) || contextLength < 16 || contextLength > MAX_CONTEXT_LENGTH) throw new InputError(`context length must be an integer in [16, ${MAX_CONTEXT_LENGTH}], got ${contextLength}`);
  const vocab = buildVocab(corpus);
  const V = vocab.tokens.length;
  const E = Math.ceil(V / 64) * 64;
  const heads = E / 64;
  const F = 64;
  const eps = 1e-5;
  const rng = new Rng(opts.seed ?? 0, 'tiny-gguf');

  const embd = new Float32Array(E * V);
  const outNorm = new Float32Array(E);
  const output = new Float32Array(E * V);
  let logProbs: Float64Array | null = null;
  const zeros = (n: number): Float32Array => new Float32Array(n);
  const rand = (n: number, s: number): Float32Array => rng.fillNormal(new Float32Array(n), s);

  if (kind === 'bigram') {
    for (let v = 0; v < V; v++) embd[v * E + v] = 1;
    outNorm.fill(Math.sqrt(1 / E + eps));
    const counts = new Float64Array(V * V);
    for (const line of corpus.split('\n')) {
      if (line.length === 0) continue;
      const ids = [TOKEN_BOS, ...tinyTokenize(vocab, line), TOKEN_EOS];
      for (let t = 0; t + 1 < ids.length; t++) counts[ids[t] * V + ids[t + 1]] += 1;
    }
    logProbs = new Float64Array(V * V);
    for (let i = 0; i < V; i++) {
      let total = 0;
      for (let j = 0; j < V; j++) if (j !== TOKEN_UNK && j !== TOKEN_BOS) total += counts[i * V + j] + smoothing;
      for (let j = 0; j < V; j++) {
        const lp = j === TOKEN_UNK || j === TOKEN_BOS ? -30 : Math.log((counts[i * V + j] + smoothing) / total);
        logProbs[i * V + j] = lp;
        output[j * E + i] = lp;
      }
    }
  } else {
    embd.set(rand(E * V, 0.02));
    outNorm.fill(1);
    output.set(rand(E * V, 0.02));
  }
  const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
  const mat = (n: number): Float32Array => (kind === 'bigram' ? zeros(n) : rand(n, 0.02));
  const tensors: GgufTensorIn[] = [
    { name: 'token_embd.weight', dims: [E, V], data: embd },
    { name: 'output_norm.weight', dims: [E], data: outNorm },
    { name: 'output.weight', dims: [E, V], data: output },
    { name: 'blk.0.attn_norm.weight', dims: [E], data: ones(E) },
    { name: 'blk.0.attn_q.weight', dims: [E, E], data: mat(E * E) },
    { name: 'blk.0.attn_k.weight', dims: [E, E], data: mat(E * E) },
    { name: 'blk.0.attn_v.weight', dims: [E, E], data: mat(E * E) },
    { name: 'blk.0.attn_output.weight', dims: [E, E], data: mat(E * E) },
    { name: 'blk.0.ffn_norm.weight', dims: [E], data: ones(E) },
    { name: 'blk.0.ffn_gate.weight', dims: [E, F], data: mat(E * F) },
    { name: 'blk.0.ffn_up.weight', dims: [E, F], data: mat(E * F) },
    { name: 'blk.0.ffn_down.weight', dims: [F, E], data: mat(F * E) },
  ];
  const meta = llamaMetadata({
    name: opts.name ?? `perennial-tiny-${kind}`, contextLength, dim: E, layers: 1, ffn: F, heads, rmsEps: eps, ropeDim: 64, ropeBase: 10000, vocab,
  });
  if (opts.chatTemplate !== undefined) meta.set('tokenizer.chat_template', kv.str(opts.chatTemplate));
  const bytes = encodeGguf(meta, tensors);
  return { bytes, vocab, embedding: E, logProbs, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Build and write a tiny model (atomically). Returns the model description. */
export function writeTinyGguf(path: string, opts: TinyGgufOptions = {}): TinyModel {
  const m = buildTinyGguf(opts);
  writeFileAtomic(path, m.bytes);
  return m;
}
