export * from './dataset.js';
export * from './npy.js';
export * from './idx.js';
export * from './csv.js';
export * from './synthetic.js';
