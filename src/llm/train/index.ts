export { TrainConfigSchema, QUICK_CONFIG, readTrainConfig, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
export { byteTokenizer, type ByteTokenizer } from './tokenizer.js';
export { parseChatJsonl, chatExamples, readChatData, type ChatData, type TrainExample } from './data.js';
export { forward, initParams, maskedLoss, parameterShapes, parameterCount, rmsNorm, ropeTables, type LlamaShape } from './model.js';
export { AdamW, clipFactor, lrAt } from './optim.js';
export { encodeTrainedGguf, writeTrainedGguf, trainedGgufMetadata, paramValues } from './export.js';
export { saveCheckpoint, loadCheckpoint } from './checkpoint.js';
export { trainLlama, batchAt, shapeOf, type TrainResult, type TrainRunOptions } from './trainer.js';
export { runTrainCommand, resolveCommandConfig, type TrainCommandOptions, type TrainCommandResult } from './run.js';
