// The info area's demo miniature (`perennial demo`): the Neural Collapse sweep, grokking and
// training dynamics (plus the alignment run in full mode).
import { SectionBuilder, type Section } from '../core/report.js';
import { runAlign } from './align.js';
import { collapseSweep } from './collapse.js';
import { alignSection, collapseSection, dynamicsSection, grokkingSection } from './sections.js';
import { GROKKING_QUICK, runGrokking, type GrokkingOptions } from './grokking.js';
import { runDynamics, SUPERVISED_QUICK } from './experiments.js';

/** The grokking settings in words, for a report's caption. */
export function grokSettings(o: Partial<GrokkingOptions>): string {
  return `Embedding MLP (${o.embed ?? 'default'}-D embeddings per operand, ${o.hidden ?? 'default'} ReLU features), full batch, Adam with decoupled weight decay ${o.weightDecay ?? 'default'} (AdamW-style), lr ${o.lr ?? 'default'}, ${Math.round((o.trainFraction ?? 0) * 100)}% of pairs for training`;
}

/** The info miniature of `perennial demo`. */
export async function infoDemo(ctx: { seed: number; quick: boolean }): Promise<{ sections: Section[]; metrics: Record<string, unknown> }> {
  const sections: Section[] = [];
  const t0 = performance.now();
  const nc = collapseSweep({ seed: ctx.seed });
  sections.push(collapseSection(nc));
  const grokOpts: Partial<GrokkingOptions> = ctx.quick ? { ...GROKKING_QUICK, seed: ctx.seed } : { seed: ctx.seed };
  const tg = performance.now();
  const grok = await runGrokking(grokOpts);
  const grokSeconds = (performance.now() - tg) / 1000;
  sections.push(grokkingSection([grok], `${grokSettings({ ...GROKKING_QUICK, ...grokOpts })}; ${grokSeconds.toFixed(0)} s on this machine`));
  const supQuick = ctx.quick ? { ...SUPERVISED_QUICK, seeds: 2, epochs: 4 } : {};
  const dyn = await runDynamics({ ...supQuick, seed: ctx.seed });
  sections.push(dynamicsSection(dyn));
  const align = ctx.quick ? null : await runAlign({ seed: ctx.seed });
  if (align) sections.push(alignSection(align));
  else sections.push(new SectionBuilder('info: further commands').text('The quick demo runs the Neural Collapse sweep, grokking and training dynamics. `perennial info align | semisup | label-smoothing | pruning` run the other miniatures (each with --quick), and `perennial demo --full` adds the alignment run here.').build());
  return {
    sections,
    metrics: {
      nc_mir_at_zero_noise: nc.mir.at(-1), mir_collapse: nc.mir_collapse, nc_hdr_at_zero_noise: nc.hdr.at(-1),
      grokking: { epoch_train_100: grok.epoch_train_100, epoch_test_90: grok.epoch_test_90, grokked: grok.grokked, seconds: grokSeconds },
      dynamics: { acc_ce: dyn.variants[0].final_acc, acc_info: dyn.variants[1].final_acc, acc_diff: dyn.acc_diff },
      ...(align ? { align: { diff: align.diff } } : {}),
      seconds: (performance.now() - t0) / 1000,
    },
  };
  }
