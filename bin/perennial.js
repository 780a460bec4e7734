#!/usr/bin/env node
// Failures are one line (`perennial: <what> <path>: <reason>`); --debug adds the stack trace.
const debug = process.argv.includes('--debug') || process.env.PERENNIAL_DEBUG === '1';

function fail(e) {
  process.stderr.write(`perennial: ${e && e.message ? e.message : String(e)}\n`);
  if (debug && e && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}

let cli;
try {
  cli = await import('../dist/cli/index.js');
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist')) {
    process.stderr.write('perennial: the compiled CLI (dist/) is missing: run `npm run build`\n');
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  }
  fail(e);
}

cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    // main() prints its own failures; this is only reached if printing itself failed.
    const d = cli.describeFailure ? cli.describeFailure(e) : null;
    if (d) {
      process.stderr.write(`perennial: ${d.line}\n`);
      if (debug && e && e.stack) process.stderr.write(`${e.stack}\n`);
      process.exit(d.code);
    }
    fail(e);
  },
);

// An error thrown outside the command's promise (a server socket, a stream) is still one line.
process.on('uncaughtException', (e) => {
  const d = cli && cli.describeFailure ? cli.describeFailure(e) : null;
  if (d) {
    process.stderr.write(`perennial: ${d.line}\n`);
    if (debug && e && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(d.code);
  }
  fail(e);
});
