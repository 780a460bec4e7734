// Public face of the theory area: continual linear regression (estimators, closed forms,
// simulation) and head tuning on a linear-Gaussian HMM (double descent).
export {
  ContinualLinearRegression, taskStream, taskSizes, pathErrors, diagMatrix, SHIFT_KINDS,
  type RegressionTask, type TaskStream, type TaskStreamOptions, type ShiftKind, type HSpec, type HRule, type GL2Form,
  type EarlyStoppingOptions,
} from './clr.js';
export {
  errorRecursion, recursionStep, optimalLambda, optimalErrorClosedForm, earlyStoppingH, earlyStoppingEigen,
  oracleRiskIsotropic, mnRiskIsotropic, bhxRisk, olsGaussianRisk,
  type RecursionInput, type RecursionResult, type BhxOptions,
} from './recursion.js';
export { simulateCLR, DEFAULT_LAMBDAS, lambdaKey, type SimulateOptions, type SimulationResult, type MethodCurves } from './simulate.js';
export {
  LinearGaussianHMM, HmmFeatures, hmmFeatures, hmmFeatureMatrix, randomOrthogonal, minNormHead, exactHeadRisk, headRiskFactored, riskCurve,
  type HmmOptions, type MinNormHeadOptions, type MinNormHead, type RiskCurveOptions, type RiskCurve,
} from './hmm.js';
export {
  runRegression, regressionSections, runHmm, hmmSections, REGRESSION_DEFAULTS, HMM_DEFAULTS, defaultHeadSizes, theoryDemo,
  type TheoryDemo, type RegressionExperimentOptions, type RegressionMetrics, type GL2VersusRidge, type HmmExperimentOptions, type HmmMetrics,
} from './experiments.js';
