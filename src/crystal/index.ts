// crystal/: crystallographic file formats, structure factors, agreement factors, maps, element
// assignment, hydrogens and the R1-swap validation (a CPU miniature of CrystalX).
export { parseCif, parseCifNumber, cifItem, cifLoop, cifNumber, type CifBlock, type CifDocument, type CifLoop, type CifValue, type CifOptions } from './cif.js';
export { parseShelxIns, writeShelxIns, parseHklf4, decodeFreeVariable, type ShelxAtom, type ShelxModel, type HklData } from './shelx.js';
export { UnitCell, type CellParams, type Vec3, type Mat3 } from './cell.js';
export { SpaceGroup, parseTriplet, tripletOf, centringVectors, apply as applySymOp, type SymOp } from './symmetry.js';
export { formFactor, covalentRadius, atomicNumber, elementFromLabel, normalizeElement, IT92 } from './elements.js';
export { structureFromCif, structureFromShelx, embeddedShelx, publishedAgreement, ueq, type Site, type Structure, type Uani } from './structure.js';
export { structureToCif } from './cifwrite.js';
export { structureFactors, SfCalculator, amplitudes, mergeReflections, rFactors, shelxWeights, fitScale, dispersion, type Agreement, type MergedReflections, type Indices } from './sf.js';
export { caseFromCif, caseFromShelx, checkEmbeddedChecksums, evaluateCase, agreementFromFc, dataRules, type RefinementCase, type CaseOptions, type Evaluation } from './refine.js';
export { fourierMap, fourierGrid, findPeaks, mapValue, fft1d, type DensityMap, type Peak } from './maps.js';
export { bondsByCovalentRadii, type Bond } from './connect.js';
export { heightRankBaseline, peakHeightsFromMap, assignElements, ElementAssigner, RankShiftAssigner, simulatePeaks, peakFeatures, countsForPeaks, decode, type PeakSet, type Decoder } from './assign.js';
export { hfixCode, valenceRuleCount, heavyAtomContexts, HydrogenCounter, ridingHydrogens } from './hydrogens.js';
export { r1SwapTest, swapStatistic, alternativesFor, countParameters, f1Quantile, f2Quantile, normalQuantile, type SwapResult, type SwapTestReport, type SwapTestOptions } from './validate.js';
export { refineLeastSquares } from './lsq.js';
export { loadCases, evaluateLoso, type EvalResult } from './evaluate.js';
export { builtInStructure, builtInCase } from './builtin.js';
export { structureView } from './view.js';
export { peakClassifier, hungarian, type LogRegOptions } from './learn.js';
export { exampleStructure, exampleTexts, writeExampleFiles, MAX_EXAMPLE_VARIANTS, type ExampleTexts } from './example.js';
export { DISPERSION_MODES, parseDispersionMode, parseWavelengthOption, resolveRadiation, agreementReasons, finiteMetrics, fmt, type DispersionMode, type Radiation } from './options.js';
export { LIMITS, checkWavelength, readTextFile } from './limits.js';
export { caseFromRes, caseFromFile, parametersFor, formulaOf, structureFactorRun, assignRun, hydrogensRun, validationRun, evaluationRun, validationSection, alertsSection, lightSwapRun, swapsSection, type LightSwapRun, evalSection, swapDemo, type Phase, type Steps, type StructureFileOptions, type StructureFactorRun, type AssignRun, type HydrogensRun, type ValidationRun, type SwapDemo } from './commands.js';
export { geometryAlerts, refinementAlerts, alertCounts, bondRange, adpEigenvalues, type Alert, type AlertLevel, type AlertKind, type AlertOptions } from './alerts.js';
export { lightSiteFits, evaluateLightSwaps, signals as swapSignals, hamiltonF, bondLogLikelihood, LIGHT, SIGNALS, type LightSiteFits, type LightSite, type DetectorResult, type SwapKindResult, type SwapEvalOptions, type Signal } from './swaps.js';
