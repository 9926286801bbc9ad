/** A generated archive: its size and its bytes, one chunk at a time. */
export interface GeneratedModel {
  size: number;
  chunks(): Generator<Uint8Array<ArrayBuffer>>;
}
export const EVIL_PICKLE: Uint8Array<ArrayBuffer>;
export const CLEAN_PICKLE: Uint8Array<ArrayBuffer>;
export function torchZipStream(opts: {
  tensorBytes: number;
  pickle?: Uint8Array<ArrayBuffer>;
  chunk?: number;
}): GeneratedModel;
export function rangeReader(model: GeneratedModel): (start: number, end: number) => Uint8Array<ArrayBuffer>;
