// `npm run bench -- train [--quick]` (or `node --import tsx bench/train.bench.ts --json F [--quick]`):
// steps/s of a 784-256-10 MLP in perennial's engine and in PyTorch CPU, measured in the same run.
import { benchTrain } from '../src/core/bench/index.js';

const args = process.argv.slice(2);
const ji = args.indexOf('--json');
await benchTrain({ quick: args.includes('--quick'), json: ji >= 0 ? args[ji + 1] : undefined });
