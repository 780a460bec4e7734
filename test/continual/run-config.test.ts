// `cil run --config`: every shipped experiment in configs/ validates and names only known methods;
// an unknown or mistyped key is an error naming the file, its line and the key; flags given on the
// command line override the file; the record stores the resolved config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParseError } from '../../src/core/errors.js';
import { gaussianMixture } from '../../src/core/data/synthetic.js';
import { writeNpy } from '../../src/core/data/npy.js';
import { Rng } from '../../src/core/rng.js';
import { main } from '../../src/cli/index.js';
import { readRunConfig, RUN_CONFIG_KEYS, camelKey } from '../../src/continual/run-config.js';
import { LEARNERS } from '../../src/continual/registry.js';
import { expandMethods } from '../../src/continual/methods/co2l.js';
import { continualCli } from '../../src/cli/continual.js';
import { continualCilaCli } from '../../src/cli/continual-cila.js';
import { Command } from 'commander';
import { parseSeeds, parseStringList } from '../../src/cli/util.js';

const CONFIGS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');

test('every file in configs/ validates, and names methods that exist', () => {
  const files = readdirSync(CONFIGS).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 7, `configs: ${files.join(', ')}`);
  for (const f of files) {
    const c = readRunConfig(join(CONFIGS, f));
    assert.ok(c.methods, `${f}: no methods`);
    const methods = typeof c.methods === 'string' ? parseStringList(c.methods) : c.methods;
    const co2l = methods.filter((m) => /^(co2l|cila)(-|$)/.test(m));
    if (co2l.length) expandMethods(co2l); // throws on an unknown Co2L/CILA name
    for (const m of methods) if (!co2l.includes(m)) assert.ok(m === 'atlas' || LEARNERS.has(m), `${f}: unknown method ${m}`);
    if (typeof c.seeds === 'string') parseSeeds(c.seeds);
  }
});

test('every cil run flag is a config key, and every config key a cil run flag', () => {
  const program = new Command();
  continualCli.register(program);
  continualCilaCli.register(program);
  const run = program.commands.find((c) => c.name() === 'cil')!.commands.find((c) => c.name() === 'run')!;
  const flags = run.options.map((o) => o.long!.replace(/^--/, '')).filter((f) => f !== 'config').sort();
  assert.deepEqual(flags, [...RUN_CONFIG_KEYS].sort());
  assert.equal(camelKey('drift-compensation'), 'driftCompensation');
});

test('an unknown or mistyped key names the file, the line and the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cil-config-'));
  const f = join(dir, 'exp.yaml');
  writeFileSync(f, '# an experiment\nmethods: [safe]\ndrift-compensaton: true\nseeds: 2\n');
  assert.throws(() => readRunConfig(f), (e: unknown) => e instanceof ParseError && e.message.startsWith(`${f}:3 (drift-compensaton)`) && /a cil run key/.test(e.message));
  writeFileSync(f, 'methods: [safe]\nseeds: 2\nm: big\n');
  assert.throws(() => readRunConfig(f), (e: unknown) => e instanceof ParseError && e.message.startsWith(`${f}:3 (m)`) && /"big"/.test(e.message));
  const j = join(dir, 'exp.json');
  writeFileSync(j, '{\n  "methods": ["simplecil"],\n  "seeds": [0, 1],\n  "quick": "yes"\n}\n');
  assert.throws(() => readRunConfig(j), (e: unknown) => e instanceof ParseError && e.message.startsWith(`${j}:4 (quick)`));
  writeFileSync(j, '{"methods": ["simplecil"], "seeds": [0, 1]}');
  assert.deepEqual(readRunConfig(j), { methods: ['simplecil'], seeds: [0, 1] });
});

test('cil run --config on a feature cache: flags override the file, the record stores the resolved config', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cil-config-run-'));
  const ds = gaussianMixture({ classes: 4, perClass: 30, dim: 12 }, new Rng(5));
  writeNpy(join(dir, 'f.npy'), ds.x, [ds.n, ds.d]);
  writeNpy(join(dir, 'l.npy'), ds.y, [ds.n]);
  const cfg = join(dir, 'exp.yaml');
  const json = join(dir, 'out.json');
  writeFileSync(cfg, `methods: simplecil\nfeatures: ${join(dir, 'f.npy')}\nlabels: ${join(dir, 'l.npy')}\nsplit: B2Inc1\nseeds: 3\njson: ${join(dir, 'unused.json')}\n`);
  assert.equal(await main(['cil', 'run', '--config', cfg, '--seeds', '2', '--json', json]), 0);
  const rec = JSON.parse(readFileSync(json, "utf8")) as { run: { config: { resolved_config: Record<string, unknown> } }; seeds: number[]; split: string };
  assert.deepEqual(rec.seeds, [0, 1], 'the flag wins over the file');
  assert.equal(rec.split, 'B2Inc1');
  assert.deepEqual(rec.run.config.resolved_config.methods, ['simplecil']);
  assert.deepEqual(rec.run.config.resolved_config.seeds, [0, 1]);
  assert.equal(rec.run.config.resolved_config.json, json);
  assert.equal(rec.run.config.resolved_config.config, cfg);
  // A key that does not apply to the methods is refused, naming the flag.
  writeFileSync(cfg, `methods: [simplecil]\nshots: 4\njson: ${json}\n`);
  assert.equal(await main(['cil', 'run', '--config', cfg]), 2);
});
