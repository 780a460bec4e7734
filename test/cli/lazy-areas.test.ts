// The CLI loads only the area modules a command needs (src/cli/areas.ts). These checks keep the
// entries' metadata equal to what the modules register, so a lazily built program is the same
// program for the command it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { AREA_ENTRIES, DEMO_AREAS, loadAreas } from '../../src/cli/areas.js';
import { buildProgram } from '../../src/cli/index.js';

const names = (p: Command): string[] => p.commands.map((c) => c.name());

test('every area entry names its module, its demo and exactly the top-level commands it registers', async () => {
  for (const e of AREA_ENTRIES) {
    const a = await e.load();
    assert.equal(a.name, e.name, `entry ${e.name}`);
    assert.equal(Boolean(a.demo), e.demo, `demo flag of ${e.name}`);
    const p = new Command();
    a.register(p);
    assert.deepEqual(names(p).sort(), [...e.commands].sort(), `top-level commands of ${e.name}`);
  }
  assert.deepEqual(DEMO_AREAS, (await loadAreas()).filter((a) => a.demo).map((a) => a.name));
});

test('a command registers only its own areas; help, unknown commands and sweeps get every one', async () => {
  const all = await buildProgram();
  assert.deepEqual(names(all), ['doctor', 'bench', 'demo', 'theory', 'llm', 'breakout', 'info', 'cil', 'crystal', 'runs', 'sweep', 'worker', 'serve']);
  assert.deepEqual(names(await buildProgram(['crystal', 'assign', '--help'])), ['crystal']);
  assert.deepEqual(names(await buildProgram(['--debug', 'runs', 'list'])), ['runs']);
  assert.deepEqual(names(await buildProgram(['--version'])), []);
  const cil = await buildProgram(['cil', 'fit']);
  assert.deepEqual(names(cil), ['cil']);
  // The four continual modules add their subcommands to one `cil`, as in the full program.
  assert.deepEqual(cil.commands[0]!.commands.map((c) => c.name()), all.commands.find((c) => c.name() === 'cil')!.commands.map((c) => c.name()));
  for (const argv of [[], ['--help'], ['help', 'crystal'], ['no-such-command'], ['sweep', '--config', 'x'], ['worker'], ['demo']]) {
    assert.deepEqual(names(await buildProgram(argv)), names(all), argv.join(' ') || '(no arguments)');
  }
});
