// `npm run bench -- llm-train [--quick]` (or `node --import tsx bench/llm-train.bench.ts --json F [--quick]`):
// tokens/s of the small llama trainer in perennial's engine and in PyTorch CPU, same architecture, same run.
import { benchLlamaTrain } from '../src/llm/train/bench.js';

const args = process.argv.slice(2);
const ji = args.indexOf('--json');
await benchLlamaTrain({ quick: args.includes('--quick'), json: ji >= 0 ? args[ji + 1] : undefined });
