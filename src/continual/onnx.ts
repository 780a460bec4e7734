// ONNX backbones through onnxruntime-node: load a model, find (or take) its feature output, and
// run batched feature extraction with threads set from the machine. Also a small ONNX writer
// (hand-encoded protobuf ModelProto) so tests and the demo export their own models: no downloads.
import { checkOptionKeys } from '../core/options.js';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InputError, warn } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsx.js';
import type { Rng } from '../core/rng.js';

// ---------------------------------------------------------------------------------------------
// Backbone contract shared with the safetensors ViT (features.ts uses only this).

export type Layout = 'nchw' | 'nhwc';

/** What a feature backbone takes: one image shape, fixed by the model. */
export interface BackboneInput {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly layout: Layout;
}

export interface FeatureBackbone {
  readonly kind: string;
  readonly input: BackboneInput;
  readonly featureDim: number;
  /** A model that only takes batches of this size (null/absent: any size). */
  readonly fixedBatch?: number | null;
  /** `x` holds n images in `input.layout`; returns n x featureDim row-major features. */
  run(x: Float32Array, n: number): Promise<Float32Array>;
  describe(): Record<string, unknown>;
  dispose(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// ONNX runtime backbone

export type ExecutionProvider = 'cpu' | 'webgpu' | 'auto';

export interface OnnxBackboneOptions {
  /** Feature output name; found from the model when omitted (see `pickFeatureOutput`). */
  readonly output?: string;
  /** Intra-op threads (default: the machine's available parallelism). */
  readonly threads?: number;
  /** 'cpu' (default); 'webgpu' fails with a clear message where absent; 'auto' tries webgpu, warns, uses cpu. */
  readonly executionProvider?: ExecutionProvider;
  /** Input size for models whose spatial dims are symbolic. */
  readonly imageSize?: number;
}

const ONNX_OPTION_KEYS = ['output', 'threads', 'executionProvider', 'imageSize'];

/** Machine threads for inference: available parallelism, at least 1. */
export function machineThreads(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/**
 * The feature output: `given` if the model has it; else the only output; else the one output
 * whose name says features (feat, embed, pool, hidden, repr, penultimate, cls). Otherwise an
 * error listing the outputs.
 */
export function pickFeatureOutput(file: string, outputs: readonly string[], given?: string): string {
  if (given !== undefined) {
    if (!outputs.includes(given)) throw new InputError(`${file}: the ONNX model has no output ${JSON.stringify(given)} (outputs: ${outputs.join(', ')})`);
    return given;
  }
  if (outputs.length === 1) return outputs[0];
  const named = outputs.filter((o) => /feat|embed|pool|hidden|repr|penultimate|cls/i.test(o));
  if (named.length === 1) return named[0];
  throw new InputError(`${file}: cannot tell which ONNX output holds the features (outputs: ${outputs.join(', ')}); pass --output NAME`);
}

export class OnnxBackbone implements FeatureBackbone {
  readonly kind = 'onnx';
  private constructor(
    readonly file: string,
    private readonly session: ort.InferenceSession,
    readonly inputName: string,
    readonly outputName: string,
    readonly input: BackboneInput,
    readonly featureDim: number,
    readonly threads: number,
    readonly executionProvider: 'cpu' | 'webgpu',
    /** 'flat': the output's rows as they are; 'token0': a [N, T, D] token output reduced to its first (CLS) token. */
    readonly reduce: 'flat' | 'token0',
    private readonly tokens: number,
    /** The model's fixed batch size (smaller batches are zero-padded), or null when symbolic. */
    readonly fixedBatch: number | null,
  ) {}
  private padded: Float32Array | null = null;

  static async load(path: string, opts: OnnxBackboneOptions = {}): Promise<OnnxBackbone> {
    checkOptionKeys(opts, ONNX_OPTION_KEYS, 'OnnxBackbone');
    let bytes: Uint8Array;
    try { bytes = readFileSync(path); } catch (e) { throw new InputError(`cannot read ONNX model ${path}: ${(e as Error).message}`); }
    const threads = opts.threads ?? machineThreads();
    if (!Number.isInteger(threads) || threads < 1) throw new InputError(`OnnxBackbone: threads must be a positive integer, got ${threads}`);
    const ep = opts.executionProvider ?? 'cpu';
    if (!['cpu', 'webgpu', 'auto'].includes(ep)) throw new InputError(`OnnxBackbone: executionProvider ${JSON.stringify(ep)} (known: cpu, webgpu, auto)`);
    const base: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    };
    let session: ort.InferenceSession | null = null;
    let used: 'cpu' | 'webgpu' = 'cpu';
    if (ep === 'webgpu' || ep === 'auto') {
      const offered = ort.listSupportedBackends().some((b) => b.name === 'webgpu');
      let why = offered ? '' : 'this onnxruntime-node build lists no webgpu backend';
      if (offered) {
        try {
          session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['webgpu'] });
          used = 'webgpu';
        } catch (e) { why = (e as Error).message.split('\n')[0]; }
      }
      if (!session) {
        const msg = `WebGPU execution provider is not available on ${process.platform}-${process.arch} (${why})`;
        if (ep === 'webgpu') throw new InputError(`${msg}; use --ep cpu`);
        warn('onnx-webgpu-absent', `${msg}; using the CPU provider`, { once: true });
      }
    }
    if (!session) {
      try { session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] }); }
      catch (e) { throw new InputError(`${path}: onnxruntime cannot load the model: ${(e as Error).message.split('\n')[0]}`); }
    }
    try {
      if (session.inputNames.length !== 1) throw new InputError(`${path}: expected a model with one image input, found inputs ${session.inputNames.join(', ')}`);
      const inputName = session.inputNames[0];
      const outputName = pickFeatureOutput(path, session.outputNames, opts.output);
      const input = inputShapeOf(path, session.inputMetadata[0], opts.imageSize);
      const out = session.outputMetadata.find((m) => m.name === outputName)!;
      // The output's shape per image, from one blank image (metadata dims may be symbolic).
      const meta0 = session.inputMetadata[0];
      const b0 = meta0.isTensor ? meta0.shape[0] : undefined;
      const fixedBatch = typeof b0 === 'number' && b0 > 0 ? b0 : null;
      const probe = new ort.Tensor('float32', new Float32Array((fixedBatch ?? 1) * input.channels * input.height * input.width), shapeFor(input, fixedBatch ?? 1));
      const pr = await session.run({ [inputName]: probe }, [outputName]);
      const dims = pr[outputName].dims.slice(1);
      if (pr[outputName].type !== 'float32') throw new InputError(`${path}: output ${outputName} is ${pr[outputName].type}, expected float32`);
      pr[outputName].dispose(); probe.dispose();
      // A token sequence [N, T, D] (a ViT's last hidden state): the features are the first (CLS) token.
      const token = dims.length === 2;
      if (dims.length > 2) throw new InputError(`${path}: output ${outputName} has per-image shape [${dims.join(', ')}]; expected [D] features or [T, D] tokens (pass --output for a pooled output)`);
      const featureDim = token ? dims[1] : dims.reduce((a, b) => a * b, 1);
      if (token && !(out.isTensor && out.shape.length === 3)) throw new InputError(`${path}: output ${outputName} metadata disagrees with its [N, ${dims.join(', ')}] result`);
      return new OnnxBackbone(path, session, inputName, outputName, input, featureDim, threads, used, token ? 'token0' : 'flat', token ? dims[0] : 1, fixedBatch);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  async run(x: Float32Array, n: number): Promise<Float32Array> {
    const per = this.input.channels * this.input.height * this.input.width;
    if (x.length < n * per) throw new InputError(`OnnxBackbone.run: ${x.length} values is less than ${n} images of ${per}`);
    const fb = this.fixedBatch;
    if (fb !== null && n > fb) throw new InputError(`${this.file}: the model takes batches of exactly ${fb}; got ${n} images (use --batch-size ${fb})`);
    let view: Float32Array, m = n;
    if (fb !== null && n < fb) {
      // A fixed-batch model: pad the last, short batch with zeros (the padded rows are dropped).
      this.padded ??= new Float32Array(fb * per);
      this.padded.set(x.subarray(0, n * per));
      this.padded.fill(0, n * per);
      view = this.padded; m = fb;
    } else {
      // A view, not a copy: the caller's batch buffer goes straight to onnxruntime.
      view = x.length === n * per ? x : x.subarray(0, n * per);
    }
    const feed = new ort.Tensor('float32', view, shapeFor(this.input, m));
    const r = await this.session.run({ [this.inputName]: feed }, [this.outputName]);
    const t = r[this.outputName];
    const data = t.data;
    if (!(data instanceof Float32Array)) throw new InputError(`${this.file}: output ${this.outputName} is ${t.type}, expected float32`);
    if (data.length !== m * this.tokens * this.featureDim) throw new InputError(`${this.file}: output ${this.outputName} has shape [${t.dims.join(', ')}], expected ${m} rows of ${this.tokens * this.featureDim}`);
    if (this.reduce === 'flat') return m === n ? data : data.subarray(0, n * this.featureDim);
    const d = this.featureDim, step = this.tokens * d;
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) out.set(data.subarray(i * step, i * step + d), i * d);
    return out;
  }

  describe(): Record<string, unknown> {
    return { kind: this.kind, file: this.file, input: this.inputName, output: this.outputName, shape: this.input, featureDim: this.featureDim, reduce: this.reduce, fixedBatch: this.fixedBatch, threads: this.threads, executionProvider: this.executionProvider };
  }

  async dispose(): Promise<void> { await this.session.release(); }
}

function shapeFor(input: BackboneInput, n: number): number[] {
  return input.layout === 'nchw' ? [n, input.channels, input.height, input.width] : [n, input.height, input.width, input.channels];
}

/**
 * [N, C, H, W] (C in 1..4 and H, W larger) or [N, H, W, C]; symbolic H, W take `imageSize`.
 * Channel counts other than 1 and 3 are refused: images decode to gray or RGB only.
 */
export function inputShapeOf(file: string, meta: ort.InferenceSession.ValueMetadata, imageSize?: number): BackboneInput {
  if (!meta.isTensor || meta.shape.length !== 4) {
    throw new InputError(`${file}: input ${meta.name} must be a 4-D image tensor, found ${meta.isTensor ? `shape [${meta.shape.join(', ')}]` : 'a non-tensor'}`);
  }
  if (meta.type !== 'float32') throw new InputError(`${file}: input ${meta.name} must be float32, found ${meta.type}`);
  const dim = (v: number | string): number | null => (typeof v === 'number' && v > 0 ? v : null);
  const [, a, b, c] = meta.shape.map(dim) as (number | null)[];
  let layout: Layout, channels: number | null, h: number | null, w: number | null;
  // ONNX's usual layout first: a small second dim is the channel axis.
  if (a !== null && a <= 4) { layout = 'nchw'; channels = a; h = b ?? null; w = c ?? null; }
  else if (c !== null && c <= 4) { layout = 'nhwc'; channels = c; h = a; w = b; }
  else throw new InputError(`${file}: cannot find the channel axis of input ${meta.name} [${meta.shape.join(', ')}]`);
  if (channels !== 1 && channels !== 3) throw new InputError(`${file}: input ${meta.name} declares ${channels} channels; images decode to 1 (gray) or 3 (RGB)`);
  h = h ?? imageSize ?? null; w = w ?? imageSize ?? null;
  if (h === null || w === null) throw new InputError(`${file}: input ${meta.name} has symbolic size [${meta.shape.join(', ')}]; pass --image-size`);
  return { channels, height: h, width: w, layout };
}

// ---------------------------------------------------------------------------------------------
// A minimal ONNX writer: protobuf wire format by hand (varint, length-delimited, fixed32).

class Pb {
  private chunks: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) { this.chunks.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    this.chunks.push(Number(x));
    return this;
  }
  tag(field: number, wire: number): this { return this.varint((field << 3) | wire); }
  int(field: number, v: number): this { return this.tag(field, 0).varint(v); }
  bytes(field: number, b: Uint8Array): this { this.tag(field, 2).varint(b.length); for (const x of b) this.chunks.push(x); return this; }
  str(field: number, s: string): this { return this.bytes(field, Buffer.from(s, 'utf8')); }
  msg(field: number, m: Pb): this { return this.bytes(field, m.done()); }
  float(field: number, v: number): this {
    const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5); for (const x of b) this.chunks.push(x); return this;
  }
  done(): Uint8Array { return Uint8Array.from(this.chunks); }
}

export type OnnxAttr = number | readonly number[] | string | { readonly float: number };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, OnnxAttr>>;
}

/** float32 or int64 (shapes for Reshape) constant tensors. */
export interface OnnxInitializer { readonly name: string; readonly dims: readonly number[]; readonly data: Float32Array | BigInt64Array }
/** A graph input or output: float32 tensor; a string dim is symbolic ("N"). */
export interface OnnxValue { readonly name: string; readonly shape: readonly (number | string)[] }

export interface OnnxGraph {
  readonly name: string;
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxInitializer[];
  /** Default opset 13. */
  readonly opset?: number;
}

function valueInfo(v: OnnxValue): Pb {
  const shape = new Pb();
  for (const d of v.shape) shape.msg(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().str(2, d));
  const tensorType = new Pb().int(1, 1 /* FLOAT */).msg(2, shape);
  return new Pb().str(1, v.name).msg(2, new Pb().msg(1, tensorType));
}

function attribute(name: string, v: OnnxAttr): Pb {
  const a = new Pb().str(1, name);
  if (typeof v === 'number') { if (!Number.isInteger(v)) throw new InputError(`ONNX attribute ${name}: use {float: v} for non-integers`); return a.int(3, v).int(20, 2); }
  if (typeof v === 'string') return a.str(4, v).int(20, 3);
  if ('float' in v) return a.float(2, v.float).int(20, 1);
  for (const x of v) a.int(8, x);
  return a.int(20, 7);
}

/** Serialise a graph as an ONNX ModelProto (IR version 8). */
export function encodeOnnx(g: OnnxGraph): Uint8Array {
  const graph = new Pb();
  g.nodes.forEach((n, i) => {
    const node = new Pb();
    for (const x of n.inputs) node.str(1, x);
    for (const x of n.outputs) node.str(2, x);
    node.str(3, `${n.op.toLowerCase()}_${i}`).str(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.msg(5, attribute(k, v));
    graph.msg(1, node);
  });
  graph.str(2, g.name);
  for (const t of g.initializers) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new InputError(`ONNX initializer ${t.name}: dims [${t.dims.join(', ')}] hold ${count} values, data has ${t.data.length}`);
    const tp = new Pb();
    for (const d of t.dims) tp.int(1, d);
    tp.int(2, t.data instanceof BigInt64Array ? 7 /* INT64 */ : 1 /* FLOAT */).str(8, t.name).bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    graph.msg(5, tp);
  }
  for (const v of g.inputs) graph.msg(11, valueInfo(v));
  for (const v of g.outputs) graph.msg(12, valueInfo(v));
  return new Pb().int(1, 8).str(2, 'perennial').str(3, '0.1.0').msg(7, graph).msg(8, new Pb().str(1, '').int(2, g.opset ?? 13)).done();
}

// ---------------------------------------------------------------------------------------------
// A tiny CNN exported by the project (tests, demo, bench).

export interface TinyCnnOptions {
  readonly channels?: number;
  readonly size?: number;
  /** Conv widths; each conv is 3x3, stride 2, pad 1, then ReLU (default [8, 16]). */
  readonly widths?: readonly number[];
  /** Feature size after the global average pool and a Gemm + ReLU (default 32). */
  readonly featureDim?: number;
  /** When set, a second output "logits" (Gemm over the features), so output choice matters. */
  readonly classes?: number;
  /** Fixed batch size instead of the symbolic "N". */
  readonly batch?: number;
  /**
   * 'global' (default): global average pool before the Gemm. 'grid': average pool 3x3 stride 2
   * (floor), flattened, so the features keep coarse spatial layout.
   */
  readonly pool?: 'global' | 'grid';
}

export interface TinyCnnWeights {
  readonly convs: readonly { readonly w: Float32Array; readonly b: Float32Array; readonly out: number; readonly in: number }[];
  /** featureDim x lastWidth (ONNX Gemm with transB = 1). */
  readonly fcW: Float32Array;
  readonly fcB: Float32Array;
  readonly headW?: Float32Array;
  readonly headB?: Float32Array;
}

const CNN_KEYS = ['channels', 'size', 'widths', 'featureDim', 'classes', 'batch', 'pool'];

/** A seeded tiny CNN: conv3x3/s2 + ReLU stack, global average pool, Gemm + ReLU -> "features". */
export function tinyCnnOnnx(opts: TinyCnnOptions, rng: Rng): { bytes: Uint8Array; weights: TinyCnnWeights; graph: OnnxGraph } {
  checkOptionKeys(opts, CNN_KEYS, 'tinyCnnOnnx');
  const C = opts.channels ?? 1, S = opts.size ?? 28, widths = opts.widths ?? [8, 16], F = opts.featureDim ?? 32;
  const batch: number | string = opts.batch ?? 'N';
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const convs: { w: Float32Array; b: Float32Array; out: number; in: number }[] = [];
  let prev = 'image', inC = C;
  widths.forEach((out, i) => {
    const w = rng.fillNormal(new Float32Array(out * inC * 9), Math.sqrt(2 / (inC * 9)));
    const b = rng.fillNormal(new Float32Array(out), 0.05);
    convs.push({ w, b, out, in: inC });
    inits.push({ name: `conv${i}.weight`, dims: [out, inC, 3, 3], data: w }, { name: `conv${i}.bias`, dims: [out], data: b });
    nodes.push({ op: 'Conv', inputs: [prev, `conv${i}.weight`, `conv${i}.bias`], outputs: [`c${i}`], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } });
    nodes.push({ op: 'Relu', inputs: [`c${i}`], outputs: [`r${i}`] });
    prev = `r${i}`; inC = out;
  });
  let flatDim = inC;
  if ((opts.pool ?? 'global') === 'global') nodes.push({ op: 'GlobalAveragePool', inputs: [prev], outputs: ['gap'] });
  else if (opts.pool === 'grid') {
    let s = S;
    for (let i = 0; i < widths.length; i++) s = Math.floor((s - 1) / 2) + 1;
    const g = Math.floor((s - 3) / 2) + 1;
    if (g < 1) throw new InputError(`tinyCnnOnnx: ${S}x${S} input is too small for grid pooling after ${widths.length} stride-2 convs`);
    nodes.push({ op: 'AveragePool', inputs: [prev], outputs: ['gap'], attrs: { kernel_shape: [3, 3], strides: [2, 2] } });
    flatDim = inC * g * g;
  } else throw new InputError(`tinyCnnOnnx: pool ${JSON.stringify(opts.pool)} (known: global, grid)`);
  nodes.push({ op: 'Flatten', inputs: ['gap'], outputs: ['flat'], attrs: { axis: 1 } });
  const fcW = rng.fillNormal(new Float32Array(F * flatDim), Math.sqrt(2 / flatDim));
  const fcB = rng.fillNormal(new Float32Array(F), 0.05);
  inits.push({ name: 'fc.weight', dims: [F, flatDim], data: fcW }, { name: 'fc.bias', dims: [F], data: fcB });
  nodes.push({ op: 'Gemm', inputs: ['flat', 'fc.weight', 'fc.bias'], outputs: ['fc'], attrs: { transB: 1 } });
  nodes.push({ op: 'Relu', inputs: ['fc'], outputs: ['features'] });
  const outputs: OnnxValue[] = [{ name: 'features', shape: [batch, F] }];
  let headW: Float32Array | undefined, headB: Float32Array | undefined;
  if (opts.classes) {
    headW = rng.fillNormal(new Float32Array(opts.classes * F), 1 / Math.sqrt(F));
    headB = new Float32Array(opts.classes);
    inits.push({ name: 'head.weight', dims: [opts.classes, F], data: headW }, { name: 'head.bias', dims: [opts.classes], data: headB });
    nodes.push({ op: 'Gemm', inputs: ['features', 'head.weight', 'head.bias'], outputs: ['logits'], attrs: { transB: 1 } });
    outputs.push({ name: 'logits', shape: [batch, opts.classes] });
  }
  const graph: OnnxGraph = { name: 'tiny_cnn', inputs: [{ name: 'image', shape: [batch, C, S, S] }], outputs, nodes, initializers: inits };
  return { bytes: encodeOnnx(graph), weights: { convs, fcW, fcB, headW, headB }, graph };
}

export function writeOnnx(path: string, bytes: Uint8Array): void {
  writeFileAtomic(path, bytes);
}

// ---------------------------------------------------------------------------------------------
// Export of the continual core's SmallCnn (eval mode) to ONNX: batch norm folded into the convs.

/** What the exporter reads from a SmallCnn: its config and tfjs-layout parameters. */
export interface SmallCnnLike {
  readonly config: { readonly imageSize: number; readonly inChannels: number; readonly channels: readonly number[]; readonly strides: readonly number[] };
  readonly params: ReadonlyMap<string, { readonly shape: readonly number[]; dataSync(): ArrayLike<number> }>;
}

/**
 * The SmallCnn's frozen forward (conv3x3 pad 1 -> batch norm with running statistics -> ReLU per
 * block, global average pool) as an ONNX graph taking NCHW images [N, C, S, S] and giving
 * "features" [N, featureDim]. Kernels go from tfjs [3, 3, Cin, Cout] to ONNX [Cout, Cin, 3, 3];
 * batch norm is folded: W' = W g / sqrt(var + eps), b' = beta - mean g / sqrt(var + eps).
 */
export function smallCnnToOnnx(cnn: SmallCnnLike, bnEps = 1e-5): Uint8Array {
  const { imageSize: S, inChannels: C, channels, strides } = cnn.config;
  const get = (k: string): Float32Array => {
    const v = cnn.params.get(k);
    if (!v) throw new InputError(`smallCnnToOnnx: the CNN has no parameter ${k}`);
    return Float32Array.from(v.dataSync());
  };
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  let prev = 'image', cin = C;
  channels.forEach((cout, i) => {
    const n = `blocks.${i}`;
    const w = get(`${n}.conv.weight`), g = get(`${n}.bn.weight`), beta = get(`${n}.bn.bias`), mu = get(`${n}.bn.running_mean`), vr = get(`${n}.bn.running_var`);
    if (w.length !== 9 * cin * cout) throw new InputError(`smallCnnToOnnx: ${n}.conv.weight has ${w.length} values, expected 3x3x${cin}x${cout}`);
    const wo = new Float32Array(cout * cin * 9), bo = new Float32Array(cout);
    for (let co = 0; co < cout; co++) {
      const s = g[co] / Math.sqrt(vr[co] + bnEps);
      bo[co] = beta[co] - mu[co] * s;
      for (let ci = 0; ci < cin; ci++) for (let k = 0; k < 9; k++) wo[(co * cin + ci) * 9 + k] = w[(k * cin + ci) * cout + co] * s;
    }
    inits.push({ name: `${n}.conv.weight`, dims: [cout, cin, 3, 3], data: wo }, { name: `${n}.conv.bias`, dims: [cout], data: bo });
    const st = strides[i];
    nodes.push({ op: 'Conv', inputs: [prev, `${n}.conv.weight`, `${n}.conv.bias`], outputs: [`c${i}`], attrs: { kernel_shape: [3, 3], strides: [st, st], pads: [1, 1, 1, 1] } });
    nodes.push({ op: 'Relu', inputs: [`c${i}`], outputs: [`r${i}`] });
    prev = `r${i}`; cin = cout;
  });
  nodes.push({ op: 'GlobalAveragePool', inputs: [prev], outputs: ['gap'] });
  nodes.push({ op: 'Flatten', inputs: ['gap'], outputs: ['features'], attrs: { axis: 1 } });
  return encodeOnnx({ name: 'perennial_small_cnn', inputs: [{ name: 'image', shape: ['N', C, S, S] }], outputs: [{ name: 'features', shape: ['N', cin] }], nodes, initializers: inits });
}
