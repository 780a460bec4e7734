import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli/index.js';
import { writeTinyGguf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perennial-llm-resume-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const lines = (p: string): string[] => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean) : []);

test('a selfknow run killed mid-way resumes from its cache without losing or duplicating calls', async () => {
  const model = join(dir, 'm.gguf');
  writeTinyGguf(model);
  const args = ['llm', 'selfknow', '--model', `gguf:${model}`, '--tasks', 'word_count,arithmetic,theorem', '--items', '5', '--repeats', '2', '--seed', '1'];
  const killedJson = join(dir, 'killed.json');
  const cache = `${killedJson}.cache.jsonl`;
  const entry = `import { main } from ${JSON.stringify(resolve('src/cli/index.ts'))}; process.exitCode = await main(${JSON.stringify([...args, '--json', killedJson])});`;
  // An entry file, not `-e`: node-llama-cpp forks a binary test with the parent's exec arguments.
  const entryFile = join(dir, 'entry.mts');
  writeFileSync(entryFile, entry);
  const child = spawn(process.execPath, ['--import', 'tsx', entryFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PERENNIAL_QUIET: '1' } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  // Kill it hard once part of the work is in the cache.
  for (let i = 0; i < 1200 && lines(cache).length < 8 && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGKILL');
  await exited;
  const before = lines(cache).length;
  assert.ok(before >= 8, `the killed run cached ${before} calls (exit ${child.exitCode}, stderr ${stderr.slice(0, 400)})`);
  assert.ok(before < 60, 'it was killed before finishing');
  assert.ok(!existsSync(killedJson), 'no record from a killed run');

  assert.equal(await main([...args, '--json', killedJson]), 0);
  const after = lines(cache);
  const keys = after.map((l) => (JSON.parse(l) as { key: string }).key);
  assert.equal(new Set(keys).size, keys.length, 'no duplicated cache entries');
  const resumed = JSON.parse(readFileSync(killedJson, 'utf8')) as { tasks: unknown; throughput: { cache_hits: number } };
  assert.ok(resumed.throughput.cache_hits >= before - 1, 'the resumed run used what the killed run computed');

  const cleanJson = join(dir, 'clean.json');
  assert.equal(await main([...args, '--json', cleanJson]), 0);
  const clean = JSON.parse(readFileSync(cleanJson, 'utf8')) as { tasks: unknown };
  assert.deepEqual(resumed.tasks, clean.tasks, 'resumed results equal an uninterrupted run');
});
