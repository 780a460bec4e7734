// How much accuracy on the old classes a kept model loses when `cil update` teaches it new classes,
// beside what the same learner loses in `cil run`, on exactly the same rows: for each seed, the
// trainer's split of a feature cache (class order, train rows, test rows) drives both. `cil run`'s
// drop is a[0][0] - a[1][0] of its accuracy matrix; the model's is its top-1 on the test rows of
// the session-1 classes after `fit` minus after `update` (the functions behind `cil fit`,
// `cil update`, `cil predict`). Two sessions (the first half of the classes, then the second).
//
//   node --import tsx reference/continual-update-vs-run.ts --features F.npy --labels L.npy \
//     [--seeds 0,1,2] [--methods simplecil,ranpac,safe,aper] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { initTf } from '../src/core/tensor.js';
import { mean, std } from '../src/core/stats.js';
import { loadFeatureRun } from '../src/continual/features.js';
import { runCil, seedData } from '../src/continual/trainer.js';
import { labelRange } from '../src/continual/scenario.js';
import { fit } from '../src/continual/model.js';
import type { Dataset } from '../src/core/data/dataset.js';

const { values } = parseArgs({ options: { features: { type: 'string' }, labels: { type: 'string' }, seeds: { type: 'string', default: '0,1,2' }, methods: { type: 'string', default: 'simplecil,ranpac,safe,aper' }, json: { type: 'string' } } });
if (!values.features || !values.labels) throw new Error('give --features and --labels');
await initTf();
const seeds = values.seeds!.split(',').map(Number);
const methods = values.methods!.split(',');
const probe = loadFeatureRun({ features: values.features, labels: values.labels });
const C = probe.mini.numClasses;
const split = `B${C / 2}Inc${C / 2}`;
const { mini, backbone } = loadFeatureRun({ features: values.features, labels: values.labels, split });
// Both sides take the learners' defaults (`cil run`'s too: RanPAC and SAFE with M = 2048), so only the workflow differs.
const methodOptions: Record<string, Record<string, unknown>> = {};
const asRows = (ds: Dataset): { rows: Float32Array; d: number; labels: string[] } => ({ rows: ds.x, d: ds.d, labels: Array.from(ds.y, (v) => `c${v}`) });
const topOne = (m: Awaited<ReturnType<typeof fit>>, ds: Dataset): number => {
  const p = m.predict(ds.x, 1);
  let c = 0;
  p.forEach((r, i) => { if (r.top[0].label === `c${ds.y[i]}`) c++; });
  return (100 * c) / ds.n;
};
const rows: { method: string; seed: number; run_before: number; run_after: number; model_before: number; model_after: number; model_new: number; run_new: number }[] = [];
for (const seed of seeds) {
  const r = await runCil(mini, backbone, { split, seeds: [seed], methods, methodOptions });
  const { scenario, train, test } = seedData(mini, split, seed);
  const [s1, s2] = scenario.sessions;
  const oldTest = labelRange(test, 0, s1.seen), newTest = labelRange(test, s1.seen, s2.seen);
  for (const method of methods) {
    const e = r.runs.find((x) => x.method === method)!;
    const m = await fit({ data: asRows(labelRange(train, 0, s1.seen)), config: { method, seed, options: methodOptions[method] ?? {} } });
    const before = topOne(m, oldTest);
    await m.update(asRows(labelRange(train, s1.seen, s2.seen)));
    rows.push({ method, seed, run_before: e.acc_matrix[0][0], run_after: e.acc_matrix[1][0], run_new: e.acc_matrix[1][1], model_before: before, model_after: topOne(m, oldTest), model_new: topOne(m, newTest) });
    await m.dispose();
    process.stderr.write(`seed ${seed} ${method} done\n`);
  }
}
const f = (v: number): string => v.toFixed(1);
process.stdout.write(`${split} on ${mini.description}; seeds ${seeds.join(',')}\n`);
process.stdout.write('| method | cil run: old classes after session 1 -> 2 | drop | cil fit -> update: old classes | drop | new classes (run / update) |\n|---|---|---|---|---|---|\n');
for (const method of methods) {
  const rs = rows.filter((x) => x.method === method);
  const dr = rs.map((x) => x.run_before - x.run_after), dm = rs.map((x) => x.model_before - x.model_after);
  const ms = (v: number[]): string => `${f(mean(v))} ± ${f(v.length > 1 ? std(v) : 0)}`;
  process.stdout.write(`| ${method} | ${f(mean(rs.map((x) => x.run_before)))} -> ${f(mean(rs.map((x) => x.run_after)))} | ${ms(dr)} | ${f(mean(rs.map((x) => x.model_before)))} -> ${f(mean(rs.map((x) => x.model_after)))} | ${ms(dm)} | ${f(mean(rs.map((x) => x.run_new)))} / ${f(mean(rs.map((x) => x.model_new)))} |\n`);
}
if (values.json) writeFileSync(values.json, JSON.stringify({ split, seeds, rows }, null, 1));
