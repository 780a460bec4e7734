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
}

export interface LearnerContext {
  readonly backbone: Backbone;
  readonly numClasses: number;
  /** The run's seed (projection, initialisation, batch order derive from it). */
  readonly seed: number;
  readonly rng: Rng;
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
  /** Per-session diagnostics for the run record (chosen lambda, gamma, losses...). */
  diagnostics(): Record<string, unknown>;
  /** Per-row statistics of the last `predict` call (e.g. SAFE's fast-branch weight), if any. */
  rowStatistics?(): Record<string, Float64Array>;
  checkpoint(): LearnerCheckpoint;
  restore(c: LearnerCheckpoint): void;
  describe(): Record<string, unknown>;
  dispose(): void;
}
