// Reference check: perennial's continual code against the PyTorch implementation in
// reference/torch/cil_miniature.py on exactly the same rows (a shrunk Fashion-MNIST miniature,
// written by `exportMiniature`) and the same backbone weights, in both directions:
//  1. a perennial-pretrained backbone loaded by PyTorch: SimpleCIL (deterministic given the
//     backbone) agrees to 0.3 points, so the feature extractors and the prototype head agree;
//  2. a PyTorch-pretrained backbone written in perennial's checkpoint format loads here (hash
//     verified) and perennial's SimpleCIL on it agrees with PyTorch's to 0.3 points.
// The trained methods (RanPAC, SAFE) use different random streams in the two implementations, so
// their agreement is measured by `bench/continual-miniature.bench.ts`, not asserted here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initTf } from '../src/core/tensor.js';
import { findFashionMnist } from '../src/core/data/idx.js';
import { loadMiniature, shrinkMiniature } from '../src/continual/data.js';
import { loadBackbone, pretrainBackbone, saveBackbone } from '../src/continual/pretrain.js';
import { exportMiniature, runCil } from '../src/continual/trainer.js';
import { ensurePython, PYTHON } from './peers.js';

let failed = 0;
const check = (name: string, ok: boolean, detail: string): void => {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`);
  if (!ok) failed++;
};

if (!findFashionMnist()) {
  check('Fashion-MNIST present', false, 'install Debian dataset-fashion-mnist');
  process.exit(1);
}
if (!ensurePython('torch', 'python3-torch')) {
  check('PyTorch present', false, 'apt-get install python3-torch');
  process.exit(1);
}
await initTf();
const here = new URL('.', import.meta.url).pathname;
const script = resolve(here, 'torch/cil_miniature.py');
const work = mkdtempSync(join(tmpdir(), 'cil-torch-check-'));
try {
  const mini = shrinkMiniature(loadMiniature('fashion-mnist'), { pretrain: 200, cil: 100, test: 100 });
  const data = join(work, 'data');
  exportMiniature(mini, 'B2Inc2', [0], data);
  const torchRun = (extra: string[]): { summary: Record<string, { last_acc_mean: number }> } => {
    const r = spawnSync(PYTHON, [script, '--data', data, '--methods', 'simplecil', '--threads', '2', ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`cil_miniature.py failed (exit ${r.status})`);
    const lines = r.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]!);
  };
  const ours = async (bb: Parameters<typeof runCil>[1]): Promise<number> =>
    (await runCil(mini, bb, { split: 'B2Inc2', seeds: [0], methods: ['simplecil'] })).summary.simplecil!.last_acc_mean;

  // 1. Our backbone in PyTorch.
  const { backbone, manifest } = pretrainBackbone(mini, { seed: 0, train: { epochs: 2 } });
  const ourDir = join(work, 'ours-bb');
  saveBackbone(ourDir, backbone, manifest);
  const a = await ours(backbone), b = torchRun(['--load-backbone', ourDir]).summary.simplecil!.last_acc_mean;
  check('SimpleCIL on a perennial backbone: perennial vs PyTorch', Math.abs(a - b) <= 0.3, `${a.toFixed(2)} vs ${b.toFixed(2)}`);

  // 2. A PyTorch backbone here.
  const torchDir = join(work, 'torch-bb');
  const c = torchRun(['--pretrain-epochs', '2', '--save-backbone', torchDir]).summary.simplecil!.last_acc_mean;
  const loaded = loadBackbone(torchDir);
  const sha = JSON.parse(readFileSync(join(torchDir, 'manifest.json'), 'utf8')).sha256 as string;
  check('PyTorch checkpoint loads with its hash', loaded.manifest.sha256 === sha, sha.slice(0, 12));
  const d = await ours(loaded.backbone);
  check('SimpleCIL on a PyTorch backbone: perennial vs PyTorch', Math.abs(c - d) <= 0.3, `${d.toFixed(2)} vs ${c.toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
