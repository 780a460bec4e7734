// One-off: writes test/fixtures/estimators-parity.json from the implementations before
// core/estimators (breakout/learned.ts and crystal/learn.ts's own LogisticRegression classes).
import { writeFileSync } from 'node:fs';
import { LogisticRegression as BreakoutLR } from '../../src/breakout/learned.js';
import { LogisticRegression as CrystalLR } from '../../src/crystal/learn.js';
import { binaryData, callSites, multiData } from './estimators-parity-cases.js';

const b = binaryData(1, 300, 6), bt = binaryData(2, 40, 6);
const blr = new BreakoutLR().fit(b.x, b.y);
const blr2 = new BreakoutLR({ l2: 1, maxIter: 3 }).fit(b.x, b.y);
const m = multiData(3, 240, 4), mt = multiData(4, 30, 4);
const clr = new CrystalLR().fit(m.x, m.y);
const clr2 = new CrystalLR({ l2: 0, epochs: 40, lr: 0.2 }).fit(m.x, m.y);
const out = {
  breakout_logistic: {
    default: { params: Array.from(blr.parameters()), iterations: blr.describe().iterations, proba: bt.x.map((r) => blr.predictProba(r)) },
    l2_1_iter3: { params: Array.from(blr2.parameters()), iterations: blr2.describe().iterations, proba: bt.x.map((r) => blr2.predictProba(r)) },
  },
  crystal_logistic: {
    default: { classes: [...clr.classes], proba: clr.predictProba(mt.x).map((p) => Array.from(p)), allowed: clr.predictProba(mt.x, ['c', 'a']).map((p) => Array.from(p)) },
    l2_0_e40: { classes: [...clr2.classes], proba: clr2.predictProba(mt.x).map((p) => Array.from(p)) },
  },
  call_sites: await callSites(),
};
writeFileSync(new URL('../fixtures/estimators-parity.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
