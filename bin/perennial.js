#!/usr/bin/env node
import { main } from '../dist/cli/index.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`perennial: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
