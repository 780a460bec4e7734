// Estimators with the scikit-learn shape (construct with options, fit, predict), float64, solved
// through core/linalg. See the core README.
export { LogisticRegression, LOGISTIC_DEFAULTS, type LogisticOptions, type LogisticFitOptions, type LogisticSolver, type Label } from './logistic.js';
export { Ridge, RIDGE_DEFAULTS, type RidgeOptions } from './ridge.js';
export type { Features } from './features.js';
