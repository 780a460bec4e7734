// The `perennial` command: a thin layer over the areas' public APIs.
import { Command, CommanderError } from 'commander';
import { InputError, NumericalError, ParseError } from '../core/errors.js';
import { versions } from '../core/record.js';
import { AREAS } from './areas.js';
import { registerDemo } from './demo.js';
import { registerCore } from './core.js';

export function buildProgram(): Command {
  const program = new Command();
  program.name('perennial').description('continual learning, matrix information, theory, LLM evaluation, breakout detection and crystallography').version(versions().perennial ?? '0.0.0');
  program.exitOverride();
  registerCore(program);
  registerDemo(program);
  for (const a of AREAS) a.register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof ParseError || e instanceof InputError || e instanceof NumericalError) {
      process.stderr.write(`perennial: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
