export { getRule, RULESET_VERSION, rules } from './catalog.js';
export { classifyImport, GADGET_SURFACE, type ImportClass, isGadgetSurface } from './classify.js';
export {
  CORPUS_VERDICTS,
  type CorpusEntry,
  type CorpusOutcome,
  type CorpusTally,
  formatCorpusTable,
  formatHeadlineFigures,
  type HeadlineFigures,
  headlineFigures,
  judgeCorpusEntry,
  parseManifest,
  tallyCorpus,
} from './corpus.js';
export { type EvaluateContext, evaluate } from './evaluate.js';
export {
  builtinPolicies,
  globMatches,
  type Policy,
  PolicyError,
  type PolicyImportEntry,
  parsePolicy,
  policyNamed,
  type TierOutcome,
  type Waiver,
} from './policy.js';
export type * from './types.js';
