// `perennial cil features` (tiny ONNX CNN over a PNG folder) killed with SIGKILL at random points
// and resumed from its partial cache: byte-identical features and labels, same record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/core/rng.js';
import { tinyCnnOnnx, writeOnnx } from '../../src/continual/onnx.js';
import { KILLS, killAndResume, noteResult } from './kill-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-kill-feat-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test(`cil features: ${KILLS} random SIGKILLs, resumed, equals an uninterrupted run`, { timeout: 3_600_000 }, async () => {
  const images = join(dir, 'images');
  const perClass = 25 * (KILLS + 2);
  const rng = new Rng(5);
  for (let c = 0; c < 2; c++) {
    mkdirSync(join(images, `k${c}`), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(16 * 16);
      for (let j = 0; j < px.length; j++) px[j] = Math.min(255, Math.round(80 * c + 100 * rng.next()));
      await sharp(px, { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(images, `k${c}`, `${i}.png`));
    }
  }
  const model = join(dir, 'cnn.onnx');
  writeOnnx(model, tinyCnnOnnx({ channels: 1, size: 16, widths: [8, 8], featureDim: 8 }, new Rng(6)).bytes);
  const rows = (out: string): number => {
    try { return (JSON.parse(readFileSync(join(out, 'feats.npy.partial.json'), 'utf8')) as { rows: number }).rows; } catch { return existsSync(join(out, 'feats.npy')) ? 2 * perClass : 0; }
  };
  const r = await killAndResume({
    name: 'cil features',
    args: (out) => ['cil', 'features', '--backbone', model, '--images', images, '--out', join(out, 'feats.npy'), '--labels', join(out, 'labels.npy'), '--batch-size', '1', '--threads', '1', '--json', join(out, 'rec.json')],
    progress: rows,
    jitterMs: 5,
    finals: (out) => [join(out, 'rec.json'), join(out, 'feats.npy'), join(out, 'labels.npy')],
    after: (out, clean) => {
      for (const f of ['feats.npy', 'labels.npy']) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(clean, f))), `${f} byte-identical`);
      // The partial cache is gone once complete. Hidden temp files of atomic writes that a kill
      // interrupted may remain (counted in the result); they never carry a final name.
      assert.deepEqual(readdirSync(out).filter((f) => /partial/.test(f) && !/^\..*\.tmp$/.test(f)), [], 'no partial files left');
    },
  }, dir);
  noteResult(r);
});
