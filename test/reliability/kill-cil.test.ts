// `perennial cil run --quick` (synthetic miniature, pretrained backbone given) killed with SIGKILL
// at random points and resumed with --resume from its per-session checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { KILLS, killAndResume, noteResult } from './kill-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-kill-cil-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const SESSIONS = 5; // B4Inc4 on the 20-class synthetic miniature

/** Sessions completed, over all seeds, as the checkpoints record them. */
function sessionsDone(out: string): number {
  const ck = join(out, 'cil.json.ckpt');
  if (!existsSync(ck)) return 0;
  let n = 0;
  for (const d of readdirSync(ck).filter((f) => f.startsWith('seed-'))) {
    if (existsSync(join(ck, d, 'done.json'))) { n += SESSIONS; continue; }
    try { n += (JSON.parse(readFileSync(join(ck, d, 'state.json'), 'utf8')) as { completed: number }).completed; } catch { /* not yet written */ }
  }
  return n;
}

test(`cil run: ${KILLS} random SIGKILLs, resumed, equals an uninterrupted run`, { timeout: 3_600_000 }, async () => {
  const backbone = join(dir, 'backbone');
  const prev = process.env.PERENNIAL_QUIET;
  process.env.PERENNIAL_QUIET = '1';
  assert.equal(await main(['cil', 'pretrain', '--dataset', 'synthetic', '--quick', '--out', backbone, '--seed', '0']), 0);
  process.env.PERENNIAL_QUIET = prev;
  const seeds = Math.max(1, Math.ceil((1.5 * (KILLS + 2)) / SESSIONS));
  const r = await killAndResume({
    name: 'cil run',
    args: (out) => ['cil', 'run', '--dataset', 'synthetic', '--quick', '--backbone', backbone, '--seeds', String(seeds), '--m', '128', '--resume', '--json', join(out, 'cil.json'), '--html', join(out, 'cil.html')],
    progress: sessionsDone,
    // Sessions take seconds: a delay of up to 0.4 s lands at a random point inside the next one.
    jitterMs: 400,
    finals: (out) => [join(out, 'cil.json'), join(out, 'cil.html')],
    // Per-method seconds add up over the resumed runs; everything else must match.
    volatile: /^(time|time_s|time_per_seed_s)$/,
  }, dir);
  noteResult(r);
});
