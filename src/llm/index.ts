// perennial's llm area: model providers (in-process GGUF, OpenAI-compatible HTTP, a local
// OpenAI-compatible server, test stubs), the project's tiny GGUF models, and the self-knowledge
// evaluation (generate -> verify).
export type { ChatMessage, CompletionRequest, CompletionResponse, JsonSchema, LlmProvider, ProviderError, ProviderErrorKind } from './provider.js';
export { samplingProblem, MAX_TOKENS_CAP } from './provider.js';
export { LlamaCppProvider, defaultThreads, renderPlain, sha256File, type LlamaCppOptions } from './llamacpp.js';
export { OpenAICompatibleProvider, parseRetryAfter, type OpenAICompatibleOptions } from './openai.js';
export { EchoProvider, ScriptedProvider, type ScriptStep } from './testing.js';
export { ReplicatedProvider, replicatedProvider, MAX_REPLICAS, type ReplicaOptions, type EndpointStats, type EndpointState } from './replicas.js';
export { parseModelSpec, parseSpec, addProviderOptions, providerSettings, MODEL_SPEC_KINDS, DEFAULT_CONTEXT_SIZE, type ModelSpec, type ProviderFlags, type ProviderSettings } from './spec.js';
export { serveProvider, requestFromBody, type RunningServer, type ServeOptions } from './server.js';
export { encodeGguf, writeGguf, readGgufHeader, parseGgufHeader, GgufType, kv, modelProblems, checkModelHyperparameters, GGML_TYPE_SIZES, MAX_BLOCK_COUNT, MAX_CONTEXT_LENGTH, type ModelProblem, type GgufHeader, type GgufTensorInfo, type GgufTensorIn, type GgufValue } from './gguf.js';
export { buildTinyGguf, writeTinyGguf, buildVocab, tinyTokenize, DEFAULT_CORPUS, type TinyGgufOptions, type TinyModel } from './tiny.js';
export { canonicalJson, cacheKey, sha256Hex, ResponseCache, JsonlAppendLog, type CacheKeyParts, type CachedResponse } from './cache.js';
export { evaluate, SampleLog, MAX_EVAL_CONCURRENCY, MAX_EVAL_REPEATS, type EvalCase, type CallLog, type CallOptions, type CallResult, type PredictContext, type SampleFields, type Predictor, type Outcome, type EvaluateOptions, type EvaluationRun } from './harness.js';
export { parseStrictJson, validateSchema, type FailureKind, type StrictResult } from './strict.js';
export { passAtK, passHatK, wilson, rate, share, pairedDifference, Z95, type Rate, type PairedDifference } from './stats.js';
export * as checks from './checks.js';
export { ALL_TASKS, selectTasks, wordCountTask, arithmeticTask, theoremTask, sentenceCountTask, charCountTask, jsonStructureTask, codeOutputTask, qaTask, type SelfKnowledgeTask, type Creation, type Checked } from './tasks.js';
export { runSelfKnowledge, selfKnowledgeCases, selfKnowledgePredictor, selfKnowledgeSection, compareModels, comparisonSection, userTasksSection, reportRecord, finetuneJsonl, writeFinetune, type ModelResults, type ModelComparison, type PairedRow, type SelfKnowConfig, type SelfKnowInput, type SelfKnowOptions, type SelfKnowledgeReport, type TaskSummary, type RunOutcome, type ContextMode } from './selfknow.js';
export { parseTaskFile, readTaskFile, runUserTasks, userTaskPredictor, render as renderTemplate, checkerName, MAX_TASK_FILE_BYTES, type UserTask, type CheckerSpec, type UserOutcome, type UserTaskReport, type UserTaskSummary, type UserTaskOptions } from './taskfile.js';
export { judgeAnswer, judgeRequest, parseJudge, summariseJudge, JUDGE_RUBRIC, JUDGE_VERSION, type JudgeInput, type JudgeVerdict, type JudgeSummary } from './judge.js';
export { selfKnowledgeDemo, type SelfKnowledgeDemo } from './demo.js';
export { checkSelfknowOptions, runSelfknowCommand, type SelfknowCommandOptions, type SelfknowCommandResult } from './selfknow-command.js';
export * as train from './train/index.js';
