// The info runs whose parameters are built by core/nn (InfoMlp in train.ts, the grokking MLP):
// small settings of grokking, dynamics, label smoothing, pruning, align and semisup on synthetic
// data (seconds), and the --quick settings of `info grokking` and `info dynamics --synthetic`
// (about half a minute). Wall-clock fields are dropped; everything else must
// match the numbers captured before the switch to core/nn's variables.
import { GROKKING_QUICK, runGrokking } from '../../src/info/grokking.js';
import { SUPERVISED_QUICK, runDynamics, runLabelSmoothing, runPruning } from '../../src/info/experiments.js';
import { runAlign } from '../../src/info/align.js';
import { runSemisup } from '../../src/info/semisup.js';

const SUP = { synthetic: true, seeds: 2, epochs: 2, trainSize: 640, testSize: 300, hidden: 32, features: 16 } as const;

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') {
    // `reasons` (why a paired interval is undefined) came after the capture; it carries no number.
    return Object.fromEntries(Object.entries(v).filter(([k]) => !/seconds|wall|_s$/.test(k) && k !== 'reasons').map(([k, x]) => [k, strip(x)]));
  }
  return v;
}

/** A result without the fields added after the capture (settings echoed into the record, not metrics). */
function without<T extends object>(r: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(r).filter(([k]) => !keys.includes(k))) as Partial<T>;
}

export async function nnParityMetrics(): Promise<Record<string, unknown>> {
  return strip({
    grokking: await runGrokking({ p: 11, trainFraction: 0.5, embed: 8, hidden: 16, maxEpochs: 40, every: 10, lr: 1e-2, stopAfterGrok: 0 }),
    dynamics: await runDynamics(SUP),
    label_smoothing: await runLabelSmoothing({ ...SUP, seeds: 1 }),
    pruning: await runPruning({ ...SUP, seeds: 1 }, [0.5, 0.9], 1),
    align: without(await runAlign({ synthetic: true, seeds: 1, epochs: 1, trainSize: 400, testSize: 200 }), ['text']),
    // Without the fairness term (added after the capture) the learner is the captured one.
    semisup: without(await runSemisup({ synthetic: true, seeds: 1, steps: 15, unlabeled: 300, testSize: 200, labelsPerClass: 4, lambdaFair: 0 }), ['steps', 'lambda_u', 'lambda_fair', 'lambda_mi', 'lambda_hd']),
  }) as Record<string, unknown>;
}

/** `perennial info grokking --quick` and `perennial info dynamics --quick --synthetic`, seed 0. */
export async function nnParityQuickMetrics(): Promise<Record<string, unknown>> {
  return strip({
    grokking_quick: await runGrokking({ ...GROKKING_QUICK, seed: 0 }),
    dynamics_quick: await runDynamics({ ...SUPERVISED_QUICK, seed: 0, synthetic: true }),
  }) as Record<string, unknown>;
}
