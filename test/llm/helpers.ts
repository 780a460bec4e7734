// Shared imports for the llm tests.
export * from '../../src/llm/index.js';
export { TOKEN_EOS as TOKEN_EOS_FOR_TESTS } from '../../src/llm/tiny.js';
