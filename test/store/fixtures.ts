// Records for the store tests, written in this process through the same writeRecord every
// command uses (so they are indexed by the same hook): two variants x shared seeds, with a curve
// and an accuracy matrix each.
import { join } from 'node:path';
import { RunRecorder, writeRecord } from '../../src/core/record.js';
import { closeIndexStore } from '../../src/core/store/hook.js';

export interface Fixture { readonly paths: string[] }

/** Writes records under `dir` into the store at `storePath`; accuracy = base + lr effect + seed noise. */
export function writeFixtureRecords(dir: string, storePath: string, seeds: readonly number[] = [0, 1, 2], methods: readonly string[] = ['ewc', 'replay']): Fixture {
  const prev = process.env.PERENNIAL_STORE;
  process.env.PERENNIAL_STORE = storePath;
  const paths: string[] = [];
  try {
    for (const method of methods) {
      for (const seed of seeds) {
        const rec = new RunRecorder('fake train', { method, dataset: 'toy', lr: method === 'ewc' ? 0.1 : 0.01, seed }, seed);
        const bump = method === 'replay' ? 0.05 : 0;
        const noise = [0.01, -0.02, 0.015, 0.0, -0.01][seed % 5]!;
        const curve = [0.5, 0.6, 0.7, 0.75].map((v) => v + bump + noise);
        const matrix = [[0.9 + noise, 0], [0.6 + bump, 0.8 + noise]];
        const p = join(dir, `${method}-s${seed}.json`);
        writeRecord(p, rec.finish({ final_accuracy: curve.at(-1), accuracy_curve: curve, accuracy_matrix: matrix, nested: { forgetting: 0.3 - bump + noise } }));
        paths.push(p);
      }
    }
  } finally {
    closeIndexStore();
    if (prev === undefined) delete process.env.PERENNIAL_STORE; else process.env.PERENNIAL_STORE = prev;
  }
  return { paths };
}
