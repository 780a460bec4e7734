// A trained model as a llama-architecture GGUF: the hyperparameters llama.cpp reads, the
// trainer's byte-level vocabulary, and every parameter as an f32 tensor under its own name.
// With tied embeddings the file has no output.weight, and llama.cpp uses token_embd.weight for
// the output layer (its documented fallback for a missing output tensor).
import { createHash } from 'node:crypto';
import type { Params } from '../../core/nn.js';
import { writeFileAtomic } from '../../core/fsx.js';
import { encodeGguf, kv, type GgufTensorIn, type GgufValue } from '../gguf.js';
import { parameterShapes, type LlamaShape } from './model.js';
import { byteTokenizer, TOKEN_BOS, TOKEN_EOS, TOKEN_UNK } from './tokenizer.js';

export interface GgufExport {
  readonly bytes: Buffer;
  readonly sha256: string;
}

export function trainedGgufMetadata(s: LlamaShape, name: string): Map<string, GgufValue> {
  const tok = byteTokenizer();
  return new Map<string, GgufValue>([
    ['general.architecture', kv.str('llama')],
    ['general.name', kv.str(name)],
    ['general.file_type', kv.u32(0)],
    ['llama.context_length', kv.u32(s.contextLength)],
    ['llama.embedding_length', kv.u32(s.dim)],
    ['llama.block_count', kv.u32(s.layers)],
    ['llama.feed_forward_length', kv.u32(s.ffn)],
    ['llama.attention.head_count', kv.u32(s.heads)],
    ['llama.attention.head_count_kv', kv.u32(s.heads)],
    ['llama.attention.layer_norm_rms_epsilon', kv.f32(s.rmsEps)],
    ['llama.rope.dimension_count', kv.u32(s.dim / s.heads)],
    ['llama.rope.freq_base', kv.f32(s.ropeBase)],
    ['llama.vocab_size', kv.u32(tok.size)],
    ['tokenizer.ggml.model', kv.str('llama')],
    ['tokenizer.ggml.tokens', kv.strs(tok.vocab.tokens)],
    ['tokenizer.ggml.scores', kv.f32s(tok.vocab.tokens.map(() => 0))],
    ['tokenizer.ggml.token_type', kv.i32s(tok.vocab.types)],
    ['tokenizer.ggml.bos_token_id', kv.u32(TOKEN_BOS)],
    ['tokenizer.ggml.eos_token_id', kv.u32(TOKEN_EOS)],
    ['tokenizer.ggml.unknown_token_id', kv.u32(TOKEN_UNK)],
    ['tokenizer.ggml.add_bos_token', kv.bool(true)],
    ['tokenizer.ggml.add_eos_token', kv.bool(false)],
    ['tokenizer.ggml.add_space_prefix', kv.bool(false)],
  ]);
}

/** Parameter values ([out, in] layout) as GGUF tensors (dims reversed: fastest-varying first). */
export function ggufTensors(s: LlamaShape, values: ReadonlyMap<string, Float32Array>): GgufTensorIn[] {
  return parameterShapes(s).map(([name, shape]) => {
    const data = values.get(name);
    if (!data) throw new Error(`no values for ${name}`);
    return { name, dims: [...shape].reverse(), data };
  });
}

export function encodeTrainedGguf(s: LlamaShape, values: ReadonlyMap<string, Float32Array>, name: string): GgufExport {
  const bytes = encodeGguf(trainedGgufMetadata(s, name), ggufTensors(s, values));
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function paramValues(p: Params): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of p) out.set(name, v.dataSync().slice() as Float32Array);
  return out;
}

export function writeTrainedGguf(path: string, s: LlamaShape, p: Params, name: string): GgufExport {
  const e = encodeTrainedGguf(s, paramValues(p), name);
  writeFileAtomic(path, e.bytes);
  return e;
}
