import { type LogicalLine, type Token, tokenizePython } from './python-tokens.js';

/**
 * What a Python module does when it is imported, and what it can reach: the facts brine needs about
 * source code that a loader imports (torch.package's packaged modules). It follows Python's binding
 * rules far enough to name what each call reaches (`import os as o` makes `o.system(...)` a call to
 * `os.system`; `from subprocess import run` makes `run(...)` one to `subprocess.run`); it never
 * decides what is dangerous.
 */

export interface ModuleImport {
  /** Absolute module name (relative imports resolved against the module's package). */
  module: string;
  /** `from m import name`: the name; `import m`: undefined. */
  name?: string;
  line: number;
  code: string;
  /** Runs when the module is imported (not inside a function body). */
  onLoad: boolean;
}

export interface ModuleCall {
  /** Fully qualified target: `os.system`, `builtins.eval`, `torch.nn.Linear`. */
  target: string;
  line: number;
  code: string;
  onLoad: boolean;
  /** The target is named without being called here (`f = os.system`). */
  reference: boolean;
}

/** A statement that runs something at import time beyond defining names. */
export interface LoadStatement {
  line: number;
  code: string;
}

export interface ModuleFacts {
  imports: ModuleImport[];
  calls: ModuleCall[];
  statements: LoadStatement[];
}

/** Python builtins a module can call without importing anything. */
const BUILTIN_CALLABLES = new Set([
  '__import__',
  'eval',
  'exec',
  'compile',
  'open',
  'input',
  'breakpoint',
  'globals',
  'locals',
  'vars',
  'getattr',
  'setattr',
  'delattr',
  'memoryview',
  'exit',
  'quit',
  'help',
]);

/**
 * Attributes that walk from any object to globals, builtins or frames (the classic escapes from a
 * restricted namespace): reported wherever they appear, whatever they are read from.
 */
const ESCAPE_ATTRIBUTES = new Set([
  '__globals__',
  '__builtins__',
  '__subclasses__',
  '__code__',
  '__import__',
  '__loader__',
  'f_globals',
  'f_locals',
  'f_back',
  'f_builtins',
  'gi_frame',
  'tb_frame',
  'cr_frame',
]);

/** Compound-statement headers that only structure code (`try: import x / except ImportError:`). */
const STRUCTURAL = new Set(['try', 'except', 'else', 'finally']);

/**
 * Reads one module's source. `module` is its dotted name (`models.net`), `isPackage` whether it is a
 * package's `__init__.py`, which decides what a relative import means. Throws `TokenizeError`.
 */
export function readPythonModule(text: string, module: string, isPackage: boolean): ModuleFacts {
  const lines = tokenizePython(text);
  const src = text.split(/\r?\n|\r/);
  const codeAt = (line: number) => (src[line - 1] ?? '').trim().slice(0, 200);
  const pkg = isPackage ? module : module.split('.').slice(0, -1).join('.');
  const aliases = new Map<string, string>();
  const facts: ModuleFacts = { imports: [], calls: [], statements: [] };
  const scope: Array<{ indent: number; kind: 'def' | 'class' }> = [];
  const localNames = new Set<string>();

  // Pass 1: bindings from imports anywhere (a function-level import binds in that function only,
  // but naming it module-wide only makes more calls qualified, never fewer).
  for (const l of lines) {
    for (const imp of importsOf(l.tokens, pkg)) {
      aliases.set(imp.alias, imp.qualified);
    }
    // names bound by def/class/assignment shadow builtins
    const t = l.tokens;
    if ((t[0]?.text === 'def' || t[0]?.text === 'class') && t[1]?.kind === 'name') localNames.add(t[1].text);
  }

  for (const l of lines) {
    while (scope.length && (scope[scope.length - 1] as { indent: number }).indent >= l.indent) scope.pop();
    const onLoad = !scope.some((s) => s.kind === 'def');
    const t = l.tokens;
    const head = t[0]?.text ?? '';
    for (const imp of importsOf(t, pkg)) {
      facts.imports.push({
        module: imp.module,
        ...(imp.name !== undefined ? { name: imp.name } : {}),
        line: l.line,
        code: codeAt(l.line),
        onLoad,
      });
    }
    findCalls(l, aliases, localNames, codeAt, onLoad, facts.calls);
    if (head === 'def' || head === 'class') {
      scope.push({ indent: l.indent, kind: head });
      continue;
    }
    if (head === 'async' && t[1]?.text === 'def') {
      scope.push({ indent: l.indent, kind: 'def' });
      continue;
    }
    if (onLoad && !isInert(l) && facts.statements.length < 50) {
      facts.statements.push({ line: l.line, code: codeAt(l.line) });
    }
  }
  return facts;
}

/** Definitions, imports, docstrings, `pass`, and assignments of values that call nothing. */
function isInert(l: LogicalLine): boolean {
  const t = l.tokens;
  const head = t[0] as Token;
  if (head.text === 'import' || head.text === 'from' || head.text === 'pass') return true;
  if (STRUCTURAL.has(head.text) && !t.some((x) => x.text === '(')) return true;
  if (t.length === 1 && (head.kind === 'string' || head.text === '...')) return true;
  if (t.every((x) => x.kind === 'string')) return true; // implicitly concatenated docstring
  if (head.kind !== 'name') return false;
  if (
    ['if', 'elif', 'while', 'for', 'with', 'assert', 'raise', 'del', 'global', 'return', 'lambda'].includes(
      head.text,
    )
  )
    return false;
  // assignment (plain or annotated) whose every token is a literal, a name, or punctuation
  const hasAssign = t.some((x) => x.text === '=' || x.text === ':');
  if (!hasAssign) return false;
  return !t.some((x) => x.text === '(' || x.text === '@' || x.text === 'lambda' || x.text === ':=');
}

interface ImportBinding {
  alias: string;
  qualified: string;
  module: string;
  name?: string;
}

function importsOf(t: Token[], pkg: string): ImportBinding[] {
  const out: ImportBinding[] = [];
  if (t[0]?.text === 'import') {
    // import a.b.c [as x], d
    let k = 1;
    while (k < t.length) {
      const parts: string[] = [];
      while (t[k]?.kind === 'name' && t[k]?.text !== 'as') {
        parts.push((t[k] as Token).text);
        if (t[k + 1]?.text === '.') k += 2;
        else {
          k++;
          break;
        }
      }
      if (!parts.length) break;
      const mod = parts.join('.');
      if (t[k]?.text === 'as' && t[k + 1]?.kind === 'name') {
        out.push({ alias: (t[k + 1] as Token).text, qualified: mod, module: mod });
        k += 2;
      } else out.push({ alias: parts[0] as string, qualified: parts[0] as string, module: mod });
      if (t[k]?.text === ',') k++;
      else break;
    }
    return out;
  }
  if (t[0]?.text === 'from') {
    let k = 1;
    let dots = 0;
    while (t[k]?.text === '.' || t[k]?.text === '...') {
      dots += (t[k] as Token).text.length;
      k++;
    }
    const parts: string[] = [];
    while (t[k]?.kind === 'name' && t[k]?.text !== 'import') {
      parts.push((t[k] as Token).text);
      k += t[k + 1]?.text === '.' ? 2 : 1;
    }
    let base = parts.join('.');
    if (dots > 0) {
      const up = pkg.split('.').filter(Boolean);
      const kept = up.slice(0, Math.max(0, up.length - (dots - 1)));
      base = [...kept, ...parts].join('.');
    }
    if (t[k]?.text !== 'import') return out;
    k++;
    for (; k < t.length; k++) {
      const x = t[k] as Token;
      if (x.kind !== 'name') continue;
      if (x.text === 'as') continue;
      if (t[k - 1]?.text === 'as') continue;
      const alias = t[k + 1]?.text === 'as' && t[k + 2]?.kind === 'name' ? (t[k + 2] as Token).text : x.text;
      out.push({
        alias,
        qualified: base ? `${base}.${x.text}` : x.text,
        module: base,
        name: x.text,
      });
    }
    if (t.some((x) => x.text === '*'))
      out.push({ alias: '*', qualified: `${base}.*`, module: base, name: '*' });
  }
  return out;
}

function findCalls(
  l: LogicalLine,
  aliases: Map<string, string>,
  localNames: Set<string>,
  codeAt: (line: number) => string,
  onLoad: boolean,
  out: ModuleCall[],
): void {
  const t = l.tokens;
  if (t[0]?.text === 'import' || t[0]?.text === 'from') return;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i] as Token;
    if (tok.kind === 'name' && t[i - 1]?.text === '.' && ESCAPE_ATTRIBUTES.has(tok.text)) {
      out.push({
        target: `.${tok.text}`,
        line: tok.line,
        code: codeAt(tok.line),
        onLoad,
        reference: t[i + 1]?.text !== '(',
      });
      continue;
    }
    if (tok.kind !== 'name' || t[i - 1]?.text === '.') continue;
    if ((t[i - 1]?.text === 'def' || t[i - 1]?.text === 'class') && i === 1) continue;
    const chain = [tok.text];
    let j = i + 1;
    while (t[j]?.text === '.' && t[j + 1]?.kind === 'name') {
      chain.push((t[j + 1] as Token).text);
      j += 2;
    }
    const called = t[j]?.text === '(';
    for (const part of chain.slice(1)) {
      if (ESCAPE_ATTRIBUTES.has(part)) {
        out.push({ target: `.${part}`, line: tok.line, code: codeAt(tok.line), onLoad, reference: !called });
      }
    }
    const bound = aliases.get(chain[0] as string);
    if (bound !== undefined) {
      if (chain.length > 1 || called) {
        out.push({
          target: [bound, ...chain.slice(1)].join('.'),
          line: tok.line,
          code: codeAt(tok.line),
          onLoad,
          reference: !called,
        });
      }
    } else if (chain.length === 1 && BUILTIN_CALLABLES.has(tok.text) && !localNames.has(tok.text)) {
      out.push({
        target: `builtins.${tok.text}`,
        line: tok.line,
        code: codeAt(tok.line),
        onLoad,
        reference: !called,
      });
    } else if ((chain[0] === '__builtins__' || chain[0] === 'builtins') && !aliases.has(chain[0] as string)) {
      out.push({
        target: ['builtins', ...chain.slice(1)].join('.'),
        line: tok.line,
        code: codeAt(tok.line),
        onLoad,
        reference: !called,
      });
    }
    i = j - 1;
  }
}
