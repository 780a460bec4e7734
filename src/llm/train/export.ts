// A trained model as a llama-architecture GGUF: the hyperparameters llama.cpp reads, the
// trainer's byte-level vocabulary, and every parameter as an f32 tensor under its own name.
// With tied embeddings the file has no output.weight, and llama.cpp uses token_embd.weight for
// the output layer (its documented fallback for a missing output tensor).
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError, ParseError } from '../../core/errors.js';
import type { Params } from '../../core/nn.js';
import { writeFileAtomic } from '../../core/fsx.js';
import { encodeGguf, kv, readGgufHeader, type GgufTensorIn, type GgufValue } from '../gguf.js';
import { parameterShapes, type LlamaShape } from './model.js';
import { llamaMetadata } from '../tiny.js';
import { byteTokenizer } from './tokenizer.js';

export interface GgufExport {
  readonly bytes: Buffer;
  readonly sha256: string;
}

export function trainedGgufMetadata(s: LlamaShape, name: string): Map<string, GgufValue> {
  const tok = byteTokenizer();
  return llamaMetadata({
    name, contextLength: s.contextLength, dim: s.dim, layers: s.layers, ffn: s.ffn, heads: s.heads, rmsEps: s.rmsEps, ropeDim: s.dim / s.heads, ropeBase: s.ropeBase, vocab: tok.vocab,
  });
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

/**
 * The shape and f32 weights of a GGUF this trainer wrote (or any llama GGUF with f32 tensors and
 * equal query and key-value heads), for fine-tuning from it. Every tensor is checked against the
 * shape its metadata implies; the data is read from the offsets the header gives.
 */
export function readTrainedGguf(path: string): { shape: LlamaShape; values: Map<string, Float32Array> } {
  const h = readGgufHeader(path);
  const num = (k: string): number => {
    const v = h.metadata.get(k);
    if (typeof v !== 'number') throw new ParseError(path, 0, `a number at ${k}`, v === undefined ? 'none' : String(v), h.metadataOffsets.get(k) ?? -1, k);
    return v;
  };
  if (h.metadata.get('general.architecture') !== 'llama') throw new InputError(`${path}: not a llama GGUF (general.architecture ${String(h.metadata.get('general.architecture'))})`);
  const tokens = h.metadata.get('tokenizer.ggml.tokens');
  const tok = byteTokenizer();
  if (!Array.isArray(tokens) || tokens.length !== tok.size || tokens.some((t, i) => t !== tok.vocab.tokens[i])) throw new InputError(`${path}: its vocabulary is not the trainer's byte-level one; only models written by llm train can be fine-tuned`);
  if (num('llama.attention.head_count_kv') !== num('llama.attention.head_count')) throw new InputError(`${path}: grouped-query attention is not supported by the trainer`);
  // Stored as f32: the shortest decimal that rounds to the same f32 is the value the config wrote.
  const f32 = (x: number): number => Number(x.toPrecision(7));
  const has = (n: string): boolean => h.tensors.some((t) => t.name === n);
  const shape: LlamaShape = {
    vocab: tok.size, dim: num('llama.embedding_length'), layers: num('llama.block_count'), heads: num('llama.attention.head_count'), ffn: num('llama.feed_forward_length'),
    contextLength: num('llama.context_length'), tiedEmbeddings: !has('output.weight'), ropeBase: f32(num('llama.rope.freq_base')), rmsEps: f32(num('llama.attention.layer_norm_rms_epsilon')),
  };
  const fd = openSync(path, 'r');
  try {
    const values = new Map<string, Float32Array>();
    for (const [name, sh] of parameterShapes(shape)) {
      const t = h.tensors.find((x) => x.name === name);
      const dims = [...sh].reverse();
      if (!t || t.type !== 0 || t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) throw new InputError(`${path}: tensor ${name} must be f32 with dims [${dims.join(', ')}]${t ? `, found type ${t.type} dims [${t.dims.join(', ')}]` : ', not found'}`);
      const n = dims.reduce((a, b) => a * b, 1);
      const start = h.dataOffset + t.offset;
      if (start + 4 * n > h.fileSize) throw new ParseError(path, 0, `${4 * n} bytes of ${name}`, `${h.fileSize - start} left`, start, name);
      const buf = Buffer.alloc(4 * n);
      readSync(fd, buf, 0, 4 * n, start);
      values.set(name, new Float32Array(buf.buffer, buf.byteOffset, n).slice());
    }
    return { shape, values };
  } finally {
    closeSync(fd);
  }
}
