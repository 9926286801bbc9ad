/**
 * A minimal, strict safetensors reader for tests: it checks the layout rules the format sets
 * (header length, JSON, offsets contiguous from 0 to the end of the file) and returns each tensor's bytes.
 */
export interface ReadTensor {
  dtype: string;
  shape: number[];
  dataOffsets: [number, number];
  bytes: Uint8Array;
}

export interface ReadSafetensors {
  headerLength: number;
  metadata: Record<string, string>;
  tensors: Map<string, ReadTensor>;
  /** Names in the order the header lists them. */
  order: string[];
}

export function readSafetensors(file: Uint8Array): ReadSafetensors {
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > file.length) throw new Error('header runs past the file');
  const header = JSON.parse(
    new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + n)),
  ) as Record<string, unknown>;
  const data = file.subarray(8 + n);
  const tensors = new Map<string, ReadTensor>();
  const order: string[] = [];
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number]> = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = value as Record<string, string>;
      for (const v of Object.values(metadata))
        if (typeof v !== 'string') throw new Error('non-string metadata');
      continue;
    }
    const v = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [b, e] = v.data_offsets;
    if (!(b <= e && e <= data.length)) throw new Error(`bad offsets for ${name}`);
    spans.push([b, e]);
    tensors.set(name, { dtype: v.dtype, shape: v.shape, dataOffsets: [b, e], bytes: data.subarray(b, e) });
    order.push(name);
  }
  spans.sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [b, e] of spans) {
    if (b !== at) throw new Error('data section has gaps or overlaps');
    at = e;
  }
  if (at !== data.length) throw new Error('data section has trailing bytes');
  return { headerLength: n, metadata, tensors, order };
}
