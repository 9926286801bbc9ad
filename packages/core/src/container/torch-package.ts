import { readPythonModule } from './python-module.js';
import { TokenizeError } from './python-tokens.js';
import type { Note } from './types.js';

/**
 * torch.package archives (`torch.package.PackageExporter`): a torch zip whose `.data/` folder holds
 * `version` and `extern_modules`, beside the packaged Python modules (`<prefix>/models/net.py`) and
 * pickled resources. `PackageImporter` imports a packaged module — running its top-level code —
 * whenever a pickle names a class from it; an *extern* module is imported from the loading machine
 * instead; a *mocked* module is replaced by torch's `_mock` stub. This reader reports those facts:
 * which modules are packaged, extern and mocked, and for every packaged module what it imports,
 * what host functions it calls and which statements run when it is imported. `@brine/rules` judges.
 */

/** Is this zip (by its entry names) a torch.package archive? Recognised by torch's own markers. */
export function isTorchPackage(names: readonly string[], prefix: string | undefined): boolean {
  if (prefix === undefined) return false;
  return names.includes(`${prefix}/.data/version`) && names.includes(`${prefix}/.data/extern_modules`);
}

/** Bytes of one source file (TorchScript code/, packaged module, bytecode.pkl) read for analysis: traced graphs of big models print megabytes of code. */
export const MAX_PACKAGE_SOURCE_BYTES = 16 * 1024 * 1024;

/**
 * What `PackageExporter.mock()` writes for a mocked module (torch's `_MOCK_IMPL` stub): attribute
 * access returns a `MockedObject` from the packaged `_mock` module. Matched exactly; mocked modules
 * are still analysed like any other source.
 */
const MOCK_STUB =
  /^from _mock import MockedObject\s+def __getattr__\(attr: str\):\s+return MockedObject\(__name__ \+ '\.' \+ attr, _suppress_err=True\)$/;

export class TorchPackageCollector {
  private readonly sources: Array<{ entry: string; module: string; isPackage: boolean; text: string }> = [];
  private externs: string[] = [];
  private readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Is `name` an entry this collector wants to read as text? */
  wants(name: string): boolean {
    if (!name.startsWith(`${this.prefix}/`)) return false;
    return (
      name === `${this.prefix}/.data/extern_modules` ||
      (name.endsWith('.py') && !name.startsWith(`${this.prefix}/.data/`))
    );
  }

  add(name: string, text: string): void {
    if (name === `${this.prefix}/.data/extern_modules`) {
      this.externs = text
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter(Boolean);
      return;
    }
    const rel = name.slice(this.prefix.length + 1, -'.py'.length);
    const isPackage = rel === '__init__' || rel.endsWith('/__init__');
    const module = (isPackage ? rel.slice(0, -'__init__'.length).replace(/\/$/, '') : rel)
      .split('/')
      .join('.');
    this.sources.push({ entry: name, module, isPackage, text });
  }

  notes(): Note[] {
    const notes: Note[] = [];
    const mocked = this.sources.filter((s) => MOCK_STUB.test(s.text.trim()));
    const mockedNames = new Set(mocked.map((s) => s.module));
    const packaged = this.sources.filter((s) => s.module !== '_mock' && !mockedNames.has(s.module));
    const packagedNames = new Set(this.sources.map((s) => s.module));
    notes.push({
      kind: 'finding',
      code: 'torch-package',
      message: `torch.package archive: ${packaged.length} packaged module(s) that run when imported, ${this.externs.length} extern (host) module(s), ${mocked.length} mocked`,
      evidence: {
        packaged: packaged
          .map((s) => s.module)
          .slice(0, 50)
          .join(', '),
        extern: this.externs.slice(0, 50).join(', '),
        mocked: mocked
          .map((s) => s.module)
          .slice(0, 50)
          .join(', '),
      },
    });
    for (const m of this.externs) {
      notes.push({
        kind: 'finding',
        code: 'torch-package-extern',
        message: `torch.package imports ${m} from the loading machine (extern module)`,
        entry: `${this.prefix}/.data/extern_modules`,
        evidence: { module: m },
      });
    }
    const isPackaged = (mod: string) => {
      for (let m = mod; m; m = m.includes('.') ? m.slice(0, m.lastIndexOf('.')) : '') {
        if (packagedNames.has(m) || mockedNames.has(m)) return true;
      }
      return false;
    };
    for (const s of this.sources) {
      let facts: ReturnType<typeof readPythonModule>;
      try {
        facts = readPythonModule(s.text, s.module, s.isPackage);
      } catch (err) {
        if (!(err instanceof TokenizeError)) throw err;
        notes.push({
          kind: 'problem',
          code: 'torch-package-unreadable',
          message: `packaged module ${s.module} cannot be tokenized (line ${err.line}: ${err.message}); brine cannot vouch for what it runs`,
          entry: s.entry,
        });
        continue;
      }
      const seen = new Set<string>();
      for (const imp of facts.imports) {
        const full = imp.name !== undefined && imp.name !== '*' ? `${imp.module}.${imp.name}` : imp.module;
        if (isPackaged(imp.module) || isPackaged(full)) continue;
        const key = `i:${full}`;
        if (seen.has(key)) continue;
        seen.add(key);
        notes.push({
          kind: 'finding',
          code: 'torch-package-import',
          message: `packaged module ${s.module} imports ${full} from the host`,
          entry: s.entry,
          evidence: {
            module: imp.module,
            ...(imp.name !== undefined ? { name: imp.name } : {}),
            line: imp.line,
            code: imp.code,
            onLoad: imp.onLoad,
          },
        });
      }
      for (const c of facts.calls) {
        if (isPackaged(c.target)) continue;
        const key = `c:${c.target}:${c.onLoad}`;
        if (seen.has(key)) continue;
        seen.add(key);
        notes.push({
          kind: 'finding',
          code: 'torch-package-call',
          message: `packaged module ${s.module} ${c.reference ? 'names' : 'calls'} ${c.target}`,
          entry: s.entry,
          evidence: {
            target: c.target,
            line: c.line,
            code: c.code,
            onLoad: c.onLoad,
            reference: c.reference,
          },
        });
      }
      for (const st of facts.statements) {
        notes.push({
          kind: 'finding',
          code: 'torch-package-load-code',
          message: `packaged module ${s.module} runs code when imported`,
          entry: s.entry,
          evidence: { module: s.module, line: st.line, code: st.code },
        });
      }
    }
    return notes;
  }
}
