export { detectFormat } from './container/registry.js';
// Node-only (node:fs): kept in its own module so runtime-agnostic code never imports it.
export { type ConvertFileOptions, convertToSafetensors } from './convert/convert-file.js';
export type {
  CheckpointFormat,
  ConversionPlan,
  ConvertedTensor,
  ConvertGate,
  ConvertGateVerdict,
  ConvertOptions,
  ConvertResult,
  ConvertStream,
  DroppedValue,
  IncrementalHash,
  PreparedConversion,
} from './convert/index.js';
export {
  CONVERTER_VERSION,
  ConvertError,
  type ConvertErrorCode,
  convertToSafetensorsStream,
  prepareConversion,
} from './convert/index.js';
export { DEFAULT_LIMITS, type EngineLimits } from './engine/limits.js';
export { ENGINE_VERSION, type ScanOptions, scan, unscannedFile } from './engine/scan.js';
export { type ScanStreamOptions, scanStream } from './engine/scan-stream.js';
export type {
  ContainerFinding,
  FileScan,
  FormatId,
  InnerPath,
  ScanProblem,
  StreamScan,
} from './engine/types.js';
export { BrineError } from './engine/types.js';
export type * from './pickle/events.js';
export type { PauseControl, ScanPickleOptions } from './pickle/scan.js';
export { scanPickle } from './pickle/scan.js';
export type {
  BuildPause,
  FeedStatus,
  PickleScanner,
  PickleScannerOptions,
  ScannerLimits,
} from './pickle/scanner.js';
export { createPickleScanner, DEFAULT_SCANNER_LIMITS } from './pickle/scanner.js';
export { loadScannerModule } from './pickle/wasm.js';
export type { BrowserFileSourceOptions } from './source/browser-file.js';
export { BrowserFileSource } from './source/browser-file.js';
export { bufferSource } from './source/buffer.js';
export { openFileSource } from './source/file.js';
export { type HttpSourceOptions, httpSource } from './source/http.js';
export { chunkReader, type ForwardReader, sourceReader } from './source/stream.js';
export type * from './source/types.js';
