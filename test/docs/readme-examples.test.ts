// Every fenced `sh` and `ts` block of README.md, src/*/README.md and docs/*.md runs here, each in a
// fresh temporary directory, so an example that stops working fails `npm test` instead of a user.
//
// How a block sees perennial:
// - `import ... from 'perennial'` / `'perennial/<area>'`: the temporary directory has
//   node_modules/perennial -> this checkout (beside links to its dependencies, as an install
//   would lay them out), so the package's own "exports" map resolves it (the map is tested too).
// - `perennial ...` and `npx perennial ...` in sh blocks: a `perennial` shim on PATH runs this
//   checkout's CLI. npx itself is replaced by a shell function for that one command: the real npx
//   would resolve the package's bin (bin/perennial.js, which runs dist/) and may go to the network.
//   CI runs the README's first `npm install && npx perennial demo` verbatim instead (.ci/run).
// - dist/ is used only when it is at least as new as every source file (CI builds before testing);
//   otherwise the CLI and the imports run on src/ through tsx (`--conditions=source`), so a stale
//   build never decides the result.
//
// A block that cannot run offline is marked on the line right above its fence with
// `<!-- docs-test: skip: <reason> -->`; the reason is required and printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BLOCK_TIMEOUT_MS = 180_000;
const SKIP_RE = /^<!--\s*docs-test:\s*skip:\s*(.*?)\s*-->$/;
const LANGS: Record<string, 'sh' | 'ts'> = { sh: 'sh', bash: 'sh', shell: 'sh', ts: 'ts', typescript: 'ts' };

interface Block { file: string; line: number; lang: 'sh' | 'ts'; code: string; skip: string | null }

function docFiles(): string[] {
  const out = ['README.md'];
  for (const area of readdirSync(join(ROOT, 'src')).sort()) {
    const p = join('src', area, 'README.md');
    if (existsSync(join(ROOT, p))) out.push(p);
  }
  // docs/*.md only: docs/results/ holds measurements, whose commands are full-size runs.
  if (existsSync(join(ROOT, 'docs'))) {
    for (const f of readdirSync(join(ROOT, 'docs')).sort()) if (f.endsWith('.md') && statSync(join(ROOT, 'docs', f)).isFile()) out.push(join('docs', f));
  }
  return out;
}

/** Fenced blocks of one Markdown file, with the 1-based line of the opening fence. */
export function extractBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence)) j++;
    const lang = LANGS[open[3]!.toLowerCase()];
    if (lang) {
      let k = i - 1;
      while (k >= 0 && lines[k]!.trim() === '') k--;
      const m = k >= 0 ? SKIP_RE.exec(lines[k]!.trim()) : null;
      if (m && !m[1]) throw new Error(`${file}:${k + 1}: docs-test skip marker without a reason`);
      blocks.push({ file, line: i + 1, lang, code: lines.slice(i + 1, j).join('\n') + '\n', skip: m ? m[1]! : null });
    }
    i = j;
  }
  return blocks;
}

/** True when dist/ holds a build at least as new as every source file. */
function distIsFresh(): boolean {
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(d, e.name)] : []));
  for (const src of walk(join(ROOT, 'src'))) {
    const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), src)).replace(/\.ts$/, '.js');
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) return false;
  }
  return true;
}

// PERENNIAL_DOCS_BUILD=dist|src forces one (dist: whatever was built last).
const forced = process.env.PERENNIAL_DOCS_BUILD;
if (forced && forced !== 'dist' && forced !== 'src') throw new Error(`PERENNIAL_DOCS_BUILD must be dist or src, got ${forced}`);
const useDist = forced ? forced === 'dist' : distIsFresh();
const tsxLoader = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
// Without a fresh build, every node a block starts (the shim, a ts block, a `node -e` in an sh
// block) runs TypeScript through tsx and resolves 'perennial/...' to the sources.
// With a fresh build, only ts blocks need tsx (given on their command line): the CLI starts about
// twice as fast without it.
const nodeOptions = [process.env.NODE_OPTIONS ?? '', ...(useDist ? [] : [`--import=${tsxLoader}`, '--conditions=source'])].join(' ').trim();

// One shared folder for the shim; each block gets its own working directory beside it.
const base = mkdtempSync(join(tmpdir(), 'perennial-docs-'));
process.on('exit', () => rmSync(base, { recursive: true, force: true }));
const shimDir = join(base, 'bin');
mkdirSync(shimDir);
const cliEntry = join(base, 'cli.mjs');
writeFileSync(cliEntry, `import { main } from ${JSON.stringify(pathToFileURL(join(ROOT, useDist ? 'dist/cli/index.js' : 'src/cli/index.ts')).href)};\n` +
  'main(process.argv.slice(2)).then((code) => process.exit(code), (e) => { process.stderr.write(`perennial: ${e && e.stack ? e.stack : e}\\n`); process.exit(1); });\n');
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
writeFileSync(join(shimDir, 'perennial'), `#!/bin/sh\nexec ${q(process.execPath)} ${q(cliEntry)} "$@"\n`);
chmodSync(join(shimDir, 'perennial'), 0o755);

const SH_PREAMBLE = [
  // `npx perennial ...` runs the shim; anything else goes to the real npx.
  'npx() { if [ "$1" = perennial ]; then shift; perennial "$@"; else command npx "$@"; fi; }',
  // Servers a block starts in the background end with it.
  "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
  '',
].join('\n');

// The node_modules an `npm install perennial` gives: perennial itself (-> this checkout) beside
// its dependencies (-> this checkout's), so an example may also import sharp, tfjs, ...
const modules = join(base, 'node_modules');
mkdirSync(modules);
for (const name of readdirSync(join(ROOT, 'node_modules'))) {
  if (name.startsWith('.') || name === 'perennial') continue;
  symlinkSync(join(ROOT, 'node_modules', name), join(modules, name), 'dir');
}
symlinkSync(ROOT, join(modules, 'perennial'), 'dir');

function blockDir(b: Block): string {
  const d = mkdtempSync(join(base, `${b.file.replace(/[^\w]+/g, '_')}-${b.line}-`));
  writeFileSync(join(d, 'package.json'), JSON.stringify({ name: 'docs-example', private: true, type: 'module' }) + '\n');
  symlinkSync(modules, join(d, 'node_modules'), 'dir');
  return d;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; signal: string | null; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${shimDir}:${process.env.PATH ?? ''}`, NODE_OPTIONS: nodeOptions, PERENNIAL_QUIET: '1' };
  // A child that sees the runner's context would report to it as a test file.
  delete env.NODE_TEST_CONTEXT;
  return new Promise((res) => {
    const p = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    const add = (d: Buffer) => { out += d.toString(); if (out.length > 200_000) out = out.slice(-100_000); };
    p.stdout.on('data', add);
    p.stderr.on('data', add);
    const timer = setTimeout(() => { out += `\n[docs test: killed after ${BLOCK_TIMEOUT_MS / 1000} s]`; try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, BLOCK_TIMEOUT_MS);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the block left running (its process group) goes too.
      try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
      res({ code, signal, out });
    });
  });
}

const blocks = docFiles().flatMap((f) => extractBlocks(f, readFileSync(join(ROOT, f), 'utf8')));
// PERENNIAL_DOCS_ONLY=<substring> runs only the blocks whose file:line contains it (while editing a README).
const only = process.env.PERENNIAL_DOCS_ONLY;
const skipped = blocks.filter((b) => b.skip !== null);

test('README examples', async (t) => {
  const summary = `docs examples: ${blocks.length} blocks (${blocks.filter((b) => b.lang === 'sh').length} sh, ${blocks.filter((b) => b.lang === 'ts').length} ts), ` +
    `${skipped.length} skipped, from ${new Set(blocks.map((b) => b.file)).size} files; CLI and imports from ${useDist ? (forced ? 'dist/ (forced)' : 'dist/ (fresh build)') : 'src/ through tsx'}`;
  t.diagnostic(summary);
  for (const b of skipped) t.diagnostic(`skipped ${b.file}:${b.line}: ${b.skip}`);
  if (!only) assert.ok(blocks.length > 30, `expected more than 30 example blocks, found ${blocks.length}`);

  for (const b of blocks) {
    const name = `${b.file}:${b.line}`;
    if (only && !name.includes(only)) continue;
    await t.test(name, { skip: b.skip ?? false }, async () => {
      const dir = blockDir(b);
      const file = join(dir, b.lang === 'sh' ? 'example.sh' : 'example.ts');
      writeFileSync(file, b.lang === 'sh' ? SH_PREAMBLE + b.code : b.code);
      const r = b.lang === 'sh'
        ? await run('bash', ['-e', '-o', 'pipefail', file], dir)
        : await run(process.execPath, [...(useDist ? ['--import', tsxLoader] : []), file], dir);
      assert.equal(r.code, 0, `${b.file}:${b.line} (${b.lang}) exited with ${r.code ?? r.signal}:\n${b.code}\n--- output (tail) ---\n${r.out.slice(-4000)}`);
      rmSync(dir, { recursive: true, force: true });
    });
  }
});
