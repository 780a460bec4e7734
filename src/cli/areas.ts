// Every area's CLI, in the order `perennial demo` runs them and `--help` lists them. Each entry
// names the top-level commands its module registers, so a command loads only the modules (and the
// libraries under them: tfjs, vega, sharp, onnxruntime, bullmq) it needs; `perennial crystal ...`
// never pays for tfjs at start-up. Help, an unknown command, `demo` and the sweep commands (whose
// check needs every command) load them all. test/cli/lazy-areas.test.ts keeps names and demo flags
// equal to the modules'.
import type { AreaCli } from './types.js';

export interface AreaEntry {
  /** The AreaCli's own name. */
  readonly name: string;
  /** The top-level commands its module registers. */
  readonly commands: readonly string[];
  /** Whether it has a demo section (`perennial demo --only` lists these without loading them). */
  readonly demo: boolean;
  /** Commands of this entry need every area registered (the sweep check validates job commands). */
  readonly needsAll?: boolean;
  load(): Promise<AreaCli>;
}

export const AREA_ENTRIES: readonly AreaEntry[] = [
  { name: 'core', commands: ['doctor', 'bench'], demo: false, load: async () => (await import('./core.js')).coreCli },
  { name: 'demo', commands: ['demo'], demo: false, needsAll: true, load: async () => (await import('./demo.js')).demoCli },
  { name: 'theory', commands: ['theory'], demo: true, load: async () => (await import('./theory.js')).theoryCli },
  { name: 'llm', commands: ['llm'], demo: true, load: async () => (await import('./llm.js')).llmCli },
  { name: 'breakout', commands: ['breakout'], demo: true, load: async () => (await import('./breakout.js')).breakoutCli },
  { name: 'info', commands: ['info'], demo: true, load: async () => (await import('./info.js')).infoCli },
  { name: 'continual', commands: ['cil'], demo: true, load: async () => (await import('./continual.js')).continualCli },
  { name: 'cil-features', commands: ['cil'], demo: true, load: async () => (await import('./continual-features.js')).continualFeaturesCli },
  { name: 'crystal', commands: ['crystal'], demo: true, load: async () => (await import('./crystal.js')).crystalCli },
  { name: 'cil-cila', commands: ['cil'], demo: true, load: async () => (await import('./continual-cila.js')).continualCilaCli },
  { name: 'runs', commands: ['runs'], demo: false, load: async () => (await import('./runs.js')).runsCli },
  { name: 'sweep', commands: ['sweep', 'worker'], demo: false, needsAll: true, load: async () => (await import('./sweep.js')).sweepCli },
  { name: 'serve', commands: ['serve'], demo: false, load: async () => (await import('./serve.js')).serveCli },
  { name: 'cil-model', commands: ['cil'], demo: false, load: async () => (await import('./continual-model.js')).continualModelCli },
];

/** Names of the areas with a demo section, in demo order. */
export const DEMO_AREAS: readonly string[] = AREA_ENTRIES.filter((e) => e.demo).map((e) => e.name);

/**
 * The area CLIs to register for `command` (the first word after the global options), in the
 * entries' order: those registering it, or every one when the command is absent, unknown or needs
 * them all. `null` loads every one.
 */
export async function loadAreas(command: string | null = null): Promise<AreaCli[]> {
  const own = command === null ? [] : AREA_ENTRIES.filter((e) => e.commands.includes(command));
  const picked = own.length === 0 || own.some((e) => e.needsAll) ? AREA_ENTRIES : own;
  return Promise.all(picked.map((e) => e.load()));
}
