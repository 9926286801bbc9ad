import { type LogicalLine, type Token, TokenizeError, tokenizePython } from './python-tokens.js';
import type { Note } from './types.js';

/**
 * TorchScript archives carry source (`code/**.py`) that `torch.jit.load` compiles and runs. This
 * reads that source the way torch's importer (`import_source.cpp`) resolves names, so that what
 * each call reaches is known exactly instead of guessed from words:
 *
 * - `torch.<name>` is the registered operator `aten::<name>`; `ops.<ns>.<name>` is `<ns>::<name>`;
 * - `__torch__.<...>` names a class of the archive (`__torch__.torch.classes.<ns>.<Class>` a C++
 *   class registered by a native library);
 * - `CONSTANTS`, `fork`, `annotate`, `uninitialized`... are the importer's special forms;
 * - `<value>.<name>(...)` is a method: of the archive's classes when one defines it, else the
 *   builtin operator `aten::<name>` on that value;
 * - a bare `len(...)`, `getattr(x, "0")`... is a language builtin (`getattr` takes a literal name);
 * - anything else is a name the importer cannot resolve: the archive does not load as written.
 *
 * Strings and comments are data (an exception class named in `RaiseException`'s message string is
 * not a call). The reader only reports facts (`torchscript-call` notes); `@brine/rules` judges the
 * operators against the classification generated from torch's registry.
 */

/** What a call target was resolved to. */
export type TorchScriptTargetKind =
  | 'operator'
  | 'method'
  | 'builtin'
  | 'class'
  | 'custom-class'
  | 'unresolved';

/** One reference from TorchScript code to something that runs. */
export interface TorchScriptCall {
  /** `aten::from_file`, `prim::RaiseException`, `size` (method), `len` (builtin), `os.system` (unresolved). */
  target: string;
  kind: TorchScriptTargetKind;
  line: number;
  /** The source line, trimmed, for evidence. */
  code: string;
  /** Qualified name of the function the call is in (`Model.__setstate__`), when inside one. */
  function?: string;
}

/** Names torch's source importer resolves before anything else. */
const SPECIAL_FORMS = new Set([
  'CONSTANTS',
  'fork',
  'awaitable',
  'annotate',
  'unchecked_cast',
  'uninitialized',
  'inf',
  'nan',
  'infj',
  'nanj',
  'self',
  'None',
  'True',
  'False',
]);

/** Builtins of the TorchScript language (`ir_emitter.cpp`'s global environment) and type names. */
const LANGUAGE_BUILTINS = new Set([
  'print',
  'tuple',
  'float',
  'complex',
  'int',
  'bool',
  'str',
  'getattr',
  'hasattr',
  'isinstance',
  'range',
  'zip',
  'enumerate',
  'sorted',
  'list',
  'dict',
  'min',
  'max',
  'abs',
  'all',
  'any',
  'divmod',
  'sum',
  'ord',
  'chr',
  'bin',
  'pow',
  'len',
  'hex',
  'oct',
  'round',
  'hash',
  'id',
  'iter',
  'reversed',
  'rangelist',
  'isfinite',
  'isnan',
  'NamedTuple',
  'Tensor',
  'Optional',
  'List',
  'Dict',
  'Tuple',
  'Union',
  'Any',
  'Future',
  'Await',
  'NoneType',
  'Device',
  'Stream',
  'Enum',
  'Module',
  'number',
  'Storage',
  'Generator',
  'Layout',
  'ScalarType',
  'MemoryFormat',
  'QScheme',
  'RRef',
  'Quantizer',
  'Capsule',
  'Exception',
]);

const KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'in',
  'is',
  'if',
  'elif',
  'else',
  'for',
  'while',
  'return',
  'def',
  'class',
  'pass',
  'break',
  'continue',
  'raise',
  'assert',
  'import',
  'from',
  'as',
  'with',
  'lambda',
  'global',
  'nonlocal',
  'del',
  'try',
  'except',
  'finally',
  'yield',
  'await',
  'async',
]);

export interface TorchScriptSource {
  calls: TorchScriptCall[];
  /** Names of every function defined in this file (methods included). */
  defs: string[];
}

/** Reads one `code/` entry. Throws {@link TokenizeError} when the text is not valid Python tokens. */
export function readTorchScript(text: string): TorchScriptSource {
  const lines = tokenizePython(text);
  const srcLines = text.split(/\r?\n|\r/);
  const defs: string[] = [];
  const calls: TorchScriptCall[] = [];
  const bound = boundNames(lines);
  // indentation stack of enclosing class/def headers
  const scope: Array<{ indent: number; name: string }> = [];
  for (const l of lines) {
    while (scope.length && (scope[scope.length - 1] as { indent: number }).indent >= l.indent) scope.pop();
    const t = l.tokens;
    const head = t[0]?.text;
    if ((head === 'def' || head === 'class') && t[1]?.kind === 'name') {
      if (head === 'def') defs.push(t[1].text);
      scope.push({ indent: l.indent, name: t[1].text });
    }
    if (head === 'import' || head === 'from') {
      // the printer writes no imports; torch's parser rejects them, and a host module is named here
      const mod: string[] = [];
      for (let k = 1; k < t.length && (t[k]?.kind === 'name' || t[k]?.text === '.'); k++)
        mod.push((t[k] as Token).text);
      const target = mod.join('');
      if (!target.startsWith('__torch__')) {
        calls.push(callAt(l, 'unresolved', target, srcLines, scope));
      }
      continue;
    }
    scanLine(l, bound, srcLines, scope, calls);
  }
  return { calls, defs };
}

function callAt(
  l: LogicalLine | { line: number },
  kind: TorchScriptTargetKind,
  target: string,
  srcLines: string[],
  scope: Array<{ name: string }>,
  line = l.line,
): TorchScriptCall {
  const c: TorchScriptCall = { target, kind, line, code: (srcLines[line - 1] ?? '').trim().slice(0, 200) };
  if (scope.length) c.function = scope.map((s) => s.name).join('.');
  return c;
}

function scanLine(
  l: LogicalLine,
  bound: Set<string>,
  srcLines: string[],
  scope: Array<{ name: string }>,
  out: TorchScriptCall[],
): void {
  const t = l.tokens;
  const isHeader = t[0]?.text === 'def' || t[0]?.text === 'class';
  for (let i = 0; i < t.length; i++) {
    const tok = t[i] as Token;
    if (tok.kind !== 'name' || KEYWORDS.has(tok.text)) continue;
    const prev = t[i - 1];
    if (prev?.text === '.') continue; // part of a chain handled from its root
    if (isHeader && i === 1) continue; // the defined name
    // collect the dotted chain
    const chain = [tok.text];
    let j = i + 1;
    while (t[j]?.text === '.' && t[j + 1]?.kind === 'name') {
      chain.push((t[j + 1] as Token).text);
      j += 2;
    }
    const called = t[j]?.text === '(';
    const root = chain[0] as string;
    const at = (kind: TorchScriptTargetKind, target: string) =>
      out.push(callAt(l, kind, target, srcLines, scope, tok.line));
    if (root === 'torch') {
      if (chain.length === 2) at('operator', `aten::${chain[1]}`);
      else at('unresolved', chain.join('.'));
    } else if (root === 'ops') {
      if (chain.length >= 3) at('operator', `${chain[1]}::${chain[2]}`);
      if (chain.length !== 3) at('unresolved', chain.join('.'));
    } else if (root === '__torch__') {
      if (chain[1] === 'torch' && chain[2] === 'classes' && chain.length >= 5) {
        at('custom-class', `${chain[3]}::${chain[4]}`);
      } else if (called) at('class', chain.join('.'));
      // chained attribute after a class constructor is a method; the rest is a type name
    } else if (SPECIAL_FORMS.has(root) || bound.has(root)) {
      // a value: attribute reads are data, a trailing call is a method on that value
      if (called && chain.length > 1) at('method', chain[chain.length - 1] as string);
    } else if (LANGUAGE_BUILTINS.has(root) && chain.length === 1) {
      if (called) at('builtin', root);
    } else if (called || chain.length > 1) {
      if (!isTypePosition(t, i)) at('unresolved', chain.join('.'));
    }
    i = j - 1;
  }
  // `(expr).name(...)`, `x[0].name(...)`: methods on computed values
  for (let i = 1; i + 2 < t.length; i++) {
    const p = t[i - 1] as Token;
    if (
      t[i]?.text === '.' &&
      (p.text === ')' || p.text === ']' || p.kind === 'string') &&
      t[i + 1]?.kind === 'name' &&
      t[i + 2]?.text === '('
    ) {
      out.push(callAt(l, 'method', (t[i + 1] as Token).text, srcLines, scope, (t[i + 1] as Token).line));
    }
  }
}

/** Annotations (`x: Foo`, `-> Foo`, `List[Foo]`) name types, which run nothing. */
function isTypePosition(t: Token[], i: number): boolean {
  const prev = t[i - 1]?.text;
  return prev === ':' || prev === '->' || prev === '[' || (prev === ',' && insideSubscript(t, i));
}

function insideSubscript(t: Token[], i: number): boolean {
  let depth = 0;
  for (let k = i - 1; k >= 0; k--) {
    const x = (t[k] as Token).text;
    if (x === ')' || x === ']') depth++;
    else if (x === '(' || x === '[') {
      if (depth === 0) return x === '[';
      depth--;
    }
  }
  return false;
}

/**
 * Every name the file binds: parameters, assignment and loop targets, class attributes. A chain
 * rooted at one of them is a value, not a global the importer would have to resolve.
 */
function boundNames(lines: LogicalLine[]): Set<string> {
  const bound = new Set<string>();
  for (const l of lines) {
    const t = l.tokens;
    if (t[0]?.text === 'def') {
      // parameters: names at bracket depth 1 followed by ':' ',' '=' or ')'
      let depth = 0;
      for (let k = 2; k < t.length; k++) {
        const x = (t[k] as Token).text;
        if (x === '(' || x === '[') depth++;
        else if (x === ')' || x === ']') depth--;
        else if (depth === 1 && t[k]?.kind === 'name' && /^[:,=)]$/.test(t[k + 1]?.text ?? '')) {
          const before = t[k - 1]?.text;
          if (before === '(' || before === ',' || before === '*' || before === '**') bound.add(x);
        }
      }
      continue;
    }
    // assignment targets: names before a top-level '=' (or augmented assignment)
    let depth = 0;
    for (let k = 0; k < t.length; k++) {
      const x = (t[k] as Token).text;
      if (x === '(' || x === '[' || x === '{') depth++;
      else if (x === ')' || x === ']' || x === '}') depth--;
      else if (depth === 0 && (x === '=' || /^[-+*/%&|^@]=$|^(\*\*|\/\/|>>|<<)=$/.test(x) || x === ':')) {
        for (let m = 0; m < k; m++) {
          const y = t[m] as Token;
          if (y.kind === 'name' && t[m - 1]?.text !== '.') bound.add(y.text);
        }
        if (x === '=') break;
        if (x === ':') break;
      }
    }
    // loop and comprehension variables
    for (let k = 0; k < t.length; k++) {
      if (t[k]?.text !== 'for') continue;
      for (let m = k + 1; m < t.length && t[m]?.text !== 'in'; m++) {
        if (t[m]?.kind === 'name') bound.add((t[m] as Token).text);
      }
    }
    for (let k = 0; k + 1 < t.length; k++) {
      if (t[k]?.text === 'as' && t[k + 1]?.kind === 'name') bound.add((t[k + 1] as Token).text);
    }
  }
  for (const k of KEYWORDS) bound.delete(k);
  return bound;
}

/** Most distinct (entry, target) facts reported per archive: a flood would be its own problem. */
const MAX_FACTS = 5000;

/**
 * Collects what every `code/` entry and `bytecode.pkl` of one archive calls, then reports each
 * distinct target once per entry. Methods are resolved against the functions the whole archive
 * defines, so it reports only after every entry was read.
 */
export class TorchScriptCollector {
  private readonly calls: Array<{ entry: string; call: TorchScriptCall; count: number; via: string }> = [];
  private readonly seen = new Map<string, number>();
  private readonly defs = new Set<string>();
  private readonly problems: Note[] = [];
  entries = 0;

  /** Reads one `code/` entry's text. */
  addSource(entry: string, text: string): void {
    this.entries++;
    let src: TorchScriptSource;
    try {
      src = readTorchScript(text);
    } catch (err) {
      if (!(err instanceof TokenizeError)) throw err;
      this.problems.push({
        kind: 'problem',
        code: 'torchscript-unreadable',
        message: `TorchScript source cannot be tokenized (line ${err.line}: ${err.message}); torch would reject it, but brine cannot vouch for what it calls`,
        entry,
      });
      return;
    }
    for (const d of src.defs) this.defs.add(d);
    for (const c of src.calls) this.add(entry, c, 'code');
  }

  /** Adds the operators a mobile `bytecode.pkl` lists (`aten::linear` with its overload). */
  addOperators(entry: string, operators: Array<{ name: string; overload: string }>): void {
    for (const op of operators) {
      this.add(
        entry,
        {
          target: op.name,
          kind: 'operator',
          line: 0,
          code: `${op.name}${op.overload ? `.${op.overload}` : ''}`,
        },
        'bytecode',
      );
    }
  }

  private add(entry: string, call: TorchScriptCall, via: string): void {
    const key = `${entry}\0${call.kind}\0${call.target}`;
    const at = this.seen.get(key);
    if (at !== undefined) {
      (this.calls[at] as { count: number }).count++;
      return;
    }
    if (this.calls.length >= MAX_FACTS) return;
    this.seen.set(key, this.calls.length);
    this.calls.push({ entry, call, count: 1, via });
  }

  /** One `torchscript-call` fact per distinct target and entry, plus reading problems. */
  notes(): Note[] {
    const notes: Note[] = [...this.problems];
    for (const { entry, call, count, via } of this.calls) {
      const evidence: Record<string, string | number | boolean> = {
        target: call.target,
        kind: call.kind,
        via,
        count,
        code: call.code,
      };
      if (call.line) evidence.line = call.line;
      if (call.function) evidence.function = call.function;
      if (call.kind === 'method') evidence.archiveDefined = this.defs.has(call.target);
      notes.push({
        kind: 'finding',
        code: 'torchscript-call',
        message: `TorchScript ${via === 'bytecode' ? 'bytecode lists' : 'code calls'} ${call.kind} ${call.target}`,
        entry,
        evidence,
      });
    }
    if (this.calls.length >= MAX_FACTS) {
      notes.push({
        kind: 'problem',
        code: 'limit-torchscript-calls',
        message: `more than ${MAX_FACTS} distinct TorchScript call targets; the rest were not judged`,
      });
    }
    return notes;
  }
}
