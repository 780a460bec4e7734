// `perennial crystal ...` in-process, as the crystal tests drive it (commander errors thrown, not exited).
import { Command } from 'commander';
import { crystalCli } from '../../src/cli/crystal.js';

export function runCrystal(args: string[]): Promise<unknown> {
  const p = new Command();
  p.exitOverride();
  crystalCli.register(p);
  return p.parseAsync(['crystal', ...args], { from: 'user' });
}
