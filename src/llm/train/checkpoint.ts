// Training checkpoints: the parameters, AdamW's moments and step count, and the step reached,
// in one file: "PRNLCKP1", a u32 JSON header length, the JSON header (config, step, tensor
// table), then the float32 values. Written atomically, so a run killed mid-write leaves the
// previous checkpoint. Resuming checks that the checkpoint's config and data equal the run's:
// batches are drawn from (seed, step), so a resumed run takes the same steps as an unbroken one.
import { readFileSync, statSync } from 'node:fs';
import { InputError, ParseError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/fsx.js';
import { assignValues, type Params } from '../../core/nn.js';
import type { tf } from '../../core/tensor.js';
import type { AdamW } from './optim.js';

const MAGIC = 'PRNLCKP1';

export interface CheckpointHeader {
  readonly config: unknown;
  /** SHA-256 of the training data file, so a checkpoint is not resumed on other data. */
  readonly dataSha256: string;
  readonly step: number;
  readonly adamT: number;
  readonly tensors: readonly { readonly name: string; readonly kind: 'param' | 'm' | 'v'; readonly shape: readonly number[] }[];
  readonly lossHistory: readonly number[];
}

export function saveCheckpoint(path: string, p: Params, opt: AdamW, h: Omit<CheckpointHeader, 'tensors' | 'adamT'>): void {
  const tensors: CheckpointHeader['tensors'][number][] = [];
  const chunks: Buffer[] = [];
  const add = (name: string, kind: 'param' | 'm' | 'v', v: tf.Variable): void => {
    tensors.push({ name, kind, shape: v.shape.slice() });
    const d = v.dataSync() as Float32Array;
    chunks.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  };
  for (const [name, v] of p) {
    add(name, 'param', v);
    const m = opt.m.get(v), s = opt.v.get(v);
    if (m && s) { add(name, 'm', m); add(name, 'v', s); }
  }
  const json = Buffer.from(JSON.stringify({ ...h, adamT: opt.t, tensors }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const pad = Buffer.alloc((4 - ((8 + 4 + json.length) % 4)) % 4, 0x20);
  writeFileAtomic(path, Buffer.concat([Buffer.from(MAGIC, 'latin1'), len, json, pad, ...chunks]));
}

/** Read a checkpoint into `p` and `opt` (shapes must match the run's). Returns its header. */
export function loadCheckpoint(path: string, p: Params, opt: AdamW, initMoment: (v: tf.Variable) => { m: tf.Variable; v: tf.Variable }): CheckpointHeader {
  const size = statSync(path).size;
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.subarray(0, 8).toString('latin1') !== MAGIC) throw new ParseError(path, 0, `a perennial training checkpoint (magic ${MAGIC})`, buf.subarray(0, 8).toString('latin1'), 0, 'magic');
  const n = buf.readUInt32LE(8);
  if (12 + n > size) throw new ParseError(path, 0, 'a header inside the file', `${n} bytes claimed`, 8, 'header length');
  let h: CheckpointHeader;
  try { h = JSON.parse(buf.subarray(12, 12 + n).toString('utf8')) as CheckpointHeader; } catch (e) { throw new ParseError(path, 0, 'a JSON checkpoint header', (e as Error).message, 12, 'header'); }
  if (!Array.isArray((h as Partial<CheckpointHeader> | null)?.tensors) || typeof h.step !== 'number') throw new ParseError(path, 0, 'a checkpoint header with step and tensors', JSON.stringify(Object.keys(h ?? {})), 12, 'header');
  let off = 12 + n;
  off += (4 - (off % 4)) % 4;
  for (const t of h.tensors) {
    const v = p.get(t.name);
    if (!v || v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i])) throw new InputError(`${path}: tensor ${t.name} [${t.shape.join(', ')}] does not fit this run's model`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (off + 4 * count > buf.length) throw new ParseError(path, 0, `${4 * count} bytes for ${t.name}`, `${buf.length - off} left`, off, t.name);
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * count));
    off += 4 * count;
    if (t.kind === 'param') assignValues(v, data);
    else assignValues(t.kind === 'm' ? initMoment(v).m : initMoment(v).v, data);
  }
  opt.t = h.adamT;
  return h;
}
