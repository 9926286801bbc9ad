/**
 * Turns the value a checkpoint unpickles to into safetensors entries.
 *
 * Naming follows what `transformers` and `safetensors` expect of a state dict: nested dict keys and
 * list indices are joined with `.` (`model.layers.0.weight`). Scalars (ints, floats, strings, bools,
 * None) and tuples/lists/`torch.Size` of numbers become `__metadata__` strings, written as Python's
 * `repr` would print them (`1e-05`, `True`, `torch.Size([16, 4])`) so they read the same as in Python.
 * Everything else (bytes, non-string keys, OrderedDict attributes such as a state dict's `_metadata`)
 * is listed as dropped rather than silently lost.
 */
import { ConvertError } from './refusal.js';
import type { PyDict, PyValue, TensorRef } from './restricted-unpickler.js';

/** One value that is not written to the output, with why. */
export interface DroppedValue {
  name: string;
  reason: string;
}

export interface FlattenedCheckpoint {
  /** Tensors by flattened name, in the order met. */
  tensors: Array<{ name: string; tensor: TensorRef }>;
  /** Non-tensor scalars by flattened name. */
  metadata: Record<string, string>;
  dropped: DroppedValue[];
}

export interface FlattenLimits {
  /** Values visited, counting shared ones each time (a DAG of shared lists can be exponential). */
  maxVisits: number;
  /** Nesting depth (a pickle of 1M TUPLE1 opcodes is a million-deep tuple). */
  maxDepth: number;
}

/** Python's `repr(float)`: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
export function pythonFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Number.POSITIVE_INFINITY) return 'inf';
  if (v === Number.NEGATIVE_INFINITY) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = v.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let text: string;
  if (exp >= 0) {
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    text = `${intPart}.${frac || '0'}`;
  } else {
    text = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return negative ? `-${text}` : text;
}

function scalarRepr(v: PyValue): string | undefined {
  switch (v.kind) {
    case 'none':
      return 'None';
    case 'bool':
      return v.value ? 'True' : 'False';
    case 'int':
      return v.value.toString();
    case 'float':
      return pythonFloatRepr(v.value);
    default:
      return undefined;
  }
}

/** repr of a tuple/list/Size made only of numbers, bools and None; undefined otherwise. */
function numericSequenceRepr(v: PyValue): string | undefined {
  if (v.kind === 'size') return `torch.Size([${v.dims.join(', ')}])`;
  if (v.kind !== 'tuple' && v.kind !== 'list') return undefined;
  const parts: string[] = [];
  for (const item of v.items) {
    const r = scalarRepr(item);
    if (r === undefined) return undefined;
    parts.push(r);
  }
  if (v.kind === 'list') return `[${parts.join(', ')}]`;
  return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
}

/**
 * Flattens an unpickled checkpoint into named tensors, metadata strings and dropped values.
 *
 * @throws ConvertError `convert-name-collision` when two values get the same name, `convert-limit`
 * when the structure is cyclic or too large to walk.
 */
export function flattenCheckpoint(
  root: PyValue,
  file?: string,
  limits: FlattenLimits = { maxVisits: 10_000_000, maxDepth: 1000 },
): FlattenedCheckpoint {
  const tensors: FlattenedCheckpoint['tensors'] = [];
  const metadata: Record<string, string> = {};
  const dropped: DroppedValue[] = [];
  const tensorNames = new Set<string>();
  const active = new Set<PyValue>();
  let visits = 0;

  const join = (prefix: string, key: string): string => (prefix ? `${prefix}.${key}` : key);
  const addTensor = (name: string, tensor: TensorRef): void => {
    if (tensorNames.has(name)) {
      throw new ConvertError('convert-name-collision', `two tensors flatten to the name "${name}"`, file);
    }
    tensorNames.add(name);
    tensors.push({ name, tensor });
  };
  const addMetadata = (name: string, value: string): void => {
    if (Object.hasOwn(metadata, name)) {
      throw new ConvertError(
        'convert-name-collision',
        `two metadata values flatten to the name "${name}"`,
        file,
      );
    }
    metadata[name] = value;
  };

  const walkDict = (prefix: string, dict: PyDict, depth: number): void => {
    for (const attribute of dict.attributes.keys()) {
      dropped.push({
        name: join(prefix, attribute),
        reason: 'OrderedDict attribute (not a tensor or a key)',
      });
    }
    for (const [key, value] of dict.entries.values()) {
      if (key.kind === 'str') walk(join(prefix, key.value), value, depth + 1);
      else if (key.kind === 'int') walk(join(prefix, key.value.toString()), value, depth + 1);
      else
        dropped.push({
          name: join(prefix, `<${key.kind} key>`),
          reason: 'dict key is not a string or an int',
        });
    }
  };

  const walk = (name: string, v: PyValue, depth: number): void => {
    if (++visits > limits.maxVisits) {
      throw new ConvertError('convert-limit', 'the checkpoint structure is too large to flatten', file);
    }
    if (depth > limits.maxDepth) {
      throw new ConvertError(
        'convert-limit',
        `the checkpoint nests deeper than ${limits.maxDepth} levels`,
        file,
      );
    }
    if (active.has(v)) {
      throw new ConvertError('convert-limit', `the value at "${name}" contains itself`, file);
    }
    switch (v.kind) {
      case 'tensor':
        addTensor(name, v.tensor);
        return;
      case 'str':
        addMetadata(name, v.value);
        return;
      case 'none':
      case 'bool':
      case 'int':
      case 'float':
        addMetadata(name, scalarRepr(v) as string);
        return;
      case 'size':
      case 'tuple':
      case 'list': {
        const repr = numericSequenceRepr(v);
        if (repr !== undefined) {
          addMetadata(name, repr);
          return;
        }
        active.add(v);
        const items = v.kind === 'size' ? [] : v.items;
        items.forEach((item, i) => {
          walk(join(name, String(i)), item, depth + 1);
        });
        active.delete(v);
        return;
      }
      case 'dict':
        active.add(v);
        walkDict(name, v, depth);
        active.delete(v);
        return;
      case 'bytes':
        dropped.push({ name, reason: `bytes (${v.value.length})` });
        return;
      case 'storage':
        dropped.push({ name, reason: 'a bare storage (not a tensor)' });
        return;
      case 'global':
        // A dtype kept in a checkpoint (`'dtype': torch.float16`) reads as Python prints it.
        if (v.global.kind === 'dtype') addMetadata(name, `torch.${v.global.dtype}`);
        else dropped.push({ name, reason: 'a torch type object' });
        return;
    }
  };

  if (root.kind === 'tensor') addTensor('tensor', root.tensor);
  else walk('', root, 0);
  return { tensors, metadata, dropped };
}
