// `--tf-backend` (and PERENNIAL_TF_BACKEND) choose the training backend for one process: each case
// runs the CLI in a child process. Without a WebGPU adapter, 'webgpu' is refused in one line naming
// the reason and 'auto' trains on wasm with the assumption in stderr and in the record's warnings;
// where an adapter answers, both train on webgpu.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeWebGpu } from '../../src/core/tensor.js';

const script = `import { main } from ${JSON.stringify(new URL('../../src/cli/index.ts', import.meta.url).pathname)}; process.exitCode = await main(process.argv.slice(1));`;
const dir = mkdtempSync(join(tmpdir(), 'perennial-tf-backend-'));
// Asked in this process; the children ask again for themselves.
const absent = await probeWebGpu();

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const { PERENNIAL_QUIET: _q, PERENNIAL_TF_BACKEND: _b, ...rest } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...args], { encoding: 'utf8', env: { ...rest, ...env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const train = (out: string): string[] => ['info', 'dynamics', '--quick', '--synthetic', '--json', out];
type Record_ = { run: { backend: { tfjs: string }; warnings: { code: string; message: string }[] } };

test('--tf-backend auto: wasm where no adapter answers, said in stderr and in the record', () => {
  const out = join(dir, 'auto.json');
  const r = cli(['--tf-backend', 'auto', ...train(out)]);
  assert.equal(r.code, 0, r.err);
  const rec = JSON.parse(readFileSync(out, 'utf8')) as Record_;
  if (absent) {
    assert.equal(rec.run.backend.tfjs, 'wasm');
    assert.match(r.err, /warning: WebGPU is not available \(.+\); training on the wasm backend/);
    assert.ok(rec.run.warnings.some((w) => w.code === 'tf-webgpu-absent' && w.message.includes(absent)), JSON.stringify(rec.run.warnings));
  } else {
    assert.equal(rec.run.backend.tfjs, 'webgpu');
  }
});

test('--tf-backend webgpu: refused in one line with the reason where no adapter answers, nothing written', () => {
  const out = join(dir, 'webgpu.json');
  const r = cli(['--tf-backend', 'webgpu', ...train(out)]);
  if (!absent) {
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(readFileSync(out, 'utf8')) as Record_).run.backend.tfjs, 'webgpu');
    return;
  }
  assert.equal(r.code, 2, r.err);
  const lines = r.err.split('\n').filter((l) => l.startsWith('perennial:'));
  assert.deepEqual(lines, [`perennial: --tf-backend webgpu: ${absent}; use --tf-backend wasm (or auto)`]);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(out), false);
});

test('an unknown backend is refused before anything runs, from the option and from the environment', () => {
  const a = cli(['--tf-backend', 'cuda', ...train(join(dir, 'x.json'))]);
  assert.equal(a.code, 2);
  assert.match(a.err, /^perennial: --tf-backend: unknown tfjs backend "cuda" \(known: wasm, webgpu, auto\)$/m);
  const b = cli(train(join(dir, 'y.json')), { PERENNIAL_TF_BACKEND: 'gpu' });
  assert.equal(b.code, 2);
  assert.match(b.err, /^perennial: PERENNIAL_TF_BACKEND: unknown tfjs backend "gpu"/m);
  assert.equal(existsSync(join(dir, 'x.json')) || existsSync(join(dir, 'y.json')), false);
});

test('the default stays wasm with no warning, and --tf-backend=wasm is the same', () => {
  for (const args of [[], ['--tf-backend=wasm']]) {
    const out = join(dir, `default-${args.length}.json`);
    const r = cli([...args, ...train(out)]);
    assert.equal(r.code, 0, r.err);
    const rec = JSON.parse(readFileSync(out, 'utf8')) as Record_;
    assert.equal(rec.run.backend.tfjs, 'wasm');
    assert.ok(!rec.run.warnings.some((w) => w.code === 'tf-webgpu-absent'));
  }
});
