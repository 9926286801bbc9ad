import type { Note } from './types.js';

/**
 * TorchScript archives carry source (`code/**.py`) that `torch.jit.load` compiles and runs. Plain
 * model code calls `torch.*`, `ops.*` (registered operators) and the model's own `__torch__`
 * classes (`getattr(self, "0")` is how scripted containers reach submodules). Anything that
 * reaches for the host (imports, `os`, `eval`, `open`, `getattr` on anything but `self`...) is
 * reported with the line that does it.
 */
const ALLOWED_IMPORT = /^(torch|typing|__torch__|math|builtins\.(int|float|bool|str))\b/;
const HOST_ACCESS =
  /\b(?:os|sys|subprocess|posix|nt|socket|shutil|importlib|pickle|marshal|ctypes|builtins|runpy|pty|requests|urllib|http)\s*\.\s*\w+|\b(?:eval|exec|compile|__import__|open|globals|locals|input|breakpoint)\s*\(|\b(?:getattr|setattr|delattr)\s*\(\s*(?!self\s*,)/g;

/** Findings for one `code/` entry. */
export function analyzeTorchScript(entry: string, text: string): Note[] {
  const notes: Note[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && notes.length < 50; i++) {
    const line = lines[i] as string;
    const imp = /^\s*(?:import\s+([\w.]+)|from\s+([\w.]+)\s+import\b)/.exec(line);
    if (imp) {
      const mod = (imp[1] ?? imp[2]) as string;
      if (!ALLOWED_IMPORT.test(mod)) {
        notes.push({
          kind: 'finding',
          code: 'torchscript-foreign-import',
          message: `TorchScript code imports ${mod}`,
          entry,
          evidence: { line: i + 1, code: line.trim().slice(0, 200), module: mod },
        });
      }
    }
    for (const m of line.matchAll(HOST_ACCESS)) {
      notes.push({
        kind: 'finding',
        code: 'torchscript-foreign-call',
        message: `TorchScript code reaches outside torch: ${m[0].replace(/\s+/g, '')}`,
        entry,
        evidence: { line: i + 1, code: line.trim().slice(0, 200), call: m[0].replace(/\s+/g, '') },
      });
    }
  }
  return notes;
}
