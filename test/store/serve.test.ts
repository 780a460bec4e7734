// The dashboard server: loopback by default, read-only, nothing outside the store folder,
// proper status codes, bounded requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { Socket } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../src/core/store/runs.js';
import { Dashboard } from '../../src/core/store/server.js';
import { writeFixtureRecords } from './fixtures.js';
import { cliSpawn, tempDir, waitFor } from './helpers.js';

function http(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (r) => {
      let b = '';
      r.on('data', (d) => { b += d; });
      r.on('end', () => res({ status: r.statusCode!, headers: r.headers, body: b }));
    });
    req.on('error', rej);
    if (body) req.write(body);
    req.end();
  });
}

test('serve: routes, traversal attempts, methods, sizes and times', { timeout: 60_000 }, async () => {
  const top = tempDir('serve');
  const root = join(top, 'runs');
  mkdirSync(root);
  const storePath = join(root, 'perennial.db');
  writeFixtureRecords(root, storePath, [0, 1]);
  writeFileSync(join(root, 'ewc-s0.html'), '<!doctype html><title>report</title>');
  writeFileSync(join(top, 'secret.json'), '{"secret": true}');
  symlinkSync(join(top, 'secret.json'), join(root, 'link.json'));
  const store = new RunStore(storePath, { readonly: true });
  const d = new Dashboard(store);
  const { host, port } = await d.listen({ port: 0 });
  try {
    assert.equal(host, '127.0.0.1');
    assert.equal((d.server!.address() as { address: string }).address, '127.0.0.1');
    // A client that never finishes its headers is cut off (headers timeout 5 s).
    const t0 = Date.now();
    await new Promise<void>((res, rej) => {
      const s = new Socket();
      s.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n'));
      s.resume();
      s.on('close', () => res());
      s.on('error', () => res());
      setTimeout(() => { s.destroy(); rej(new Error(`slow client not cut off after ${Date.now() - t0} ms`)); }, 30_000);
    });
    assert.ok(Date.now() - t0 < 25_000);
    const page = await http(port, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.equal((await http(port, 'GET', '/assets/vega.min.js')).status, 200);
    const runs = JSON.parse((await http(port, 'GET', '/api/runs?method=ewc')).body) as { runs: { id: string; report: string | null }[] };
    assert.equal(runs.runs.length, 2);
    const withReport = runs.runs.find((r) => r.report);
    assert.equal(withReport?.report, '/files/ewc-s0.html');
    const rep = await http(port, 'GET', withReport!.report!);
    assert.equal(rep.status, 200);
    assert.match(String(rep.headers['content-security-policy']), /sandbox/);
    assert.equal((await http(port, 'GET', '/files/ewc-s0.json')).status, 200);
    assert.equal(JSON.parse((await http(port, 'GET', `/record/${runs.runs[0]!.id}`)).body).run.command, 'fake train');
    const all = JSON.parse((await http(port, 'GET', '/api/runs')).body) as { runs: { id: string }[] };
    const cmp = await http(port, 'GET', `/api/compare?ids=${all.runs.map((r) => r.id).join(',')}`);
    assert.equal(cmp.status, 200);
    assert.ok((JSON.parse(cmp.body) as { plots: unknown[] }).plots.length >= 3);
    // Traversal: every way out of the store folder is refused.
    for (const p of ['/files/../secret.json', '/files/%2e%2e/secret.json', '/files/..%2fsecret.json', '/files/a/../../secret.json',
      '/files/%2E%2E%2Fsecret.json', `/files/${encodeURIComponent(join(top, 'secret.json'))}`, '/files/link.json']) {
      const r = await http(port, 'GET', p);
      assert.ok(r.status === 403 || r.status === 404, `${p}: ${r.status}`);
      assert.doesNotMatch(r.body, /secret/, p);
    }
    assert.equal((await http(port, 'GET', '/files/link.json')).status, 403, 'a link out of the folder');
    assert.equal((await http(port, 'GET', '/files/..%2fsecret.json')).status, 403);
    assert.equal((await http(port, 'GET', '/files/perennial.db')).status, 403, 'the database itself is not served');
    assert.equal((await http(port, 'GET', '/files/nope.json')).status, 404);
    assert.equal((await http(port, 'GET', '/files/%00x.json')).status, 400);
    assert.equal((await http(port, 'GET', '/files/%E0%A4%A')).status, 400);
    assert.equal((await http(port, 'GET', '/nowhere')).status, 404);
    assert.equal((await http(port, 'GET', '/api/runs/ffffffff')).status, 404);
    assert.equal((await http(port, 'GET', '/api/compare?ids=abcd')).status, 400);
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await http(port, m, '/api/runs');
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    assert.equal((await http(port, 'GET', '/', { 'content-length': '5' }, 'hello')).status, 413);
    assert.equal((await http(port, 'GET', '/' + 'a'.repeat(5000))).status, 414);
    const head = await http(port, 'HEAD', '/api/runs');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  } finally {
    await d.close();
    store.close();
    rmSync(top, { recursive: true, force: true });
  }
});

test('perennial serve binds 127.0.0.1 only unless --host is given', { timeout: 120_000 }, async () => {
  const top = tempDir('serve-cli');
  const storePath = join(top, 'perennial.db');
  writeFixtureRecords(top, storePath, [0]);
  const p = cliSpawn(['serve', '--store', storePath, '--port', '0'], { PERENNIAL_QUIET: '1' });
  try {
    const line = await waitFor('the serve line', () => /http:\/\/([\d.]+):(\d+)\//.exec(p.out()), 90_000, 100);
    assert.equal(line[1], '127.0.0.1');
    const port = Number(line[2]);
    assert.equal((await http(port, 'GET', '/api/info')).status, 200);
    const other = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (other) {
      const refused = await new Promise<boolean>((res) => {
        const s = new Socket();
        s.once('error', () => res(true));
        s.connect(port, other.address, () => { s.destroy(); res(false); });
        setTimeout(() => { s.destroy(); res(true); }, 3000);
      });
      assert.ok(refused, `not reachable on ${other.address}`);
    }
  } finally {
    p.child.kill('SIGTERM');
    await p.done;
    rmSync(top, { recursive: true, force: true });
  }
});
