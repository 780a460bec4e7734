// No command writes over a file it reads, and no two outputs are one file (issue 17, item 1).
// The known data-loss cases with real files (each overwrote its input before), their hidden
// variants (symlinked folders, `..`, hard links, implicit companions, caches), and a table of
// every option of every command that names a file: the table must classify each one, and every
// output option is tried against every input and every other output of its command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram, main } from '../../src/cli/index.js';
import { textOnly } from '../helpers/stdout.js';

const root = mkdtempSync(join(tmpdir(), 'perennial-guard-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
process.env.PERENNIAL_QUIET = '1';

/** main() with stdout dropped and stderr captured. */
async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = process.stdout.write.bind(process.stdout), err = process.stderr.write.bind(process.stderr);
  const store = process.env.PERENNIAL_STORE;
  process.env.PERENNIAL_STORE = join(root, 'store.db');
  let stderr = '';
  process.stdout.write = textOnly();
  process.stderr.write = ((s: string | Uint8Array) => { stderr += String(s); return true; }) as typeof process.stderr.write;
  process.exitCode = undefined; // main() reports a command's exitCode: none may leak between runs
  try {
    return { code: await main(args), stderr };
  } finally {
    process.exitCode = undefined;
    process.stdout.write = out;
    process.stderr.write = err;
    if (store === undefined) delete process.env.PERENNIAL_STORE; else process.env.PERENNIAL_STORE = store;
  }
}

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Run `args`, which must be refused as a clash naming both options, leaving every file in `keep` as it was. */
async function refused(args: string[], names: [string, string], keep: string[]): Promise<void> {
  const before = keep.map(sha);
  const r = await run(args);
  assert.equal(r.code, 2, `${args.join(' ')}: exit 2, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /same file|inside/, `${args.join(' ')}: refused by the guard: ${r.stderr}`);
  for (const n of names) assert.ok(r.stderr.includes(n), `${args.join(' ')}: message names ${n}: ${r.stderr}`);
  keep.forEach((p, i) => assert.equal(sha(p), before[i], `${p} unchanged`));
}

let crystalDir = '';
async function structure(): Promise<{ res: string; hkl: string; cif: string; dir: string }> {
  if (!crystalDir) {
    crystalDir = join(root, 'crystal');
    assert.equal((await run(['crystal', 'example', '--out', crystalDir])).code, 0);
  }
  const res = join(crystalDir, readdirSync(crystalDir).find((n) => n.endsWith('.res'))!);
  return { res, hkl: res.replace(/\.res$/, '.hkl'), cif: res.replace(/\.res$/, '.cif'), dir: crystalDir };
}

test('the known data-loss cases are refused and the input survives', async () => {
  const { res, hkl } = await structure();
  const model = join(root, 't.gguf');
  assert.equal((await run(['llm', 'make-tiny', '--out', model])).code, 0);
  await refused(['llm', 'inspect', model, '--json', model], ['--json', model], [model]);
  await refused(['crystal', 'assign', '--res', res, '--out', join(root, 'o.ins'), '--json', hkl], ['--json', 'the .hkl beside --res'], [res, hkl]);
  await refused(['crystal', 'hydrogens', '--res', res, '--out', join(root, 'o.ins'), '--json', res], ['--json', '--res'], [res, hkl]);
  // The .hkl beside the .res, and an explicit --hkl, are inputs of hydrogens --out and validate --json.
  await refused(['crystal', 'hydrogens', '--res', res, '--out', hkl], ['--out', '.hkl'], [res, hkl]);
  const other = join(root, 'other.hkl');
  writeFileSync(other, readFileSync(hkl));
  await refused(['crystal', 'hydrogens', '--res', res, '--hkl', other, '--out', other], ['--out', '--hkl'], [other]);
  await refused(['crystal', 'validate', '--cif', res, '--hkl', other, '--json', other], ['--json', '--hkl'], [other]);
  const s = join(root, 's.json');
  writeFileSync(s, '{"keep": true}\n');
  await refused(['llm', 'selfknow', '--model', 'echo:numbers', '--items', '1', '--repeats', '1', '--json', s, '--cache', s], ['--json', '--cache'], [s]);
  assert.equal(readFileSync(s, 'utf8'), '{"keep": true}\n');
});

test('symlinked folders, `..` spellings and hard links name the same file', async () => {
  const { res, dir } = await structure();
  const alias = join(root, 'alias-of-crystal');
  symlinkSync(dir, alias);
  await refused(['crystal', 'assign', '--res', res, '--out', join(alias, basename(res))], ['--out', '--res'], [res]);
  await refused(['crystal', 'assign', '--res', join(alias, basename(res)), '--out', res], ['--out', '--res'], [res]);
  await refused(['crystal', 'assign', '--res', res, '--out', join(dir, 'no-such-folder', '..', basename(res))], ['--out', '--res'], [res]);
  const hard = join(root, 'hard-link.res');
  linkSync(res, hard);
  await refused(['crystal', 'assign', '--res', res, '--out', hard], ['--out', '--res'], [res]);
  // A symlinked file as the output.
  const link = join(root, 'link-to.hkl');
  symlinkSync(res.replace(/\.res$/, '.hkl'), link);
  await refused(['crystal', 'sf', '--cif', res, '--json', link], ['--json'], [res.replace(/\.res$/, '.hkl')]);
  // Two outputs that are one file through a symlinked folder that does not hold the file yet.
  await refused(['crystal', 'sf', '--cif', res, '--json', join(dir, 'new.json'), '--html', join(alias, 'new.json')], ['--json', '--html'], [res]);
});

test('outputs are refused when they are the same file, and inside a folder the command reads', async () => {
  const { res, dir } = await structure();
  await refused(['crystal', 'assign', '--res', res, '--out', join(root, 'x.ins'), '--json', join(root, 'x.ins')], ['--out', '--json'], [res]);
  await refused(['crystal', 'eval', '--data', dir, '--json', join(dir, 'new.cif')], ['--json', '--data'], [res]);
  await refused(['theory', 'regression', '--json', join(root, 'r.json'), '--html', join(root, '.', 'r.json')], ['--json', '--html'], []);
  // The run store every record is indexed in is an input of every command that writes a record.
  const store = join(root, 'store.db');
  writeFileSync(store, 'pretend store');
  await refused(['info', 'nc', '--json', store], ['--json', 'run store'], [store]);
});

test('files the guard must let through: distinct outputs beside the inputs', async () => {
  const { res } = await structure();
  const out = join(root, 'fine', 'assigned.ins');
  const r = await run(['crystal', 'assign', '--res', res, '--out', out, '--json', join(root, 'fine', 'assign.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(out, 'utf8'), /^HKLF/m);
});

// ---------------------------------------------------------------------------------------------
// Every option that names a file or folder, per command: what the command does with it.

type Kind = 'in' | 'out' | 'cache' | 'dir-in' | 'dir-out';
interface Spec {
  /** Options (and positional arguments as `<name>`) that name files, by kind. */
  readonly files: Readonly<Record<string, Kind>>;
  /** Other required options, with values that pass their parsers. */
  readonly base?: readonly string[];
  /** Not run (a server, a job queue): classified only. */
  readonly noRun?: string;
}

const SPECS: Readonly<Record<string, Spec>> = {
  'doctor': { files: { '--json': 'out' } },
  'bench linalg': { files: { '--json': 'out' } },
  'bench train': { files: { '--json': 'out' } },
  'demo': { files: { '--out': 'dir-out' } },
  'theory regression': { files: { '--json': 'out', '--html': 'out' } },
  'theory hmm': { files: { '--json': 'out', '--html': 'out' } },
  'llm make-tiny': { files: { '--out': 'out', '--corpus': 'in' } },
  'llm inspect': { files: { '<file>': 'in', '--json': 'out' } },
  'llm train': { files: { '--data': 'in', '--config': 'in', '--init': 'in', '--out': 'out', '--checkpoint': 'cache', '--json': 'out' } },
  'llm complete': { files: { '--model': 'in', '--schema': 'in', '--json': 'out' }, base: ['--prompt', 'hi'] },
  'llm serve': { files: { '--model': 'in' }, noRun: 'a server: no file outputs' },
  'llm selfknow': { files: { '--model': 'in', '--cache': 'cache', '--samples': 'cache', '--tasks-file': 'in', '--export-finetune': 'out', '--json': 'out', '--html': 'out' } },
  'breakout synth': { files: { '--out': 'out', '--text': 'out' } },
  'breakout label': { files: { '<file>': 'in', '--out': 'out', '--json': 'out' } },
  'breakout eval': { files: { '--data': 'in', '--model': 'in', '--json': 'out', '--html': 'out', '--cache': 'cache', '--samples': 'cache' }, base: ['--pipeline', 'multi'] },
  'breakout backtest': { files: { '--csv': 'in', '--json': 'out', '--html': 'out' } },
  'breakout export': { files: { '--data': 'in', '--out-dir': 'dir-out' } },
  'breakout import-chat': { files: { '<file>': 'in', '--out': 'out', '--json': 'out' } },
  'breakout candles': { files: { '--out': 'out', '--planted': 'out' } },
  'breakout ranges': { files: { '--csv': 'in', '--json': 'out', '--html': 'out' } },
  'info measure': { files: { '--x': 'in', '--y': 'in', '--json': 'out' } },
  'info nc': { files: { '--json': 'out', '--html': 'out' } },
  'info grokking': { files: { '--json': 'out', '--html': 'out' } },
  'info dynamics': { files: { '--json': 'out', '--html': 'out' } },
  'info label-smoothing': { files: { '--json': 'out', '--html': 'out' } },
  'info pruning': { files: { '--json': 'out', '--html': 'out' } },
  'info align': { files: { '--json': 'out', '--html': 'out' } },
  'info semisup': { files: { '--json': 'out', '--html': 'out' } },
  'info lmc': { files: { '--json': 'out', '--html': 'out' } },
  'cil pretrain': { files: { '--out': 'dir-out', '--json': 'out' } },
  'cil run': { files: { '--config': 'in', '--json': 'out', '--html': 'out', '--backbone': 'dir-in', '--checkpoints': 'dir-in', '--features': 'in', '--labels': 'in', '--test-features': 'in', '--test-labels': 'in' }, base: ['--methods', 'simplecil'] },
  'cil merge': { files: { '<records>': 'in', '--json': 'out', '--html': 'out' } },
  'cil features': { files: { '--backbone': 'in', '--images': 'in', '--root': 'dir-in', '--dataset': 'dir-in', '--out': 'cache', '--labels': 'cache', '--json': 'out' } },
  'cil co2l': { files: { '--json': 'out', '--html': 'out', '--checkpoints': 'dir-in' } },
  'cil atlas': { files: { '--json': 'out', '--html': 'out' } },
  'cil fit': { files: { '--backbone': 'in', '--images': 'in', '--root': 'dir-in', '--features': 'in', '--labels': 'in', '--config': 'in', '--out': 'dir-out', '--json': 'out' } },
  'cil predict': { files: { '--model': 'dir-in', '--images': 'in', '--features': 'in', '--backbone': 'in', '--json': 'out', '--csv': 'out' } },
  'cil update': { files: { '--model': 'dir-in', '--images': 'in', '--root': 'dir-in', '--features': 'in', '--labels': 'in', '--backbone': 'in', '--out': 'dir-out', '--json': 'out' } },
  'crystal example': { files: { '--out': 'dir-out' } },
  'crystal sf': { files: { '--cif': 'in', '--hkl': 'in', '--json': 'out', '--html': 'out' } },
  'crystal assign': { files: { '--res': 'in', '--hkl': 'in', '--data': 'dir-in', '--model': 'in', '--train': 'dir-in', '--out': 'out', '--out-dir': 'dir-out', '--json': 'out' } },
  'crystal hydrogens': { files: { '--res': 'in', '--hkl': 'in', '--model': 'in', '--train': 'dir-in', '--out': 'out', '--json': 'out' } },
  'crystal train': { files: { '--corpus': 'dir-in', '--out': 'out', '--json': 'out' } },
  'crystal validate': { files: { '--cif': 'in', '--hkl': 'in', '--json': 'out', '--html': 'out' } },
  'crystal eval': { files: { '--data': 'dir-in', '--model': 'in', '--json': 'out', '--html': 'out' } },
  'crystal swaps': { files: { '--data': 'dir-in', '--json': 'out', '--html': 'out' } },
  'runs import': { files: { '<dir>': 'dir-in', '--store': 'cache' } },
  'runs list': { files: { '--store': 'in' }, noRun: 'reads the store only' },
  'runs show': { files: { '--store': 'in' }, noRun: 'reads the store only' },
  'runs compare': { files: { '--store': 'in' }, noRun: 'reads the store only' },
  'serve': { files: { '--store': 'in' }, noRun: 'a server (the dashboard)' },
  'sweep': { files: { '--config': 'in', '--store': 'cache' }, noRun: 'a job queue' },
  'worker': { files: { '--store': 'cache' }, noRun: 'a job queue' },
};

/** Placeholders that name a file or folder; anything else (<n>, <spec>, <list>) does not. */
const FILE_PLACEHOLDER = /<(file|dir|path|records|ids\.\.\.|f\.npy|l\.npy)[^>]*>|<records\.\.\.>/;

interface Leaf { path: string; cmd: Command }
function leaves(c: Command, prefix: string[] = []): Leaf[] {
  return c.commands.flatMap((s) => (s.commands.length ? leaves(s, [...prefix, s.name()]) : [{ path: [...prefix, s.name()].join(' '), cmd: s }]));
}

test('every option that names a file is classified (a new one must be added here and to its guard)', async () => {
  const unclassified: string[] = [];
  for (const { path, cmd } of leaves(await buildProgram())) {
    const spec = SPECS[path];
    const fileOpts = cmd.options.filter((o) => FILE_PLACEHOLDER.test(o.flags) || (o.long === '--model' && /<spec>/.test(o.flags))).map((o) => o.long!);
    const args = (cmd as unknown as { registeredArguments: { _name: string; variadic: boolean }[] }).registeredArguments
      .filter((a) => /^(file|dir|records)$/.test(a._name)).map((a) => `<${a._name}>`);
    for (const n of [...fileOpts, ...args]) if (!spec || !(n in spec.files)) unclassified.push(`${path} ${n}`);
  }
  assert.deepEqual(unclassified, [], 'options naming files without a row in SPECS');
});

/** Arguments for `path` with each file option pointing at its own fresh path; inputs exist (their content is never read: the guard runs first). */
function argsFor(path: string, spec: Spec, dir: string, override: Record<string, string>): { args: string[]; files: Record<string, string> } {
  const files: Record<string, string> = {};
  const positional: string[] = [];
  const args = [...path.split(' ')];
  for (const [name, kind] of Object.entries(spec.files)) {
    const ext = kind === 'dir-in' || kind === 'dir-out' ? '' : name === '--res' ? '.res' : name === '--cif' ? '.res' : name === '--hkl' ? '.hkl' : '.dat';
    const p = override[name] ?? join(dir, `${name.replace(/[^a-z]/gi, '')}-${kind}${ext}`);
    files[name] = p;
    if (!(name in override)) {
      if (kind === 'in') writeFileSync(p, `input ${name}\n`);
      if (kind === 'dir-in') { mkdirSync(p, { recursive: true }); writeFileSync(join(p, 'keep.json'), '{}\n'); }
    }
    const value = name === '--model' && !path.startsWith('cil ') && !path.startsWith('crystal ') ? `gguf:${p}` : p;
    if (name.startsWith('<')) positional.push(value);
    else args.push(name, value);
  }
  return { args: [...args, ...positional, ...(spec.base ?? [])], files };
}

test('every output option of every command is refused on each input and on each other output', { timeout: 600_000 }, async () => {
  let tried = 0;
  for (const [path, spec] of Object.entries(SPECS)) {
    if (spec.noRun) continue;
    const names = Object.keys(spec.files);
    const outs = names.filter((n) => spec.files[n] === 'out' || spec.files[n] === 'cache');
    const reads = names.filter((n) => spec.files[n] === 'in' || spec.files[n] === 'cache');
    for (const o of outs) {
      // The output option onto each input the command reads (the input file exists, with content).
      for (const i of reads) {
        if (i === o) continue;
        const dir = mkdtempSync(join(root, 'case-'));
        const { args, files } = argsFor(path, spec, dir, {});
        const target = files[i]!;
        writeFileSync(target, `input ${i}\n`);
        const { args: clash } = argsFor(path, spec, dir, { ...files, [o]: target });
        await refused(clash, [o, i], [target]);
        tried++;
        void args;
      }
      // Two outputs that are one file, spelled differently.
      for (const o2 of outs) {
        if (o2 <= o) continue;
        const dir = mkdtempSync(join(root, 'case-'));
        const { files } = argsFor(path, spec, dir, {});
        const p = join(dir, 'same-output.dat');
        const { args: clash } = argsFor(path, spec, dir, { ...files, [o]: p, [o2]: join(dir, '.', 'sub', '..', 'same-output.dat') });
        await refused(clash, [o, o2], Object.entries(files).filter(([n]) => spec.files[n] === 'in').map(([, f]) => f));
        tried++;
      }
      // An output inside a folder the command reads (its checkpoints, its training structures).
      for (const d of names.filter((n) => spec.files[n] === 'dir-in')) {
        const dir = mkdtempSync(join(root, 'case-'));
        const { files } = argsFor(path, spec, dir, {});
        const inner = join(files[d]!, path.startsWith('crystal') ? 'x.cif' : ['cil features', 'cil fit', 'cil update', 'cil predict'].includes(path) ? 'x.png' : path === 'cil co2l' ? 'co2l-seed-0.json' : path === 'cil run' ? 'config.json' : 'x.json');
        writeFileSync(inner, 'read by the command\n');
        const { args: clash } = argsFor(path, spec, dir, { ...files, [o]: inner });
        await refused(clash, [o, d], [inner]);
        tried++;
      }
    }
  }
  assert.ok(tried >= 80, `tried ${tried} clashes`);
});

test('folder outputs: a folder output that is a file, and outputs written into it that are inputs', async () => {
  const dir = mkdtempSync(join(root, 'export-'));
  const data = join(dir, 'w.jsonl');
  assert.equal((await run(['breakout', 'synth', '--n', '8', '--out', data])).code, 0);
  // Exporting into the data's folder is fine, unless an export file is the data itself.
  const ok = await run(['breakout', 'export', '--data', data, '--out-dir', dir]);
  assert.equal(ok.code, 0, ok.stderr);
  const named = join(dir, 'multi.train.jsonl');
  await refused(['breakout', 'export', '--data', named, '--out-dir', dirname(named)], ['--out-dir', '--data'], [named]);
  const r = await run(['cil', 'pretrain', '--dataset', 'synthetic', '--out', data]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--out .* is a file, not a folder/);
});
