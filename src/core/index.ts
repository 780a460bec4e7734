export * from './errors.js';
export * from './rng.js';
export * from './fsx.js';
export * from './progress.js';
export * from './stats.js';
export * as linalg from './linalg/index.js';
export * as data from './data/index.js';
export * from './record.js';
export * from './report.js';
