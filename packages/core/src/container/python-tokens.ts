/**
 * A tokenizer for the Python subset that TorchScript's `code/` and torch.package's modules are
 * written in. It exists so that code analysis never mistakes data for code: a word inside a string
 * (`"builtins.ValueError"`, an error message saying `input(`) or a comment is a single token, not
 * something to match. Tokens are grouped into logical lines (brackets and backslashes join physical
 * lines, as in CPython's tokenizer) with their indentation, which is all the readers need to know
 * which statement runs at import time and which function a call sits in.
 */

export type TokenKind = 'name' | 'number' | 'string' | 'op';

export interface Token {
  kind: TokenKind;
  /** The token's text; for strings, the decoded-enough value (quotes and prefix removed). */
  text: string;
  /** 1-based line where the token starts. */
  line: number;
  /** For strings: the prefix letters (`r`, `b`, `f`...), lower-cased. */
  prefix?: string;
}

/** One logical line: the tokens of a statement (or a header like `def f(...):`). */
export interface LogicalLine {
  /** Width of the leading whitespace of its first physical line (tabs to multiples of 8). */
  indent: number;
  /** 1-based first physical line. */
  line: number;
  tokens: Token[];
}

/** Why a source could not be tokenized (the reader reports the file as not fully scanned). */
export class TokenizeError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'TokenizeError';
  }
}

const OPERATORS = [
  '**=',
  '//=',
  '>>=',
  '<<=',
  '...',
  '->',
  ':=',
  '**',
  '//',
  '<<',
  '>>',
  '<=',
  '>=',
  '==',
  '!=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '@=',
];
const SINGLE = new Set('()[]{}:;,.+-*/%@=<>&|^~!');
const OPEN = new Set(['(', '[', '{']);
const CLOSE = new Set([')', ']', '}']);

const isNameStart = (c: string) => /[A-Za-z_]/.test(c) || c.charCodeAt(0) > 0x7f;
const isNameChar = (c: string) => /[A-Za-z0-9_]/.test(c) || c.charCodeAt(0) > 0x7f;

/** Most tokens any one file may produce: beyond it the analysis would be unbounded. */
export const MAX_TOKENS = 2_000_000;

/**
 * Splits Python source into logical lines of tokens. Throws {@link TokenizeError} on an unterminated
 * string or bracket, which CPython's compiler (and TorchScript's parser) would reject too.
 */
export function tokenizePython(src: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let current: LogicalLine | undefined;
  let depth = 0;
  let line = 1;
  let i = 0;
  let atLineStart = true;
  let count = 0;
  const n = src.length;

  const push = (t: Token) => {
    if (++count > MAX_TOKENS) throw new TokenizeError(`more than ${MAX_TOKENS} tokens`, line);
    if (!current) current = { indent: 0, line: t.line, tokens: [] };
    current.tokens.push(t);
  };
  const endLine = () => {
    if (current?.tokens.length) lines.push(current);
    current = undefined;
  };

  while (i < n) {
    if (atLineStart && depth === 0 && !current) {
      // measure indentation of a new logical line
      let width = 0;
      let j = i;
      while (j < n && (src[j] === ' ' || src[j] === '\t' || src[j] === '\f')) {
        width = src[j] === '\t' ? (Math.floor(width / 8) + 1) * 8 : src[j] === '\f' ? 0 : width + 1;
        j++;
      }
      i = j;
      atLineStart = false;
      if (i < n && src[i] !== '\n' && src[i] !== '\r' && src[i] !== '#') {
        current = { indent: width, line, tokens: [] };
      }
      continue;
    }
    const c = src[i] as string;
    if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      i++;
      line++;
      if (depth === 0) {
        endLine();
        atLineStart = true;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n' && src[i] !== '\r') i++;
      continue;
    }
    if (c === '\\' && (src[i + 1] === '\n' || src[i + 1] === '\r')) {
      i += src[i + 1] === '\r' && src[i + 2] === '\n' ? 3 : 2;
      line++;
      continue;
    }
    // string, possibly prefixed
    const pm = /^([rRbBuUfF]{1,2})?(['"])/.exec(src.slice(i, i + 4));
    if (pm && (pm[1] === undefined || isStringPrefix(pm[1]))) {
      const prefix = (pm[1] ?? '').toLowerCase();
      const start = line;
      const { value, end, lines: spanned } = readString(src, i + (pm[1]?.length ?? 0), prefix, line);
      push({ kind: 'string', text: value, line: start, prefix });
      line += spanned;
      i = end;
      if (prefix.includes('f')) {
        // f-string replacement fields are code that runs: tokenize them as such
        for (const field of fStringFields(value)) {
          for (const inner of tokenizePython(field))
            for (const t of inner.tokens) push({ ...t, line: start });
        }
      }
      continue;
    }
    if (isNameStart(c)) {
      let j = i + 1;
      while (j < n && isNameChar(src[j] as string)) j++;
      push({ kind: 'name', text: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n) {
        const d = src[j] as string;
        if (/[0-9A-Za-z_.]/.test(d)) j++;
        else if (
          (d === '+' || d === '-') &&
          /[eE]/.test(src[j - 1] as string) &&
          !/^0[xX]/.test(src.slice(i, j))
        )
          j++;
        else break;
      }
      push({ kind: 'number', text: src.slice(i, j), line });
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) {
      push({ kind: 'op', text: op, line });
      i += op.length;
      continue;
    }
    if (SINGLE.has(c)) {
      if (OPEN.has(c)) depth++;
      else if (CLOSE.has(c)) depth = Math.max(0, depth - 1);
      push({ kind: 'op', text: c, line });
      i++;
      continue;
    }
    throw new TokenizeError(`unexpected character ${JSON.stringify(c)}`, line);
  }
  if (depth > 0) throw new TokenizeError('unclosed bracket at end of file', line);
  endLine();
  return lines;
}

function isStringPrefix(p: string): boolean {
  const l = p.toLowerCase();
  return ['r', 'b', 'u', 'f', 'rb', 'br', 'fr', 'rf'].includes(l);
}

function readString(
  src: string,
  at: number,
  prefix: string,
  startLine: number,
): { value: string; end: number; lines: number } {
  const q = src[at] as string;
  const triple = src.startsWith(q.repeat(3), at);
  const close = triple ? q.repeat(3) : q;
  let i = at + close.length;
  let out = '';
  let lines = 0;
  const raw = prefix.includes('r');
  while (i < src.length) {
    const c = src[i] as string;
    if (src.startsWith(close, i)) return { value: out, end: i + close.length, lines };
    if (c === '\\') {
      const next = src[i + 1] ?? '';
      if (next === '\n') lines++;
      if (raw) out += c + next;
      else out += escapedChar(next);
      i += 2;
      continue;
    }
    if (c === '\n') {
      if (!triple) throw new TokenizeError('unterminated string', startLine + lines);
      lines++;
    }
    out += c;
    i++;
  }
  throw new TokenizeError('unterminated string', startLine);
}

function escapedChar(c: string): string {
  switch (c) {
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case 'r':
      return '\r';
    case '\n':
      return '';
    default:
      return c;
  }
}

/** The `{...}` replacement fields of an f-string body (`{{` is a literal brace). */
function fStringFields(body: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i < body.length) {
    if (body.startsWith('{{', i) || body.startsWith('}}', i)) {
      i += 2;
      continue;
    }
    if (body[i] === '{') {
      let depth = 1;
      let j = i + 1;
      while (j < body.length && depth > 0) {
        if (body[j] === '{') depth++;
        else if (body[j] === '}') depth--;
        j++;
      }
      // a format spec or conversion after the expression is not code
      const expr = body.slice(i + 1, j - 1).replace(/(![rsa])?(:[^{}]*)?$/, '');
      fields.push(expr);
      i = j;
      continue;
    }
    i++;
  }
  return fields;
}
