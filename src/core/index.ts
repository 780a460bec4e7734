export * from './errors.js';
export * from './rng.js';
export * from './fsx.js';
export * from './progress.js';
export * from './stats.js';
export * as linalg from './linalg/index.js';
export * as data from './data/index.js';
export * from './record.js';
export * from './report.js';
export * from './options.js';
export * from './format.js';
// The training engine (tfjs on the wasm backend) and its trainable convolution and batch norm.
export { initTf, tf } from './tensor.js';
export { conv2d, type Conv2dOptions } from './conv.js';
export { batchNormReluTrain, batchNormReluEval } from './bn.js';
// Parameter stores, layers and SGD over tfjs, shared by every area that trains.
export * as nn from './nn.js';
// Logistic/softmax and ridge regression (fit / predict), float64, solved through linalg.
export * as estimators from './estimators/index.js';
