// perennial's public API, one namespace per area.
export * as core from './core/index.js';
export * as theory from './theory/index.js';
export * as llm from './llm/index.js';
export * as breakout from './breakout/index.js';
export * as info from './info/index.js';
export * as continual from './continual/index.js';
export * as crystal from './crystal/index.js';
