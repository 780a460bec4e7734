// Environment faults (issue 17, item 6): a missing folder, a file where a folder should be, a busy
// port, a torn checkpoint are one line naming the path and a non-zero exit, never a stack trace
// (unless --debug), and never a temp file left beside the target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeFailure, describeSystemError, main } from '../../src/cli/index.js';
import { InputError } from '../../src/core/errors.js';
import { writeFileAtomic } from '../../src/core/fsx.js';
import { textOnly } from '../helpers/stdout.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-env-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const f = (n: string): string => join(dir, n);
const ENV = { ...process.env, PERENNIAL_QUIET: '1', PERENNIAL_STORE: f('store.db') };

/** The CLI in a child process (as a user runs it): exit code and stderr. */
function cli(args: string[], opts: { timeout?: number } = {}): { code: number | null; stderr: string } {
  const script = `import { main } from ${JSON.stringify(resolve('src/cli/index.ts'))}; process.exitCode = await main(process.argv.slice(1));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { env: ENV, encoding: 'utf8', timeout: opts.timeout ?? 120_000 });
  return { code: r.status, stderr: r.stderr };
}

function assertOneLine(r: { code: number | null; stderr: string }, pattern: RegExp, label: string): void {
  assert.notEqual(r.code, 0, `${label}: non-zero exit`);
  assert.ok(r.code !== null, `${label}: exited (not killed)`);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('perennial: ') && !l.startsWith('perennial: warning:'));
  assert.equal(lines.length, 1, `${label}: one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern, label);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${label}: no stack trace:\n${r.stderr}`);
}

const temps = (d: string): string[] => readdirSync(d).filter((n) => n.endsWith('.tmp'));

test('--json that is a folder: one line, and no .NAME.PID.N.tmp left behind', () => {
  const out = f('out-dir.json');
  mkdirSync(out);
  writeFileSync(join(out, 'keep'), 'x'); // a non-empty folder: rename(2) over it fails with ENOTEMPTY
  const r = cli(['info', 'nc', '--seeds', '1', '--json', out]);
  assertOneLine(r, /out-dir\.json.*folder/, 'json is a folder');
  assert.deepEqual(temps(dir), [], 'no temp file beside the target');
  assert.deepEqual(readdirSync(out), ['keep'], 'the folder is untouched');
});

test('--json whose parent is a file: one line naming the file', () => {
  writeFileSync(f('plain.txt'), 'not a folder');
  const r = cli(['info', 'nc', '--seeds', '1', '--json', join(f('plain.txt'), 'r.json')]);
  assertOneLine(r, /plain\.txt is a file, not a folder/, 'parent is a file');
  assert.equal(readFileSync(f('plain.txt'), 'utf8'), 'not a folder');
});

test('writeFileAtomic: a folder target or a file parent is refused before a temp exists; a failed rename removes the temp', () => {
  const d = mkdtempSync(join(dir, 'atomic-'));
  mkdirSync(join(d, 'target'));
  writeFileSync(join(d, 'target', 'inside'), '1');
  assert.throws(() => writeFileAtomic(join(d, 'target'), 'data'), (e: unknown) => e instanceof InputError && /is a folder/.test(e.message));
  writeFileSync(join(d, 'file'), 'x');
  assert.throws(() => writeFileAtomic(join(d, 'file', 'deeper', 'out.json'), 'data'), (e: unknown) => e instanceof InputError && /file is a file, not a folder/.test(e.message));
  assert.deepEqual(temps(d), []);
});

test('breakout export --out-dir pointing at a file: one line, the file unchanged', () => {
  const data = f('w.jsonl');
  assert.equal(cli(['breakout', 'synth', '--n', '8', '--out', data]).code, 0);
  writeFileSync(f('export-here'), 'mine');
  const r = cli(['breakout', 'export', '--data', data, '--out-dir', f('export-here')]);
  assertOneLine(r, /--out-dir .*export-here is a file, not a folder/, 'out-dir is a file');
  assert.equal(readFileSync(f('export-here'), 'utf8'), 'mine');
});

test('cil run --resume on a torn done.json: one line naming the checkpoint file', async () => {
  const json = f('cil.json');
  const args = ['cil', 'run', '--dataset', 'synthetic', '--quick', '--methods', 'simplecil', '--seeds', '1', '--json', json];
  const saved = process.env.PERENNIAL_STORE;
  process.env.PERENNIAL_STORE = f('store.db');
  const write = process.stdout.write.bind(process.stdout), err = process.stderr.write.bind(process.stderr);
  let stderr = '';
  try {
    process.stdout.write = textOnly();
    process.stderr.write = (() => true) as typeof process.stderr.write;
    assert.equal(await main(args), 0);
    const done = join(`${json}.ckpt`, 'seed-0', 'done.json');
    const text = readFileSync(done, 'utf8');
    writeFileSync(done, text.slice(0, Math.floor(text.length / 2))); // cut short, as a full disk or a copy leaves it
    process.stderr.write = ((s: string) => { stderr += s; return true; }) as typeof process.stderr.write;
    const code = await main([...args, '--resume']);
    assert.equal(code, 2);
    const lines = stderr.split('\n').filter((l) => l.startsWith('perennial: '));
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /seed-0\/done\.json:\d+.*checkpoint/);
  } finally {
    process.stdout.write = write;
    process.stderr.write = err;
    process.env.PERENNIAL_STORE = saved;
  }
});

test('a system error is one line "<what> <path>: <reason> (CODE)"; --debug adds the stack', () => {
  // An input that is a folder where a file is read: EISDIR from the reader.
  mkdirSync(f('model-dir.gguf'));
  const r = cli(['llm', 'inspect', f('model-dir.gguf')]);
  assertOneLine(r, /model-dir\.gguf/, 'inspect a folder');
  const d = cli(['llm', 'inspect', f('model-dir.gguf'), '--debug']);
  assert.notEqual(d.code, 0);
  assert.match(d.stderr, /^\s+at /m, '--debug prints the stack trace');
});

test('llm serve on a port in use and on an impossible port: one line each', async () => {
  const busy = createServer();
  await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
  const port = (busy.address() as AddressInfo).port;
  try {
    assertOneLine(cli(['llm', 'serve', '--model', 'echo', '--port', String(port)], { timeout: 60_000 }), new RegExp(`${port}.*(in use|EADDRINUSE)`), 'port in use');
    assertOneLine(cli(['llm', 'serve', '--model', 'echo', '--port', '99999'], { timeout: 60_000 }), /port/i, 'bad port');
  } finally {
    busy.close();
  }
});

test('describeSystemError / describeFailure map Node errors to one line and an exit code', () => {
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y.json'"), { code: 'ENOENT', syscall: 'open', path: '/x/y.json', errno: -2 });
  assert.equal(describeSystemError(enoent), 'cannot open /x/y.json: no such file or folder (ENOENT)');
  const inuse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE', syscall: 'listen', address: '127.0.0.1', port: 8080 });
  assert.equal(describeSystemError(inuse), 'cannot listen on 127.0.0.1:8080: address already in use (EADDRINUSE)');
  for (const code of ['EACCES', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EROFS', 'ENOSPC']) {
    const e = Object.assign(new Error(`${code}: x, write '/p'`), { code, syscall: 'write', path: '/p' });
    assert.match(describeSystemError(e)!, new RegExp(`^cannot write /p: .+ \\(${code}\\)$`), code);
    assert.equal(describeFailure(e).code, 1);
  }
  assert.equal(describeFailure(new InputError('bad')).code, 2);
  assert.match(describeFailure(new TypeError('boom')).line, /^internal error: TypeError: boom/);
  assert.equal(describeSystemError(new Error('plain')), null);
});
