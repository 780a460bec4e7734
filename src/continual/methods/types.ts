// The interface every continual learner implements, and what the trainer hands it per session.
// Learners never receive test data: the trainer calls `predict` on it and scores the logits.
import type { Dataset } from '../../core/data/dataset.js';
import type { Rng } from '../../core/rng.js';
import type { Backbone } from '../backbones/types.js';
import type { SessionInfo } from '../scenario.js';

export interface SessionData {
  readonly info: SessionInfo;
  /** This session's training rows (remapped labels, this session's classes only). */
  readonly train: Dataset;
  /** This session's validation rows. */
  readonly val: Dataset;
  /** Validation rows of every class seen so far (for choosing hyperparameters such as SAFE's gamma). */
  readonly valSeen: Dataset;
  /** The replay buffer the trainer keeps for a learner that declares `replay` (null before the first session's rows enter it). */
  readonly replay?: Dataset | null;
}

export interface LearnerContext {
  readonly backbone: Backbone;
  readonly numClasses: number;
  /** The run's seed (projection, initialisation, batch order derive from it). */
  readonly seed: number;
  readonly rng: Rng;
  /** Domain-incremental streams: classes per domain (logits then cover these classes; see `SeedStream`). */
  readonly domainClasses?: number;
  /** What the stream hands its learners beyond the data (see `SeedStream.learnerInfo`). */
  readonly streamInfo?: Readonly<Record<string, unknown>>;
}

/** A saved learner: plain JSON plus named arrays (written as .npy next to it). */
export interface LearnerCheckpoint {
  readonly meta: Record<string, unknown>;
  readonly arrays: Map<string, { shape: number[]; data: Float32Array | Float64Array }>;
}

export interface ContinualLearner {
  /** Registry name. */
  readonly name: string;
  /** The method names this learner reports (e.g. SAFE: safe, safe-slow, safe-fast). */
  readonly outputs: readonly string[];
  fitSession(s: SessionData): Promise<void>;
  /** Logits over classes [0, seen) for every row of `x`, one entry per output name. */
  predict(x: Dataset, seen: number): Map<string, Float32Array>;
  /** Task-incremental streams: logits for rows known to belong to session `task` (only that task's labels are read). */
  predictTask?(x: Dataset, task: number, seen: number): Map<string, Float32Array>;
  /** Per-session diagnostics for the run record (chosen lambda, gamma, losses...). */
  diagnostics(): Record<string, unknown>;
  /** Per-row statistics of the last `predict` call (e.g. SAFE's fast-branch weight), if any. */
  rowStatistics?(): Record<string, Float64Array>;
  /**
   * The output each row statistic describes: its mean per task group after the last session goes
   * into that output's record entry as `<statistic in snake case>_group` (SAFE: wFast -> safe's w_fast_group).
   */
  readonly statisticOutputs?: Readonly<Record<string, string>>;
  /**
   * A class-balanced replay buffer kept by the trainer: after each session, `size` rows drawn
   * class-balanced (with `rng(session)`) from the old buffer and the session's training rows; the
   * learner sees it as `SessionData.replay` in the next session and in its checkpoints' place.
   */
  readonly replay?: { readonly size: number; rng(session: number): Rng };
  /** Fields added to an output's record entry after the last session (lambda per task, probe epochs...). */
  outputFields?(output: string): Record<string, unknown>;
  /**
   * Outputs chosen after the last session from other outputs (e.g. a grid value picked on validation):
   * each entry repeats the accuracy rows of `from`, with `fields` added.
   */
  derivedOutputs?(): Record<string, { readonly from: string; readonly fields: Record<string, unknown> }>;
  checkpoint(): LearnerCheckpoint;
  restore(c: LearnerCheckpoint): void;
  describe(): Record<string, unknown>;
  dispose(): void;
}
