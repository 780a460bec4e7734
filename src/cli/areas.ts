// Every area's CLI, in the order `perennial demo` runs them. One import and one entry per area.
import type { AreaCli } from './types.js';
import { theoryCli } from './theory.js';
import { llmCli } from './llm.js';
import { breakoutCli } from './breakout.js';
import { infoCli } from './info.js';
import { continualCli } from './continual.js';
import { continualFeaturesCli } from './continual-features.js';
import { crystalCli } from './crystal.js';
import { continualCilaCli } from './continual-cila.js';
import { runsCli } from './runs.js';
import { sweepCli } from './sweep.js';
import { serveCli } from './serve.js';
import { continualModelCli } from './continual-model.js';

export const AREAS: readonly AreaCli[] = [
  theoryCli,
  llmCli,
  breakoutCli,
  infoCli,
  continualCli,
  continualFeaturesCli,
  crystalCli,
  continualCilaCli,
  runsCli,
  sweepCli,
  serveCli,
  continualModelCli,
];
