// continual/: class-incremental learning on pretrained backbones — scenarios, metrics, backbones
// with PET modules, SimpleCIL, RanPAC and SAFE behind one learner interface and one trainer.
export * from './backbones/index.js';
export { Sgd, cosineLr, linear, layerNorm, geluExact, type Params, type WeightTensor } from '../core/nn.js';
export { AccuracyMatrix, groupCorrect, type AccuracyKind } from './metrics.js';
export { makeClassIncremental, parseSplit, remapDataset, labelRange, type Scenario, type ScenarioOptions, type SessionInfo } from './scenario.js';
export {
  PrototypeHead, RandomReluProjection, AnalyticRidgeHead, RANPAC_LAMBDAS, entropyAggregate, argmaxRows, gramAndTargets,
  type FeatureRows, type AggregateOptions,
} from './heads.js';
export { trainPet, extractFeatures, createCosineHead, cosineLogits, DEFAULT_TRAIN, type TrainOptions, type CosineHead } from './pet-train.js';
export type { ContinualLearner, LearnerContext, SessionData, LearnerCheckpoint } from './methods/types.js';
export { SimpleCil } from './methods/simplecil.js';
export { Ranpac, RANPAC_DEFAULTS, type RanpacOptions } from './methods/ranpac.js';
export { Safe, SAFE_DEFAULTS, transferLoss, type SafeOptions } from './methods/safe.js';
export { RidgeBranch } from './parts/ridge-branch.js';
export { LEARNERS, LEARNER_FAMILIES, makeLearner, makeLearners, isKnownMethod, type LearnerFactory, type LearnerFamily } from './registry.js';
export { loadMiniature, checkDatasetName, DATASETS, POOL_SEED, type Miniature, type DatasetName } from './data.js';
export { pretrainBackbone, saveBackbone, loadBackbone, PRETRAIN_DEFAULTS, type BackboneManifest } from './pretrain.js';
export { runCil, runEngine, miniatureSource, seedData, summarise, DEFINITIONS, type StreamSource, type SeedStream, type CilRunOptions, type CilRunResult, type CilRunEntry, type CilSummaryEntry } from './trainer.js';
export { cilSections, paired, meanGroupAcc } from './report.js';
// Real pretrained models and image data: ONNX backbones, safetensors (timm ViT weights), image
// folders, and the resumable feature cache behind `cil features` and `cil run --features`.
export * from './onnx.js';
export * from './safetensors.js';
export * from './images.js';
// Standard dataset formats (CIFAR-10/100 binary, MNIST IDX, ImageFolder with split files), PILOT split names, top-k accuracy.
export {
  loadDataset, parseDatasetSpec, datasetFolder, toPixelDataset, readCifar10, readCifar100, readMnist, findMnistData, readImageFolder,
  parsePilotSplit, pilotSessionSizes, pilotScenario, topKHits, topKAccuracy, topKGroupCorrect, DATASET_KINDS, SUBSETS, MNIST_CLASSES,
  type DatasetKind, type DatasetSpec, type LoadedDataset, type Subset, type PilotSplit,
} from './datasets/index.js';
export * from './features.js';
export * from './vit-weights.js';
// Co2L / CILA (contrastive replay with relation distillation, adaptive lambda) and ATLAS.
export * from './contrastive.js';
export * from './methods/cila.js';
export * from './methods/co2l.js';
export { Co2lLearner, CO2L_FAMILY } from './methods/co2l-learner.js';
export { RunConfigSchema, readRunConfig, camelKey, RUN_CONFIG_KEYS, type RunConfig } from './run-config.js';
export * from './parts/co2l-net.js';
export * from './parts/streams.js';
export * from './atlas.js';
// The user workflow: fit a model, save it as a directory, load, predict, teach it new classes.
export { ContinualModel, fit, load, listImagesForPrediction, readFeatureRows, MODEL_FORMAT, MODEL_FORMAT_VERSION, type FitOptions, type UpdateOptions, type LoadOptions, type DataSource, type BackboneRef, type SessionRecord, type PredictionRow, type Ranked } from './model.js';
export { ModelConfigSchema, readModelConfig, resolveModelConfig, type ModelConfig, type ModelConfigInput } from './model-config.js';
export { runParts, type RunPart, type PartKind, type RunOutputs } from './run-parts.js';
export { co2lPart, atlasPart, co2lSections, co2lAtlasDemo, syntheticImages, applyCo2lPreset, CO2L_PRESETS, ROTATED_DEFAULTS, type Co2lCli, type AtlasCli, type Co2lPreset, type Co2lPresetValues } from './cila-command.js';
export { obtainBackbone, methodOptionsFor, partitionMethods, planRun, mergeCilRecords, cilDemo, cilSummaryLines, type RunCliOptions } from './run-command.js';
export { runFeaturesCommand, featuresDemo, type FeaturesCommandOptions } from './features-command.js';
