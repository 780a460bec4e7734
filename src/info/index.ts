// Public face of the info area: matrix information metrics, Neural Collapse helpers, tfjs losses
// and the papers' experiments in miniature.
export * from './metrics.js';
export * from './nc.js';
export * from './losses.js';
export * from './collapse.js';
export * from './grokking.js';
export * from './train.js';
export * from './experiments.js';
export * from './align.js';
export * from './semisup.js';
export * from './lmc.js';
export * from './use.js';
export * from './sections.js';
export * from './measure.js';
export { infoDemo, grokSettings } from './demo.js';
