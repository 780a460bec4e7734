// The user workflow of issue 18 part 3: `cil fit` on an ImageFolder through an ONNX backbone,
// `cil predict`, `cil update` with new classes only, `cil predict` again; the first model
// directory stays byte-identical, and the error cases (known classes, the output guard, another
// format version, a missing or different backbone, a bad config) are clear one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/core/rng.js';
import { tinyCnnOnnx, writeOnnx } from '../../src/continual/onnx.js';
import { main } from '../../src/cli/index.js';
import { continual } from '../../src/index.js';

process.env.PERENNIAL_QUIET = '1';
const root = mkdtempSync(join(tmpdir(), 'perennial-model-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** Five classes told apart by colour and stripe direction; noise so they are not trivially identical. */
const COLOURS = [[220, 40, 40], [40, 200, 40], [40, 60, 220], [220, 210, 40], [200, 40, 200]];
async function writeClasses(dir: string, classes: number[], perClass: number, rng: Rng): Promise<void> {
  const S = 16;
  for (const c of classes) {
    const cdir = join(dir, `class${c}`);
    mkdirSync(cdir, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(S * S * 3);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
        const stripe = ((c % 2 === 0 ? x : y) >> 2) % 2 === 0 ? 1 : 0.6;
        for (let k = 0; k < 3; k++) px[(y * S + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(COLOURS[c]![k]! * stripe + 45 * rng.normal())));
      }
      await sharp(px, { raw: { width: S, height: S, channels: 3 } }).png().toFile(join(cdir, `${i}.png`));
    }
  }
}

/** main() with stderr captured. stdout is left alone: the test runner reports results through it. */
async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const err = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((s: string | Uint8Array) => { stderr += String(s); return true; }) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.exitCode = undefined;
    process.stderr.write = err;
  }
}

function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex') + `:${statSync(p).mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

interface Predictions { classes: string[]; rows: { file: string; top: { label: string; score: number }[] }[] }

/** Accuracy per true class (the sub-folder name) of a predictions file. */
function accuracy(p: Predictions, classes: string[]): number {
  let right = 0, n = 0;
  for (const r of p.rows) {
    const truth = r.file.split('/')[0]!;
    if (!classes.includes(truth)) continue;
    n++;
    if (r.top[0]!.label === truth) right++;
  }
  assert.ok(n > 0, `rows of ${classes.join(',')}`);
  return right / n;
}

let fixture: Promise<{ backbone: string; trainOld: string; trainNew: string; testOld: string; testNew: string; testAll: string }> | null = null;
function data(): typeof fixture & object {
  fixture ??= (async () => {
    const rng = new Rng(7, 'model-workflow');
    const backbone = join(root, 'cnn.onnx');
    writeOnnx(backbone, tinyCnnOnnx({ channels: 3, size: 16, widths: [8, 16], featureDim: 32 }, rng.split('cnn')).bytes);
    const trainOld = join(root, 'train-old'), trainNew = join(root, 'train-new'), testAll = join(root, 'test');
    await writeClasses(trainOld, [0, 1, 2], 12, rng.split('train-old'));
    await writeClasses(trainNew, [3, 4], 12, rng.split('train-new'));
    await writeClasses(testAll, [0, 1, 2, 3, 4], 8, rng.split('test'));
    const testOld = join(root, 'test-old'), testNew = join(root, 'test-new');
    for (const c of [0, 1, 2]) cpSync(join(testAll, `class${c}`), join(testOld, `class${c}`), { recursive: true });
    for (const c of [3, 4]) cpSync(join(testAll, `class${c}`), join(testNew, `class${c}`), { recursive: true });
    return { backbone, trainOld, trainNew, testOld, testNew, testAll };
  })();
  return fixture;
}

const CONFIGS: Record<string, string> = {
  simplecil: 'method: simplecil\n',
  ranpac: 'method: ranpac\nseed: 1\noptions:\n  projections: { ranpac: 256 }\n  train: { epochs: 2 }\n',
  safe: 'method: safe\nseed: 1\noptions:\n  M: 256\n  trainFirst: { epochs: 2 }\n  trainLater: { epochs: 1 }\n',
};

for (const method of Object.keys(CONFIGS)) {
  test(`${method}: fit -> predict -> update -> predict from the CLI; the first model directory is unchanged`, { timeout: 60_000 }, async (t) => {
    const d = await data();
    const work = mkdtempSync(join(root, `${method}-`));
    const cfg = join(work, 'config.yaml');
    writeFileSync(cfg, CONFIGS[method]!);
    const m1 = join(work, 'model-1'), m2 = join(work, 'model-2');
    let r = await run(['cil', 'fit', '--backbone', d.backbone, '--images', d.trainOld, '--config', cfg, '--out', m1, '--json', join(work, 'fit.json')]);
    assert.equal(r.code, 0, r.stderr);
    const card = JSON.parse(readFileSync(join(m1, 'card.json'), 'utf8')) as { method: string; classes: string[]; n_per_class: Record<string, number>; versions: Record<string, string>; created: string };
    assert.equal(card.method, method);
    assert.deepEqual(card.classes, ['class0', 'class1', 'class2']);
    assert.deepEqual(card.n_per_class, { class0: 12, class1: 12, class2: 12 });
    assert.ok(card.versions.perennial && card.created);
    const manifest = JSON.parse(readFileSync(join(m1, 'model.json'), 'utf8')) as { version: number; backbone: { sha256: string }; config: { method: string } };
    assert.equal(manifest.version, continual.MODEL_FORMAT_VERSION);
    assert.match(manifest.backbone.sha256, /^[0-9a-f]{16}$/);
    assert.equal(manifest.config.method, method);
    if (method === 'safe') assert.ok(readdirSync(join(m1, 'buffer')).includes('x.npy'), 'safe carries its validation buffer');
    const before = hashTree(m1);

    const p1 = join(work, 'p1.json'), p1csv = join(work, 'p1.csv');
    r = await run(['cil', 'predict', '--model', m1, '--images', d.testOld, '--top-k', '2', '--json', p1, '--csv', p1csv]);
    assert.equal(r.code, 0, r.stderr);
    const pred1 = JSON.parse(readFileSync(p1, 'utf8')) as Predictions;
    assert.deepEqual(pred1.classes, ['class0', 'class1', 'class2']);
    assert.equal(pred1.rows.length, 24);
    assert.equal(pred1.rows[0]!.top.length, 2);
    assert.ok(pred1.rows[0]!.top[0]!.score >= pred1.rows[0]!.top[1]!.score);
    assert.equal(readFileSync(p1csv, 'utf8').split('\n')[0], 'file,rank,label,score');
    assert.equal(readFileSync(p1csv, 'utf8').trim().split('\n').length, 1 + 24 * 2);
    const oldBefore = accuracy(pred1, ['class0', 'class1', 'class2']);
    assert.ok(oldBefore >= 0.8, `${method}: old-class accuracy before the update ${oldBefore}`);

    r = await run(['cil', 'update', '--model', m1, '--images', d.trainNew, '--out', m2]);
    assert.equal(r.code, 0, r.stderr);
    const p2 = join(work, 'p2.json');
    r = await run(['cil', 'predict', '--model', m2, '--images', d.testAll, '--json', p2]);
    assert.equal(r.code, 0, r.stderr);
    const pred2 = JSON.parse(readFileSync(p2, 'utf8')) as Predictions;
    assert.deepEqual(pred2.classes, ['class0', 'class1', 'class2', 'class3', 'class4']);
    const newAcc = accuracy(pred2, ['class3', 'class4']), oldAfter = accuracy(pred2, ['class0', 'class1', 'class2']);
    t.diagnostic(`${method}: old classes ${oldBefore.toFixed(3)} -> ${oldAfter.toFixed(3)}, new classes ${newAcc.toFixed(3)}`);
    // Chance is 1/5 over the five classes.
    assert.ok(newAcc >= 0.7, `${method}: new-class accuracy ${newAcc}`);
    assert.ok(oldBefore - oldAfter <= 0.25, `${method}: old-class accuracy ${oldBefore} -> ${oldAfter}`);
    const card2 = JSON.parse(readFileSync(join(m2, 'card.json'), 'utf8')) as { classes: string[]; sessions: number };
    assert.equal(card2.sessions, 2);
    assert.deepEqual(hashTree(m1), before, 'the first model directory is byte-identical (and untouched) after predict and update');
  });
}

test('from code: fit, predict, update, save, load give the same predictions', { timeout: 60_000 }, async () => {
  const d = await data();
  const work = mkdtempSync(join(root, 'api-'));
  const m = await continual.fit({ backbone: d.backbone, data: { images: d.trainOld }, config: { method: 'simplecil' } });
  const a = await m.predictImages(d.testAll, 3);
  await m.update({ images: d.trainNew });
  assert.deepEqual(m.classes, ['class0', 'class1', 'class2', 'class3', 'class4']);
  const b = await m.predictImages(d.testAll);
  await m.save(join(work, 'm'));
  const again = await continual.load(join(work, 'm'));
  const c = await again.predictImages(d.testAll);
  assert.deepEqual(c, b, 'a loaded model predicts as the one saved');
  assert.equal(a[0]!.top.length, 3);
  await m.dispose();
  await again.dispose();
  // The same data and config give the same learner arrays (projection, PET tuning, lambda: all seeded).
  const config = { method: 'ranpac', seed: 4, options: { projections: { ranpac: 64 }, train: { epochs: 1 } } };
  for (const name of ['r1', 'r2']) {
    const r = await continual.fit({ backbone: d.backbone, data: { images: d.trainOld }, config });
    await r.save(join(work, name));
    await r.dispose();
  }
  const learnerFiles = (dir: string): Record<string, string> => Object.fromEntries(Object.entries(hashTree(dir)).filter(([k]) => k.startsWith('learner')).map(([k, v]) => [k, v.split(':')[0]!]));
  assert.ok(Object.keys(learnerFiles(join(work, 'r1'))).length >= 3);
  assert.deepEqual(learnerFiles(join(work, 'r2')), learnerFiles(join(work, 'r1')));
});

test('errors: known classes, the output guard, another format version, a missing or different backbone, a bad config', { timeout: 60_000 }, async () => {
  const d = await data();
  const work = mkdtempSync(join(root, 'errors-'));
  const m1 = join(work, 'model');
  let r = await run(['cil', 'fit', '--backbone', d.backbone, '--images', d.trainOld, '--out', m1]);
  assert.equal(r.code, 0, r.stderr);
  const before = hashTree(m1);
  // Classes it already has are refused, and taken with --merge.
  r = await run(['cil', 'update', '--model', m1, '--images', d.trainOld, '--out', join(work, 'again')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /already has classes "class0", "class1", "class2".*--merge/);
  r = await run(['cil', 'update', '--model', m1, '--images', d.testOld, '--merge', '--out', join(work, 'merged')]);
  assert.equal(r.code, 0, r.stderr);
  // --out is --model however spelled, or inside it.
  for (const out of [m1, join(work, '.', 'x', '..', 'model'), `${m1}/`, join(m1, 'sub')]) {
    r = await run(['cil', 'update', '--model', m1, '--images', d.trainNew, '--out', out]);
    assert.equal(r.code, 2, out);
    assert.match(r.stderr, /--out .* inside --model|same file/, r.stderr);
  }
  // An existing, non-empty --out is refused.
  r = await run(['cil', 'update', '--model', m1, '--images', d.trainNew, '--out', join(work, 'merged')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /exists and is not empty/);
  // Another format version.
  const old = join(work, 'old-version');
  cpSync(m1, old, { recursive: true });
  const mj = JSON.parse(readFileSync(join(old, 'model.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(old, 'model.json'), JSON.stringify({ ...mj, version: 99 }));
  r = await run(['cil', 'predict', '--model', old, '--images', d.testOld, '--json', join(work, 'p.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /model format version 99 .*reads version 1/);
  // A learner array named in model.json that is gone.
  const torn = join(work, 'torn');
  cpSync(m1, torn, { recursive: true });
  rmSync(join(torn, 'learner', 'a0.npy'));
  r = await run(['cil', 'predict', '--model', torn, '--images', d.testOld, '--json', join(work, 'p.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /learner\/a0\.npy \(named in model\.json\) is missing/);
  // A backbone with another hash, given explicitly.
  const other = join(work, 'other.onnx');
  writeOnnx(other, tinyCnnOnnx({ channels: 3, size: 16, widths: [8, 16], featureDim: 32 }, new Rng(99)).bytes);
  r = await run(['cil', 'predict', '--model', m1, '--backbone', other, '--images', d.testOld, '--json', join(work, 'p.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /has sha256 [0-9a-f]{16}, the model was fit with [0-9a-f]{16}/);
  // The backbone moved away: named, and the way out given; given again with --backbone it works.
  const moved = join(work, 'moved.onnx');
  renameSync(d.backbone, moved);
  try {
    r = await run(['cil', 'predict', '--model', m1, '--images', d.testOld, '--json', join(work, 'p.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /backbone .*cnn\.onnx \(named in model\.json\) does not exist; pass the backbone file with --backbone/);
    r = await run(['cil', 'predict', '--model', m1, '--backbone', moved, '--images', d.testOld, '--json', join(work, 'p.json')]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    renameSync(moved, d.backbone);
  }
  // A config key that does not exist: file, line and key.
  const cfg = join(work, 'bad.yaml');
  writeFileSync(cfg, 'method: simplecil\nseed: 3\nvalFracton: 0.1\n');
  r = await run(['cil', 'fit', '--backbone', d.backbone, '--images', d.trainOld, '--config', cfg, '--out', join(work, 'm-bad')]);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(`${cfg}:3 (valFracton)`), r.stderr);
  // An unknown method is named with the known ones.
  r = await run(['cil', 'fit', '--backbone', d.backbone, '--images', d.trainOld, '--method', 'nope', '--out', join(work, 'm-nope')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown method "nope"; known: .*simplecil/);
  // Images without a backbone, features without labels.
  r = await run(['cil', 'fit', '--images', d.trainOld, '--out', join(work, 'm-x')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--images needs --backbone/);
  assert.deepEqual(hashTree(m1), before, 'no failed command touched the model directory');
});

test('feature rows: fit and update on .npy features, predict on features', { timeout: 60_000 }, async () => {
  const work = mkdtempSync(join(root, 'features-'));
  const rng = new Rng(3, 'model-features');
  const { writeNpy } = await import('../../src/core/data/npy.js');
  const make = (classes: number[], per: number, name: string): [string, string] => {
    const d = 8, n = classes.length * per;
    const x = new Float32Array(n * d), y = new Int32Array(n);
    classes.forEach((c, ci) => { for (let i = 0; i < per; i++) { const r = ci * per + i; y[r] = c; for (let k = 0; k < d; k++) x[r * d + k] = (k === c ? 3 : 0) + 0.3 * rng.normal(); } });
    const f = join(work, `${name}.npy`), l = join(work, `${name}-labels.npy`);
    writeNpy(f, x, [n, d]);
    writeNpy(l, y, [n]);
    return [f, l];
  };
  const [f1, l1] = make([0, 1, 2], 10, 'a');
  const [f2, l2] = make([3, 4], 10, 'b');
  let r = await run(['cil', 'fit', '--features', f1, '--labels', l1, '--method', 'simplecil', '--out', join(work, 'm1')]);
  assert.equal(r.code, 0, r.stderr);
  r = await run(['cil', 'update', '--model', join(work, 'm1'), '--features', f2, '--labels', l2, '--out', join(work, 'm2')]);
  assert.equal(r.code, 0, r.stderr);
  r = await run(['cil', 'predict', '--model', join(work, 'm2'), '--features', f2, '--json', join(work, 'p.json')]);
  assert.equal(r.code, 0, r.stderr);
  const p = JSON.parse(readFileSync(join(work, 'p.json'), 'utf8')) as { classes: string[]; rows: { top: { label: string }[] }[] };
  assert.deepEqual(p.classes, ['0', '1', '2', '3', '4']);
  const right = p.rows.filter((row, i) => row.top[0]!.label === String(i < 10 ? 3 : 4)).length;
  assert.ok(right >= 18, `${right} of 20 feature rows right`);
  // A model fit on features has no image backbone.
  r = await run(['cil', 'predict', '--model', join(work, 'm2'), '--images', work, '--json', join(work, 'q.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /fit on feature rows/);
});
