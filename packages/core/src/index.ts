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
