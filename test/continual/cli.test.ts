import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { continualCli, parseSeeds } from '../../src/cli/continual.js';
import { methodOptionsFor } from '../../src/continual/index.js';

test('seed lists: count, range, list; bad input is an error', () => {
  assert.deepEqual(parseSeeds('3'), [0, 1, 2]);
  assert.deepEqual(parseSeeds('4..6'), [4, 5, 6]);
  assert.deepEqual(parseSeeds('1,7'), [1, 7]);
  assert.throws(() => parseSeeds('0'), /at least one seed/);
  assert.throws(() => parseSeeds('5..2'), /empty range/);
  assert.throws(() => parseSeeds('a'), /integer/);
  assert.deepEqual(parseSeeds('3..3'), [3]);
  assert.throws(() => parseSeeds('3,3'), /seed 3 is listed twice/);
});

test('the cil command group has pretrain, run and merge; --m sets both projection sizes', () => {
  const program = new Command();
  continualCli.register(program);
  const cil = program.commands.find((c) => c.name() === 'cil');
  assert.ok(cil);
  assert.deepEqual(cil.commands.map((c) => c.name()).sort(), ['merge', 'pretrain', 'run']);
  const o = methodOptionsFor({ m: 512, oracle: true });
  assert.deepEqual(o.ranpac, { projections: { ranpac: 512, 'ranpac-m0': 0 } });
  assert.deepEqual(o.safe, { M: 512, oracleDiagnostic: true });
});
