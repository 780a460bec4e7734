// `cil run --methods` with frozen-backbone learners, Co2L/CILA and ATLAS together: one process, one
// record holding every part (each on its own stream), and the same metrics as a part run alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { gaussianMixture } from '../../src/core/data/synthetic.js';
import { writeNpy } from '../../src/core/data/npy.js';
import { main } from '../../src/cli/index.js';
import { atlasPart, partitionMethods, runParts, type RunPart } from '../../src/continual/index.js';
import { atlasOptions, runAtlas } from '../../src/continual/atlas.js';

interface Mixed {
  mixed: boolean; parts: Record<string, { stream: string; summary: unknown }>; method_part: Record<string, string>;
  runs: { method: string; part: string; acc_matrix: number[][] }[]; summary: Record<string, { last_acc_mean: number }>;
  run: { command: string; config: { parts: Record<string, unknown>; resolved_config?: Record<string, unknown> } };
}

test('cil run mixes frozen-backbone, co2l/cila and atlas methods in one record', { timeout: 120_000 }, async () => {
  assert.deepEqual([...partitionMethods(['cila', 'simplecil', 'atlas', 'aper', 'co2l'])], [['co2l', ['cila', 'co2l']], ['frozen', ['simplecil', 'aper']], ['atlas', ['atlas']]]);
  const dir = mkdtempSync(join(tmpdir(), 'cil-mixed-'));
  try {
    const ds = gaussianMixture({ classes: 4, perClass: 30, dim: 12 }, new Rng(5));
    writeNpy(join(dir, 'f.npy'), ds.x, [ds.n, ds.d]);
    writeNpy(join(dir, 'l.npy'), ds.y, [ds.n]);
    const co2lFlags = ['--dataset', 'synthetic', '--quick', '--per-class', '20', '--epochs-first', '1', '--epochs-later', '1', '--seeds', '1'];
    const json = join(dir, 'mixed.json');
    assert.equal(await main(['cil', 'run', '--methods', 'simplecil,aper,co2l', '--features', join(dir, 'f.npy'), '--labels', join(dir, 'l.npy'), '--split', 'B2Inc1', ...co2lFlags, '--json', json]), 0);
    const rec = JSON.parse(readFileSync(json, 'utf8')) as Mixed;
    assert.equal(rec.mixed, true);
    assert.deepEqual(Object.keys(rec.parts), ['frozen', 'co2l']);
    assert.deepEqual(rec.method_part, { simplecil: 'frozen', aper: 'frozen', 'aper-adapted': 'frozen', co2l: 'co2l' });
    assert.deepEqual(Object.keys(rec.summary).sort(), ['aper', 'aper-adapted', 'co2l', 'simplecil']);
    assert.deepEqual(rec.runs.find((r) => r.method === 'simplecil')!.acc_matrix.length, 3, 'the frozen part ran B2Inc1 on 4 classes');
    assert.deepEqual(rec.run.config.resolved_config!.methods, ['simplecil', 'aper', 'co2l']);
    // Alone, the co2l part gives the same metrics as inside the mix.
    const alone = join(dir, 'co2l.json');
    assert.equal(await main(['cil', 'run', '--methods', 'co2l', ...co2lFlags, '--json', alone]), 0);
    const a = JSON.parse(readFileSync(alone, 'utf8')) as { runs: { method: string; acc_matrix: number[][] }[] };
    assert.deepEqual(rec.runs.find((r) => r.method === 'co2l')!.acc_matrix, a.runs.find((r) => r.method === 'co2l')!.acc_matrix);
    // A flag none of the parts reads is still refused.
    assert.equal(await main(['cil', 'run', '--methods', 'simplecil,co2l', '--dataset', 'synthetic', '--shots', '4', '--json', join(dir, 'x.json')]), 2);

    // ATLAS as a third part (a tiny world in place of the quick one, which takes minutes here).
    const at = await atlasPart({ seeds: [0], json: join(dir, 'three.json'), order: 'multimodal-first' });
    const tiny: RunPart = { ...at, run: () => runAtlas(atlasOptions({ upstreamPerClass: 20, testPerClass: 10, upstreamEpochs: 2, downstreamSteps: 8, shots: 4 }), [0], { orders: ['multimodal-first'], orthoAblation: false }) };
    const fake = (kind: 'frozen' | 'co2l', method: string): RunPart => ({
      kind, command: 'x', config: {}, seeds: [0], stream: kind, title: kind, lines: () => [], sections: () => [],
      run: async () => ({ runs: [{ method, seed: 0, last_acc: 50 }], summary: { [method]: { last_acc_mean: 50 } } }),
    });
    const three = (await runParts([fake('frozen', 'simplecil'), fake('co2l', 'cila'), tiny])).record as unknown as Mixed;
    assert.deepEqual(Object.keys(three.parts), ['frozen', 'co2l', 'atlas']);
    assert.ok(Array.isArray(three.parts.atlas.summary) && (three.parts.atlas.summary as unknown[]).length > 0, 'atlas keeps its own summary');
    assert.deepEqual(three.runs.map((r) => [r.part, r.method]), [['frozen', 'simplecil'], ['co2l', 'cila']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
