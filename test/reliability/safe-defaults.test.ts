// Safe defaults: `perennial llm serve` binds 127.0.0.1 unless told otherwise, request paths cannot
// reach files outside the server's routes, resolveInside keeps paths under their root, and no
// writer follows a symbolic link planted at an output name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { request } from 'node:http';
import fc from 'fast-check';
import { InputError } from '../../src/core/errors.js';
import { resolveInside, writeFileAtomic, writeJsonAtomic } from '../../src/core/fsx.js';
import { writeNpy } from '../../src/core/data/npy.js';
import { writeRecord, RunRecorder } from '../../src/core/record.js';
import { writeSafetensors } from '../../src/continual/safetensors.js';
import { writeGguf } from '../../src/llm/gguf.js';
import { ResponseCache } from '../../src/llm/cache.js';
import { serveProvider } from '../../src/llm/server.js';
import { EchoProvider } from '../../src/llm/testing.js';
import { main } from '../../src/cli/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-safe-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolveP, reject) => {
    // A raw path: no URL normalisation on the client side.
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolveP({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const canConnect = (host: string, port: number): Promise<boolean> => new Promise((r) => {
  const s = connect({ host, port, timeout: 1000 });
  s.once('connect', () => { s.destroy(); r(true); });
  s.once('error', () => r(false));
  s.once('timeout', () => { s.destroy(); r(false); });
});

test('`perennial llm serve` binds 127.0.0.1 by default and is not reachable on other interfaces', { timeout: 60_000 }, async () => {
  const entry = join(dir, 'serve.mts');
  writeFileSync(entry, `import { main } from ${JSON.stringify(resolve('src/cli/index.ts'))}; process.exitCode = await main(['llm', 'serve', '--model', 'echo:numbers', '--port', '0']);`);
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PERENNIAL_QUIET: '1' } });
  try {
    let out = '';
    const url = await new Promise<string>((resolveP, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 45_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/\S+\/v1)/.exec(out);
        if (m) { clearTimeout(t); resolveP(m[1]!); }
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    const u = new URL(url);
    assert.equal(u.hostname, '127.0.0.1');
    const port = Number(u.port);
    assert.ok(await canConnect('127.0.0.1', port));
    // Every non-loopback address of this machine must refuse.
    const others = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && a.family === 'IPv4').map((a) => a!.address);
    for (const a of others) assert.equal(await canConnect(a, port), false, `reachable on ${a}`);
    // Paths outside the API's routes are 404s whatever their spelling: nothing is served from disk.
    for (const p of ['/v1/../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/v1/models/..%2f..%2f..%2fetc%2fpasswd', '//etc/passwd', '/v1/models/../../package.json']) {
      const r = await rawGet(url, p);
      assert.equal(r.status, 404, `${p} -> ${r.status}`);
      assert.doesNotMatch(r.body, /root:|"name": "perennial"/);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => { if (child.exitCode !== null) r(null); else child.once('exit', r); });
  }
});

test('serveProvider defaults to 127.0.0.1 and only binds elsewhere when asked', async () => {
  const s = await serveProvider(new EchoProvider('text'));
  try {
    assert.equal((s.server.address() as { address: string }).address, '127.0.0.1');
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  } finally {
    await s.close();
  }
});

test('resolveInside: any relative path either stays under the root or is refused', () => {
  const root = join(dir, 'root');
  const seg = fc.oneof(fc.constantFrom('..', '.', '', 'a', 'b', '...', '..a', 'a..', '%2e%2e', '/', '\\..', '~'), fc.string({ maxLength: 4 }));
  fc.assert(fc.property(fc.array(seg, { maxLength: 6 }), fc.boolean(), (parts, abs) => {
    const child = (abs ? '/' : '') + parts.join('/');
    let p: string;
    try {
      p = resolveInside(root, child);
    } catch (e) {
      assert.ok(e instanceof InputError);
      return;
    }
    const rel = relative(root, p);
    assert.ok(!rel.startsWith('..') && !isAbsolute(rel), `${child} -> ${p}`);
  }), { numRuns: 500 });
  assert.throws(() => resolveInside(root, '../x'), InputError);
  assert.throws(() => resolveInside(root, '/etc/passwd'), InputError);
  assert.throws(() => resolveInside(root, 'a/../../x'), InputError);
  assert.equal(resolveInside(root, 'a/../b'), join(root, 'b'));
});

test('writers refuse a symbolic link planted at the output name; the link target stays untouched', () => {
  const out = join(dir, 'out');
  const outside = join(dir, 'outside');
  mkdirSync(out, { recursive: true });
  mkdirSync(outside, { recursive: true });
  const writers: [string, (p: string) => void][] = [
    ['writeFileAtomic', (p) => writeFileAtomic(p, 'x')],
    ['writeJsonAtomic', (p) => writeJsonAtomic(p, { a: 1 })],
    ['writeRecord', (p) => writeRecord(p, new RunRecorder('t', {}, 0).finish({ a: 1 }))],
    ['writeNpy', (p) => writeNpy(p, new Float32Array(2), [2])],
    ['writeSafetensors', (p) => writeSafetensors(p, { w: { shape: [1], data: new Float32Array(1) } })],
    ['writeGguf', (p) => { writeGguf(p, new Map(), []); }],
    ['ResponseCache', (p) => { new ResponseCache(p).close(); }],
  ];
  for (const [name, write] of writers) {
    const target = join(outside, `${name}.target`);
    writeFileSync(target, 'precious');
    const link = join(out, `${name}.out`);
    symlinkSync(target, link);
    assert.throws(() => write(link), InputError, `${name} refuses the link`);
    assert.equal(readFileSync(target, 'utf8'), 'precious', `${name} left the target alone`);
    assert.ok(lstatSync(link).isSymbolicLink(), `${name} left the link in place`);
  }
  // No temp files are left behind by refused writes.
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.tmp')), []);
});

test('a CLI run whose --json (or its cache) is a planted link fails with a message and writes nothing through it', async () => {
  const out = join(dir, 'cli');
  mkdirSync(out, { recursive: true });
  const target = join(dir, 'cli-target.json');
  writeFileSync(target, 'precious');
  const json = join(out, 'rec.json');
  symlinkSync(target, json);
  const args = ['llm', 'selfknow', '--model', 'echo:numbers', '--tasks', 'arithmetic', '--items', '2', '--repeats', '1', '--seed', '1'];
  assert.equal(await main([...args, '--json', json]), 2);
  assert.equal(readFileSync(target, 'utf8'), 'precious');
  // The cache next to the record: same protection.
  rmSync(json);
  rmSync(`${json}.cache.jsonl`, { force: true });
  symlinkSync(target, `${json}.cache.jsonl`);
  assert.equal(await main([...args, '--json', json]), 2);
  assert.equal(readFileSync(target, 'utf8'), 'precious');
  assert.ok(!existsSync(json) || !lstatSync(json).isSymbolicLink());
});
