// Shared by the store tests: a CLI entry under tsx, a private Redis server per test file, and
// small polling helpers with deadlines (every wait in these tests is bounded).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REDIS_BIN = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? null;

/** Why Redis tests cannot run here, or false when they can. */
export function redisSkip(): string | false {
  const why = !REDIS_BIN ? 'redis-server is not installed (apt-get install redis-server)'
    : (() => { try { createRequire(import.meta.url)('ioredis'); return null; } catch { return 'the ioredis package (BullMQ\'s Redis client) is not installed (npm install)'; } })();
  if (!why) return false;
  // .ci/run sets PERENNIAL_TEST_REDIS after installing Redis: there a missing piece fails the file.
  if (process.env.PERENNIAL_TEST_REDIS) throw new Error(`${why}, and PERENNIAL_TEST_REDIS is set: the Redis tests must run`);
  return why;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `perennial-${prefix}-`));
}

let entryFile: string | null = null;
/** A file that runs the CLI from the sources (an entry file: job processes inherit no -e code). */
export function cliEntry(): string {
  if (!entryFile || !existsSync(entryFile)) {
    const d = tempDir('cli');
    entryFile = join(d, 'entry.mts');
    writeFileSync(entryFile, `import { main } from ${JSON.stringify(resolve('src/cli/index.ts'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`);
  }
  return entryFile;
}

export interface Ran { code: number | null; stdout: string; stderr: string }

export function cliSync(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Ran {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cliEntry(), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Proc { child: ChildProcess; out: () => string; err: () => string; done: Promise<number | null> }

export function cliSpawn(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', cliEntry(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d; });
  child.stderr!.on('data', (d: Buffer) => { err += d; });
  const done = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  return { child, out: () => out, err: () => err, done };
}

export async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
  });
}

export interface RedisServer { url: string; port: number; dir: string; stop(): Promise<void>; restart(): Promise<void> }

async function pingable(port: number): Promise<boolean> {
  const { Socket } = await import('node:net');
  return new Promise((res) => {
    const s = new Socket();
    const t = setTimeout(() => { s.destroy(); res(false); }, 500);
    s.once('error', () => { clearTimeout(t); res(false); });
    s.connect(port, '127.0.0.1', () => { s.write('PING\r\n'); });
    s.once('data', (d) => { clearTimeout(t); s.destroy(); res(d.toString().startsWith('+PONG')); });
  });
}

/** A private redis-server on 127.0.0.1 and a free port, without persistence, in a temp folder. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = tempDir('redis');
  let proc: ChildProcess | null = null;
  const up = async (): Promise<void> => {
    proc = spawn(REDIS_BIN!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await waitFor('redis-server to answer', () => pingable(port), 10_000, 100);
  };
  const down = async (): Promise<void> => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    const closed = new Promise((r) => p.once('close', r));
    p.kill('SIGKILL');
    await closed;
  };
  await up();
  return {
    url: `redis://127.0.0.1:${port}`, port, dir,
    stop: async () => { await down(); rmSync(dir, { recursive: true, force: true }); },
    restart: async () => { await down(); await up(); },
  };
}

/** Pids of the direct children of `pid` (Linux /proc). */
export function childPids(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
}
