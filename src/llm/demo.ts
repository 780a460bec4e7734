// The llm section of `perennial demo`: the self-knowledge harness run end to end on the project's
// tiny character-bigram GGUF over three seeds, beside an echo stub that checks the verification
// prompt leaks no claim.
import { SectionBuilder, type Section } from '../core/report.js';
import { mean, meanStd, std } from '../core/stats.js';
import { LlamaCppProvider } from './llamacpp.js';
import { reportRecord, runSelfKnowledge, selfKnowledgeSection, type SelfKnowledgeReport } from './selfknow.js';
import { selectTasks } from './tasks.js';
import { EchoProvider } from './testing.js';
import { writeTinyGguf } from './tiny.js';

export interface SelfKnowledgeDemo {
  readonly sections: Section[];
  readonly metrics: Record<string, unknown>;
  /** The first seed's run record (the demo's selfknow.json). */
  readonly record: ReturnType<typeof reportRecord>;
}

/** Writes the tiny bigram model to `modelPath` and evaluates it; `quick` uses 3 items x 2 repeats per task (else 40 x 3). */
export async function selfKnowledgeDemo(modelPath: string, seed: number, quick: boolean): Promise<SelfKnowledgeDemo> {
  const m = writeTinyGguf(modelPath, { seed });
  const items = quick ? 3 : 40;
  const repeats = quick ? 2 : 3;
  const seeds = [seed, seed + 1, seed + 2];
  const tasks = selectTasks('all');
  const provider = new LlamaCppProvider({ modelPath, threads: 1 });
  const runs: SelfKnowledgeReport[] = [];
  const leaks: SelfKnowledgeReport[] = [];
  try {
    for (const s of seeds) {
      runs.push(await runSelfKnowledge(tasks, provider, { items, repeats, seed: s }));
      leaks.push(await runSelfKnowledge(tasks, new EchoProvider('numbers'), { items, repeats: 1, seed: s, quiet: true }));
    }
  } finally {
    await provider.close();
  }
  const r = runs[0];
  // Mean +- std over seeds, with the baselines beside the model.
  const over = (reports: readonly SelfKnowledgeReport[], id: string, key: 'self_consistency' | 'generation_correct' | 'verification_correct' | 'baseline_modal_self_consistency'): string => {
    const xs = reports.map((x) => x.tasks[id][key]).filter((v): v is number => v !== null);
    return xs.length ? meanStd(xs, 3) : 'n/a';
  };
  const seedRows = tasks.map((t) => [t.id, over(runs, t.id, 'self_consistency'), over(runs, t.id, 'generation_correct'), over(runs, t.id, 'verification_correct'), over(runs, t.id, 'baseline_modal_self_consistency'), over(leaks, t.id, 'self_consistency')]);
  const fixedIds = ['word_count', 'sentence_count', 'char_count', 'json_structure'];
  const leakFixed = mean(leaks.flatMap((l) => fixedIds.map((id) => l.tasks[id]?.self_consistency ?? 0)));
  const overallS = runs.map((x) => x.overall.self_consistency ?? 0);
  const section = selfKnowledgeSection(r, `LLM self-knowledge (tiny bigram model, seed ${seed}: harness check, not a result)`);
  const note = new SectionBuilder('LLM self-knowledge: spread over seeds and baselines')
    .table(['task', 'S', 'G', 'V', 'modal-answer baseline S', 'echo leak stub S'], seedRows, `Mean ± std over seeds ${seeds.join(', ')} (${items} items x ${repeats} repeats per task and seed)`)
    .text(
      `The model is the project's ${m.bytes.length}-byte character-bigram GGUF (vocabulary ${m.vocab.tokens.length}), written by the demo and run in-process by llama.cpp with 1 thread. It solves no task, so these numbers only show that the harness runs end to end: true/false claims (theorem) and the small integers it repeats let it agree with itself by chance, which the modal-answer baseline makes visible. ` +
      `Leak check: a stub echoing the first number of each prompt reaches S = ${leakFixed.toFixed(3)} on the tasks whose claim the prompt fixes (word, sentence, character and JSON counts); it must stay far from 1, since the verification prompt does not contain the claim. On model-stated claims a constant answer agrees with itself, which G exposes.`,
    ).build();
  return {
    sections: [section, note],
    record: reportRecord(r),
    metrics: {
      model_bytes: m.bytes.length,
      seeds,
      self_consistency_mean: mean(overallS),
      self_consistency_std: std(overallS),
      generation_correct: r.overall.generation_correct,
      verification_correct: r.overall.verification_correct,
      parse_failures: r.overall.parse_failures,
      leak_baseline_self_consistency_fixed_claims: leakFixed,
      runs_per_minute: r.throughput.pairs_per_minute,
    },
  };
}
