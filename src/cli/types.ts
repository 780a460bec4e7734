// The contract between the CLI and each area: an area registers its commands and may offer a
// demo section (its miniature on embedded defaults, quick enough for `perennial demo`).
import type { Command } from 'commander';
import type { Section } from '../core/report.js';

export interface DemoContext {
  /** Folder for this demo's files (records, models the demo writes itself). */
  readonly outDir: string;
  readonly seed: number;
  /** Quick mode: the settings `perennial demo` uses by default. */
  readonly quick: boolean;
}

export interface DemoResult {
  readonly sections: readonly Section[];
  /** Headline numbers for the demo's JSON record. */
  readonly metrics: Record<string, unknown>;
}

export interface AreaCli {
  readonly name: string;
  register(program: Command): void;
  demo?(ctx: DemoContext): Promise<DemoResult>;
}
