/**
 * The tensor element types a data-only checkpoint can hold, and how each is written as safetensors.
 *
 * A checkpoint names a storage's element type in one of two ways: by a legacy storage class
 * (`torch.FloatStorage`, what torch <= 2.0 writes in the BINPERSID tuple) or by a dtype object
 * (`torch.float32`, pickled as the global `torch float32`, used by `_rebuild_tensor_v3` and by newer torch
 * for element types that never had a storage class). Quantized types are deliberately absent: they are
 * rebuilt through `_rebuild_qtensor`, which the converter does not accept.
 */

/** A torch element type the converter can copy (canonical torch name, e.g. `float32`). */
export type TorchDType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float8_e4m3fn'
  | 'float8_e5m2'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint64'
  | 'uint32'
  | 'uint16'
  | 'uint8'
  | 'bool'
  | 'complex32'
  | 'complex64'
  | 'complex128';

/** How one torch element type is stored in a safetensors file. */
export interface DTypeInfo {
  /** Bytes per element in the checkpoint. */
  itemSize: number;
  /** safetensors dtype string. */
  safetensors: string;
  /**
   * Set for complex types safetensors cannot name: the tensor is written as pairs of reals
   * (real, imaginary) with an extra trailing dimension of 2, which is byte-for-byte the same memory.
   */
  realPairs?: boolean;
}

export const DTYPES: Readonly<Record<TorchDType, DTypeInfo>> = {
  float64: { itemSize: 8, safetensors: 'F64' },
  float32: { itemSize: 4, safetensors: 'F32' },
  float16: { itemSize: 2, safetensors: 'F16' },
  bfloat16: { itemSize: 2, safetensors: 'BF16' },
  float8_e4m3fn: { itemSize: 1, safetensors: 'F8_E4M3' },
  float8_e5m2: { itemSize: 1, safetensors: 'F8_E5M2' },
  int64: { itemSize: 8, safetensors: 'I64' },
  int32: { itemSize: 4, safetensors: 'I32' },
  int16: { itemSize: 2, safetensors: 'I16' },
  int8: { itemSize: 1, safetensors: 'I8' },
  uint64: { itemSize: 8, safetensors: 'U64' },
  uint32: { itemSize: 4, safetensors: 'U32' },
  uint16: { itemSize: 2, safetensors: 'U16' },
  uint8: { itemSize: 1, safetensors: 'U8' },
  bool: { itemSize: 1, safetensors: 'BOOL' },
  complex32: { itemSize: 4, safetensors: 'F16', realPairs: true },
  complex64: { itemSize: 8, safetensors: 'C64' },
  complex128: { itemSize: 16, safetensors: 'F64', realPairs: true },
};

/** `torch.<Name>Storage` classes (torch/storage.py `_dtype_to_storage_type_map`) minus the quantized ones. */
export const STORAGE_CLASSES: Readonly<Record<string, TorchDType>> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
};

/** `torch.<attr>` dtype objects, including torch's aliases (`torch.float` is `torch.float32`). */
export const DTYPE_ATTRIBUTES: Readonly<Record<string, TorchDType>> = {
  float64: 'float64',
  double: 'float64',
  float32: 'float32',
  float: 'float32',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  float8_e4m3fn: 'float8_e4m3fn',
  float8_e5m2: 'float8_e5m2',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint64: 'uint64',
  uint32: 'uint32',
  uint16: 'uint16',
  uint8: 'uint8',
  bool: 'bool',
  complex32: 'complex32',
  chalf: 'complex32',
  complex64: 'complex64',
  cfloat: 'complex64',
  complex128: 'complex128',
  cdouble: 'complex128',
};
