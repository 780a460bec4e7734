// The lambda-regime study's plumbing: the allocation-free image rotation matches the plain bilinear
// rule bit for bit, and `cil co2l --preset` fills in a named regime that explicit options override.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { rotateImage } from '../../src/continual/parts/streams.js';

/** Bilinear rotation written out plainly: the four corners in order, zero outside. */
function rotatePlain(src: Float32Array, h: number, w: number, deg: number): Float32Array {
  const a = (deg * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
  const cy = (h - 1) / 2, cx = (w - 1) / 2;
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dy = y - cy, dx = x - cx;
      const sx = c * dx + s * dy + cx, sy = -s * dx + c * dy + cy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      let v = 0;
      const corners: [number, number, number][] = [[y0, x0, (1 - fy) * (1 - fx)], [y0, x0 + 1, (1 - fy) * fx], [y0 + 1, x0, fy * (1 - fx)], [y0 + 1, x0 + 1, fy * fx]];
      for (const [yy, xx, wt] of corners) if (yy >= 0 && yy < h && xx >= 0 && xx < w) v += wt * src[yy * w + xx]!;
      out[y * w + x] = v;
    }
  }
  return out;
}

test('rotateImage equals the plain bilinear rule bit for bit (square and non-square images, many angles)', () => {
  const r = new Rng(11, 'rot-identity');
  for (const [h, w] of [[28, 28], [7, 12], [1, 5]] as const) {
    const img = Float32Array.from({ length: h * w }, () => r.next());
    for (let k = 0; k < 40; k++) {
      const deg = k === 0 ? 0 : r.uniform(-360, 360);
      const fast = rotateImage(img, h, w, deg), plain = rotatePlain(img, h, w, deg);
      assert.deepEqual(Array.from(fast), Array.from(plain), `${h}x${w} at ${deg} degrees`);
    }
  }
});

test('cil co2l --preset fills in only the options left unset; unknown presets are named with the known ones', async () => {
  const { applyCo2lPreset, CO2L_PRESETS } = await import('../../src/continual/index.js');
  const names = Object.keys(CO2L_PRESETS);
  assert.ok(names.includes('lambda-regime'));
  const base = { methods: ['co2l'], seeds: [0], json: 'x.json', dataset: 'synthetic' };
  assert.deepEqual(applyCo2lPreset(base), base);
  const p = CO2L_PRESETS['lambda-regime']!.values;
  const filled = applyCo2lPreset({ ...base, preset: 'lambda-regime' });
  for (const [k, v] of Object.entries(p)) assert.deepEqual((filled as unknown as Record<string, unknown>)[k], v, k);
  const over = applyCo2lPreset({ ...base, preset: 'lambda-regime', buffer: 7, epochsLater: 1 });
  assert.equal(over.buffer, 7);
  assert.equal(over.epochsLater, 1);
  assert.equal(over.epochsFirst, p.epochsFirst);
  assert.throws(() => applyCo2lPreset({ ...base, preset: 'nope' }), /--preset nope: known: .*lambda-regime/);
});

test('cil co2l --preset lambda-regime runs end to end (synthetic rows, shortened) and records the preset and its options', async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Command } = await import('commander');
  const { continualCilaCli } = await import('../../src/cli/continual-cila.js');
  const { CO2L_PRESETS } = await import('../../src/continual/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'cila-regime-'));
  try {
    const p = new Command();
    p.exitOverride();
    continualCilaCli.register(p);
    const json = join(dir, 'r.json');
    await p.parseAsync(['cil', 'co2l', '--preset', 'lambda-regime', '--dataset', 'synthetic', '--per-class', '30', '--epochs-first', '1', '--epochs-later', '1',
      '--methods', 'co2l', '--json', json], { from: 'user' });
    const r = JSON.parse(readFileSync(json, 'utf8')) as { runs: { acc_matrix: number[][] }[]; run: { config: { preset: string; scenario: string; options: { encoder: string; mlpHidden: number[]; bufferSize: number; epochsFirst: number } } } };
    const v = CO2L_PRESETS['lambda-regime']!.values;
    assert.equal(r.run.config.preset, 'lambda-regime');
    assert.equal(r.run.config.scenario, v.scenario);
    assert.equal(r.run.config.options.encoder, v.encoder);
    assert.deepEqual(r.run.config.options.mlpHidden, v.mlpHidden);
    assert.equal(r.run.config.options.bufferSize, v.buffer);
    assert.equal(r.run.config.options.epochsFirst, 1);
    assert.equal(r.runs[0]!.acc_matrix.length, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
