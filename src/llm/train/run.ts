// `llm train`: the config (file, --quick preset or defaults, then command-line overrides), the
// chat data, the training run and the record body. The CLI parses flags and writes outputs.
import { RunRecorder } from '../../core/record.js';
import { QUICK_CONFIG, readTrainConfig, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { readChatData } from './data.js';
import { readTrainedGguf } from './export.js';
import type { LlamaShape } from './model.js';
import { sha256Of, trainLlama, type TrainResult } from './trainer.js';

export interface TrainCommandOptions {
  readonly data: string;
  readonly out: string;
  readonly config?: string;
  readonly quick?: boolean;
  /** Overrides applied after the file or preset. */
  readonly overrides?: TrainConfigInput;
  /** Fine-tune from this GGUF (written by llm train): its shape replaces the config's shape keys. */
  readonly init?: string;
  readonly checkpoint?: string | null;
  readonly resume?: boolean;
  readonly quiet?: boolean;
}

export interface TrainCommandResult {
  readonly config: TrainConfig;
  readonly result: TrainResult;
  readonly data: { readonly file: string; readonly sha256: string; readonly conversations: number; readonly examples: number; readonly too_long: number; readonly target_tokens: number };
}

export function resolveCommandConfig(o: Pick<TrainCommandOptions, 'config' | 'quick' | 'overrides'>, init?: LlamaShape): TrainConfig {
  const base: TrainConfigInput = o.config ? readTrainConfig(o.config) : o.quick ? QUICK_CONFIG : {};
  const shape: TrainConfigInput = init ? { dim: init.dim, layers: init.layers, heads: init.heads, ffn: init.ffn, tiedEmbeddings: init.tiedEmbeddings, ropeBase: init.ropeBase, rmsEps: init.rmsEps } : {};
  return resolveTrainConfig({ ...base, ...shape, ...(o.overrides ?? {}) }, o.config ?? (o.quick ? '--quick preset' : 'train config'));
}

export async function runTrainCommand(o: TrainCommandOptions, rec: RunRecorder): Promise<TrainCommandResult> {
  const init = o.init ? { ...readTrainedGguf(o.init), from: o.init } : undefined;
  const config = resolveCommandConfig(o, init?.shape);
  const { data, sha } = await rec.time('read_data', () => ({ data: readChatData(o.data, config.contextLength), sha: sha256Of(o.data) }));
  const result = await rec.time('train', () => trainLlama({ config, data, dataId: sha, out: o.out, checkpoint: o.checkpoint ?? null, resume: o.resume, quiet: o.quiet, init }));
  return {
    config, result,
    data: { file: o.data, sha256: sha, conversations: data.conversations, examples: data.examples.length, too_long: data.tooLong, target_tokens: data.targetTokens },
  };
}
