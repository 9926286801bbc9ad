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
export type { BrowserFileSourceOptions } from './source/browser-file.js';
export { BrowserFileSource } from './source/browser-file.js';
export type * from './source/types.js';
export { detectFormat } from './container/registry.js';
export { DEFAULT_LIMITS, type EngineLimits } from './engine/limits.js';
export { ENGINE_VERSION, type ScanOptions, scan } from './engine/scan.js';
export { bufferSource } from './source/buffer.js';
export { openFileSource } from './source/file.js';
export { type HttpSourceOptions, httpSource } from './source/http.js';
export { chunkReader, type ForwardReader, sourceReader } from './source/stream.js';
