// Property tests for every reader/writer pair: writing then reading gives the value back, and
// arbitrary or mutated bytes give a value or a typed error naming the file (ParseError with the
// file, line/offset and expectation; InputError for unusable input), never another exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ParseError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { encodeNpy, parseNpy } from '../../src/core/data/npy.js';
import { parseIdx } from '../../src/core/data/idx.js';
import { parseCsv, toCsv } from '../../src/core/data/csv.js';
import { SafeTensors, encodeSafetensors } from '../../src/continual/safetensors.js';
import { encodeGguf, parseGgufHeader, GgufType, type GgufValue } from '../../src/llm/gguf.js';
import { parseFootprintText, renderFootprintText } from '../../src/breakout/footprint.js';
import { parseCif } from '../../src/crystal/cif.js';
import { structureFromCif } from '../../src/crystal/structure.js';
import { structureToCif } from '../../src/crystal/cifwrite.js';
import { builtInStructure } from '../../src/crystal/builtin.js';
import { parseShelxIns, writeShelxIns, parseHklf4 } from '../../src/crystal/shelx.js';
import { RunRecorder, writeRecord } from '../../src/core/record.js';
import { readRecord } from '../../src/core/record-read.js';
import { TARGETS, check, cifQuote, describeError, encodeIdx, formatHklf4, generate, type FuzzTarget } from '../fuzz/targets.js';

const RUNS = Number(process.env.RELIABILITY_RUNS ?? 300);
const dir = mkdtempSync(join(tmpdir(), 'perennial-reliability-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });

// ------------------------------------------------------------------ round trips

test('NPY: encode then parse gives dtype, shape and the exact bytes back', () => {
  fc.assert(fc.property(shapeArb, fc.constantFrom('f4', 'f8', 'i4'), fc.integer(), (shape, kind, seed) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const rng = new Rng(seed >>> 0);
    const data = kind === 'f4' ? Float32Array.from({ length: n }, () => rng.normal() * 1e3)
      : kind === 'f8' ? Float64Array.from({ length: n }, () => rng.normal() * 1e300)
        : Int32Array.from({ length: n }, () => rng.int(2 ** 31) - 2 ** 30);
    const back = parseNpy(encodeNpy(data, shape), 'rt.npy');
    assert.deepEqual(back.shape, shape);
    assert.equal(back.dtype, { f4: 'float32', f8: 'float64', i4: 'int32' }[kind]);
    assert.deepEqual(bytesOf(back.data), bytesOf(data));
  }), { numRuns: RUNS });
});

test('IDX: big-endian values (plain and gzip) come back exactly', () => {
  const types = [[0x08, 0, 255], [0x09, -128, 127], [0x0b, -32768, 32767], [0x0c, -(2 ** 31), 2 ** 31 - 1]] as const;
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.integer(), (shape, ti, gz, seed) => {
    const [type, lo, hi] = types[ti]!;
    const n = shape.reduce((a, b) => a * b, 1);
    const rng = new Rng(seed >>> 0);
    const vals = Array.from({ length: n }, () => lo + rng.int(hi - lo + 1));
    const raw = encodeIdx(type, shape, vals);
    const back = parseIdx(gz ? gzipSync(raw) : raw, 'rt.idx');
    assert.deepEqual(back.shape, shape);
    assert.deepEqual(Array.from(back.data), vals);
  }), { numRuns: RUNS });
  const f = parseIdx(encodeIdx(0x0e, [2], [Math.PI, -1e300]), 'f.idx');
  assert.deepEqual(Array.from(f.data), [Math.PI, -1e300]);
});

test('CSV: toCsv then parseCsv gives header and rows back (quotes, commas, newlines, line numbers)', () => {
  const field = fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('a', 'B', '1', ' ', ',', '"', '\n', '\r\n', 'é', '-', '.') })
    .map((s) => s.trim()).filter((s) => s.length > 0);
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }).chain((w) => fc.tuple(fc.array(field, { minLength: w, maxLength: w }), fc.array(fc.array(fc.oneof(field, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })), { minLength: w, maxLength: w }), { maxLength: 6 }))), ([header, rows]) => {
    const t = parseCsv(toCsv(header, rows), 'rt.csv');
    assert.deepEqual(t.header, header);
    assert.deepEqual(t.rows.map((r) => r.values), rows.map((r) => r.map(String)));
    // Each row's line is where it starts: strictly increasing, after the header.
    for (let i = 0; i < t.rows.length; i++) assert.ok(t.rows[i]!.line > (i ? t.rows[i - 1]!.line : 1));
  }), { numRuns: RUNS });
});

test('safetensors: names, shapes, metadata and F32 values come back; F16/BF16 keep their bit patterns', () => {
  const name = fc.string({ minLength: 1, maxLength: 10 }).filter((s) => s !== '__metadata__');
  fc.assert(fc.property(fc.uniqueArray(fc.tuple(name, shapeArb, fc.constantFrom('F32', 'F16', 'BF16') as fc.Arbitrary<'F32' | 'F16' | 'BF16'>), { selector: (t) => t[0], maxLength: 4 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), fc.integer(), (specs, meta, seed) => {
    const rng = new Rng(seed >>> 0);
    const input = Object.fromEntries(specs.map(([n, shape, dtype]) => [n, { shape, dtype, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()) }]));
    const enc1 = encodeSafetensors(input, meta);
    const st = SafeTensors.parse(enc1, 'rt.safetensors');
    assert.deepEqual(new Set(st.names()), new Set(specs.map((s) => s[0])));
    assert.deepEqual({ ...st.metadata }, { ...meta });
    for (const [n, shape, dtype] of specs) {
      const t = st.get(n);
      assert.deepEqual(t.shape, shape);
      assert.equal(t.dtype, dtype);
      if (dtype === 'F32') assert.deepEqual(bytesOf(st.float32(n)), bytesOf(input[n]!.data));
    }
    // Writing what was read gives the same file.
    const again = encodeSafetensors(Object.fromEntries(specs.map(([n, shape, dtype]) => [n, { shape, dtype, data: st.float32(n) }])), meta);
    assert.deepEqual(again, enc1);
  }), { numRuns: RUNS });
});

test('GGUF: metadata (scalars and arrays) and the tensor table come back', () => {
  const scalar: fc.Arbitrary<GgufValue> = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((v) => ({ type: GgufType.UINT32, value: v })),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => ({ type: GgufType.INT32, value: v })),
    fc.float({ noNaN: true }).map((v) => ({ type: GgufType.FLOAT32, value: v })),
    fc.double({ noNaN: true }).map((v) => ({ type: GgufType.FLOAT64, value: v })),
    fc.boolean().map((v) => ({ type: GgufType.BOOL, value: v })),
    fc.string().map((v) => ({ type: GgufType.STRING, value: v })),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ type: GgufType.UINT64, value: v })),
    fc.array(fc.string(), { maxLength: 5 }).map((v) => ({ type: GgufType.ARRAY, itemType: GgufType.STRING, items: v })),
    fc.array(fc.integer({ min: -100, max: 100 }), { maxLength: 5 }).map((v) => ({ type: GgufType.ARRAY, itemType: GgufType.INT32, items: v })),
  );
  const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== 'general.alignment');
  const tensor = fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }));
  fc.assert(fc.property(fc.uniqueArray(fc.tuple(key, scalar), { selector: (e) => e[0], maxLength: 6 }), fc.uniqueArray(tensor, { selector: (t) => t[0], maxLength: 3 }), fc.constantFrom(8, 32, 64), (kvs, ts, align) => {
    const buf = encodeGguf(new Map(kvs), ts.map(([name, dims]) => ({ name, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5) })), align);
    const h = parseGgufHeader(buf, 'rt.gguf');
    assert.equal(h.alignment, align);
    for (const [k, v] of kvs) {
      const got = h.metadata.get(k);
      if (v.type === GgufType.ARRAY) assert.deepEqual(got, v.items);
      else if (v.type === GgufType.FLOAT32) assert.equal(got, Math.fround(v.value as number));
      else assert.equal(got, v.value);
    }
    assert.deepEqual(h.tensors.map((t) => [t.name, t.dims]), ts);
  }), { numRuns: RUNS });
});

test('footprint text: render then parse gives the tables back, prices as integer ticks', () => {
  const table = fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.nat(10_000), fc.nat(10_000)), { minLength: 1, maxLength: 8 });
  fc.assert(fc.property(fc.array(table, { minLength: 2, maxLength: 6 }), fc.integer({ min: 1, max: 200_000 }), fc.constantFrom(0.25, 0.5, 1, 0.01, 0.1), (tables, top, tick) => {
    const w = {
      tick,
      tables: tables.map((rows, index) => {
        let p = top;
        return { index, rows: rows.map(([step, sell, buy]) => ({ priceTicks: (p -= step) + step, sell, buy })) };
      }),
    };
    const back = parseFootprintText(renderFootprintText(w), { tick, file: 'rt.txt' });
    assert.deepEqual(back.tables, w.tables);
  }), { numRuns: RUNS });
});

test('CIF: blocks of items and loops written with any quoting come back value for value', () => {
  const tag = fc.stringMatching(/^_[a-z][a-z0-9_.]{0,10}$/);
  const value = fc.oneof(
    fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'Z', '1', '.', '-', '(', ')', ' ', "'", '"', '#', '_', ';', '$') }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.constant('multi\nline text'),
  ).filter((s) => s.trim() === s && s !== '' && !/^;/.test(s));
  fc.assert(fc.property(fc.uniqueArray(tag, { minLength: 2, maxLength: 8 }), fc.array(value, { minLength: 12, maxLength: 12 }), fc.integer({ min: 1, max: 3 }), (tags, vals, loopWidth) => {
    const nLoop = Math.min(loopWidth, tags.length - 1);
    const items = tags.slice(nLoop);
    const loopTags = tags.slice(0, nLoop);
    const rows = [vals.slice(0, nLoop), vals.slice(nLoop, 2 * nLoop)];
    const lines = ['data_rt'];
    items.forEach((t, i) => lines.push(`${t} ${cifQuote(vals[11 - i]!)}`));
    lines.push('loop_', ...loopTags, ...rows.map((r) => r.map(cifQuote).join(' ')));
    const doc = parseCif(lines.join('\n') + '\n', { file: 'rt.cif' });
    assert.equal(doc.blocks.length, 1);
    const b = doc.blocks[0]!;
    items.forEach((t, i) => assert.equal(b.items.get(t)?.text, vals[11 - i]));
    assert.deepEqual(b.loops[0]!.tags, loopTags);
    assert.deepEqual(b.loops[0]!.rows.map((r) => r.map((v) => v.text)), rows);
  }), { numRuns: RUNS });
  // And a structure through structureToCif / structureFromCif.
  const st = builtInStructure();
  const back = structureFromCif(parseCif(structureToCif(st), { file: 'st.cif' }).blocks[0]!, 'st.cif');
  assert.equal(back.sites.length, st.sites.length);
  st.sites.forEach((s, i) => {
    assert.equal(back.sites[i]!.label, s.label);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(back.sites[i]!.frac[k]! - s.frac[k]!) < 1e-9);
    assert.ok(Math.abs(back.sites[i]!.occ - s.occ) < 1e-9);
  });
});

test('SHELX: writeShelxIns then parseShelxIns keeps cell, SFAC and atoms (to the written precision)', () => {
  const base = parseShelxIns('TITL t\nCELL 0.71073 5 6 7 90 95 90\nZERR 2 0 0 0 0 0 0\nLATT 1\nSFAC C N O\nUNIT 1 1 1\nFVAR 1\nHKLF 4\nEND\n', { file: 'b.ins' });
  const atom = fc.record({
    name: fc.stringMatching(/^[CNO][0-9]{1,2}[A-Z]?$/).filter((n) => !/^Q/.test(n)),
    sfac: fc.integer({ min: 1, max: 3 }),
    xyz: fc.tuple(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true })),
    uiso: fc.double({ min: 0.005, max: 0.2, noNaN: true }),
    aniso: fc.boolean(),
  });
  fc.assert(fc.property(fc.uniqueArray(atom, { selector: (a) => a.name, minLength: 1, maxLength: 8 }), (atoms) => {
    const m = {
      ...base,
      atoms: atoms.map((a, i) => ({
        name: a.name, sfac: a.sfac, xyz: a.xyz, sof: 1, sofCode: 11, uiso: a.aniso ? null : a.uiso,
        uani: a.aniso ? [a.uiso, a.uiso, a.uiso, 0, 0.001, 0] as const : null, afix: 0, part: 0, line: i, peakHeight: null,
      })),
    };
    const back = parseShelxIns(writeShelxIns(m), { file: 'rt.ins' });
    assert.deepEqual(back.cell, base.cell);
    assert.deepEqual(back.sfac, base.sfac);
    assert.equal(back.atoms.length, atoms.length);
    back.atoms.forEach((b, i) => {
      const a = atoms[i]!;
      assert.equal(b.name, a.name);
      assert.equal(b.sfac, a.sfac);
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(b.xyz[k]! - a.xyz[k]!) <= 5e-7, `${b.xyz[k]} vs ${a.xyz[k]}`);
      if (a.aniso) assert.ok(b.uani && Math.abs(b.uani[0] - a.uiso) <= 5e-6);
      else assert.ok(b.uiso !== null && Math.abs(b.uiso - a.uiso) <= 5e-6);
    });
  }), { numRuns: RUNS });
});

test('HKLF 4: formatted reflections come back exactly (to 2 decimals), the 0 0 0 record ends the list', () => {
  const refl = fc.record({ h: fc.integer({ min: -99, max: 999 }), k: fc.integer({ min: -99, max: 999 }), l: fc.integer({ min: 1, max: 999 }), fo2: fc.integer({ min: -99999, max: 999999 }), sigma: fc.integer({ min: 0, max: 999999 }), batch: fc.integer({ min: -99, max: 999 }) });
  fc.assert(fc.property(fc.array(refl, { maxLength: 20 }), fc.boolean(), (rows, trailing) => {
    const text = formatHklf4(rows.map((r) => ({ ...r, fo2: r.fo2 / 100, sigma: r.sigma / 100 }))) + (trailing ? '   1   2   3  100.00    1.00\n' : '');
    const d = parseHklf4(text, { file: 'rt.hkl' });
    assert.deepEqual(Array.from(d.h), rows.map((r) => r.h));
    assert.deepEqual(Array.from(d.l), rows.map((r) => r.l));
    assert.deepEqual(Array.from(d.fo2).map((v) => Math.round(v * 100)), rows.map((r) => r.fo2));
    assert.deepEqual(Array.from(d.sigma).map((v) => Math.round(v * 100)), rows.map((r) => r.sigma));
    assert.deepEqual(Array.from(d.batch), rows.map((r) => r.batch));
  }), { numRuns: RUNS });
});

test('run records: writeRecord then readRecord gives the record back', () => {
  let i = 0;
  fc.assert(fc.property(fc.dictionary(fc.string().filter((k) => k !== 'run' && k !== '__proto__'), fc.jsonValue(), { maxKeys: 5 }), fc.oneof(fc.constant(null), fc.integer(), fc.array(fc.integer(), { maxLength: 3 })), (metrics, seed) => {
    const rec = new RunRecorder('rt', { a: 1 }, seed).finish(metrics);
    const p = join(dir, `rec-${i++}.json`);
    writeRecord(p, rec);
    assert.deepEqual(readRecord(p), JSON.parse(JSON.stringify(rec)));
  }), { numRuns: Math.min(RUNS, 60) });
});

// ------------------------------------------------------------------ hostile inputs

function assertTyped(t: FuzzTarget, bytes: Uint8Array): void {
  const file = `hostile.${t.name}`;
  const r = check(t, bytes, file);
  if (r.outcome === 'untyped') {
    assert.fail(`${t.name}: ${describeError(r.error)}\ninput (base64): ${Buffer.from(bytes).toString('base64').slice(0, 2000)}`);
  }
}

for (const t of TARGETS) {
  test(`${t.name}: arbitrary and mutated inputs give a value or a typed error naming the file`, () => {
    const seeds = t.seeds(new Rng(1, `seeds-${t.name}`));
    for (const s of seeds) assert.equal(check(t, s, 'seed').outcome, 'value', `${t.name} seed files parse`);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (b) => assertTyped(t, b)), { numRuns: RUNS });
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => assertTyped(t, generate(new Rng(seed, t.name), t, seeds))), { numRuns: RUNS });
    // A typed failure says where: ParseError names the file and a line or byte offset.
    const bad = seeds[0]!.slice(0, Math.max(1, seeds[0]!.length >> 1));
    try { t.parse(bad, 'half.bin'); } catch (e) {
      assert.ok(e instanceof ParseError, `${t.name}: truncated file gives ParseError, got ${describeError(e)}`);
      assert.equal(e.file, 'half.bin');
      assert.match(e.message, /^half\.bin[:@]\d+/);
    }
  });
}
