// perennial's breakout area: footprint windows and their text tables, the rule labeller (gold
// answers), a seeded window generator, the multi-stage LLM pipeline and the single-stage baseline,
// a logistic-regression baseline, evaluation over llm's harness (resumable cache and samples), fine-tuning export, and
// OHLCV trading ranges with follow-through labels.
export {
  type FootprintRow, type FootprintTable, type FootprintWindow, type ParseFootprintOptions,
  renderFootprintText, parseFootprintText, parseFootprintTextFile, windowFromJson, validateWindow, formatPrice, priceToTicks,
} from './footprint.js';
export {
  type Direction, type Side, type Aggregation, type DiagonalPair, type BreakoutLabel, type LabelOptions,
  RULE_VERSION, labelFootprint, directionOf, diagonalPairs, sideOf, verdictOf, isComplete,
} from './label.js';
export {
  type FootprintSpec, type GeneratedWindow, type IntendedLabel, type DifficultyKind,
  DEFAULT_FOOTPRINT_SPEC, footprintSpec, generateFootprintWindow, generateFootprintSet,
} from './generate.js';
export {
  type GoldLabel, type WindowMeta, type WindowRecord, type WindowItem,
  assertUniqueWindowIds, goldFromLabel, recordFromGenerated, recordToJson, windowsToJsonl, writeWindowsJsonl, parseWindowsJsonl, readWindowsJsonl,
} from './dataset.js';
export {
  type StageName, type StageErrorKind, type StageError, type StageAnswer, type MultiStageResult, type SingleStageResult, type PipelineOptions,
  STAGE_SCHEMAS, runMultiStage, runSingleStage, parseStageAnswer, directionPrompt, levelPrompt, sidePrompt, reportPrompt, singlePrompt,
} from './pipeline.js';
export { FEATURE_NAMES, footprintFeatures, verdictModel, type LogisticOptions } from './learned.js';
export {
  type PipelineName, type EvalOptions, type EvalSummary, type WindowOutcome, type RationaleFacts, type PreparedWindow, type WindowModelResult,
  PIPELINES, evaluateWindows, compareWindowModels, windowCases, rulesPredictor, learnedPredictor, singlePredictor, multiPredictor, rationaleFacts, rationaleConsistent,
} from './evaluate.js';
export { type UpstreamAnswer, type SkippedLine, type ChatImportOptions, type ChatImportResult, footprintFromChat, upstreamAnswer, importChatJsonl } from './chat.js';
export { type ChatExample, type ChatExportOptions, type ModelFile, toChatExamples, toChatJsonl, writeChatExport, splitOf } from './finetune.js';
export {
  type Candles, type RangeOptions, type TradingRange, type BreakoutEvent, type RangeResult, type OhlcvLabel, type OhlcvSpec, type PlantedBreakout, type OhlcvBaselines, type ColumnMap,
  DEFAULT_RANGE_OPTIONS, DEFAULT_OHLCV_SPEC, allocCandles, parseOhlcvCsv, loadOhlcvCsv, candlesToCsv, mapColumns, atr, rangeOptions, detectRanges,
  labelFollowThrough, ohlcvBaselines, generateOhlcv, candlestickChart,
} from './ohlcv.js';
export { evalSection, rangesSection } from './sections.js';
export { breakoutDemo } from './demo.js';
