/** Runtime-agnostic conversion API (the Node file writer is `convert-file.ts`). */
export type { CheckpointFormat } from './checkpoint.js';
export type {
  ConversionPlan,
  ConvertedTensor,
  ConvertGate,
  ConvertGateVerdict,
  ConvertOptions,
  ConvertResult,
  ConvertStream,
  IncrementalHash,
  PreparedConversion,
} from './convert.js';
export { CONVERTER_VERSION, convertToSafetensorsStream, prepareConversion } from './convert.js';
export { ConvertError, type ConvertErrorCode } from './refusal.js';
export type { DroppedValue } from './state-dict.js';
