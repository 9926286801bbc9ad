import type { ContainerFinding, ScanResult } from '@brine/core';
import { classifyImport, type ImportClass, isGadgetSurface } from './classify.js';
import type { Finding } from './types.js';

type Draft = Omit<Finding, 'fails' | 'severity'> & { severity?: Finding['severity'] };

/**
 * Dangerous families that are ordinary in source code: `functools.partial`, `getattr(self, name)`,
 * `super()` are reflection gadgets in a pickle, but in a module's own code they reach nothing outside
 * the process. `importlib` is the exception: it imports whatever module it is given.
 */
function reachesHost(c: ImportClass, module: string): boolean {
  if (c.tier !== 'dangerous') return false;
  if (c.family === 'reflection') return module === 'importlib' || module.startsWith('importlib.');
  return true;
}

/**
 * Namespace escapes in source: an escape attribute read from anything (`x.__globals__`), the builtins
 * module as a value, and the functions that hand out a namespace (`globals()`, `vars()`...).
 */
const ESCAPES = /^(\.\w+|builtins|builtins\.(?:globals|locals|vars|__dict__))$/;

function split(target: string): [string, string] {
  const dot = target.lastIndexOf('.');
  return dot > 0 ? [target.slice(0, dot), target.slice(dot + 1)] : ['builtins', target];
}

const line = (ev: Record<string, string | number | boolean>) =>
  typeof ev.line === 'number' ? ` (line ${ev.line}: ${String(ev.code ?? '')})` : '';

/**
 * Judges the torch.package reader's facts (`torch-package*` container findings). Host access from
 * packaged source or an extern module is dangerous; other code that runs at import is suspicious
 * (fails `strict`). Returns undefined for facts that need no finding, `null` for codes it does not own.
 */
export function torchPackageDraft(cf: ContainerFinding): Draft | undefined | null {
  const ev = cf.evidence ?? {};
  const base = { path: cf.path, ...(cf.offset !== undefined ? { offset: cf.offset } : {}) };
  switch (cf.code) {
    case 'torch-package':
      return { ...base, ruleId: 'BRINE-CTR-005', verdict: 'info', severity: 'info', message: cf.message };
    case 'torch-package-extern': {
      const module = String(ev.module ?? '');
      // torch and NumPy are on every loading machine and extern in every package (the pickles' own
      // torch imports come from there); what packaged code does with them is judged at its calls.
      const top = module.split('.')[0] ?? '';
      if (top === 'torch' || top === 'numpy') return undefined;
      const c = classifyImport(module, 'brine_module_probe');
      if (reachesHost(c, module)) {
        return {
          ...base,
          symbol: module,
          ruleId: 'BRINE-CTR-004',
          verdict: 'dangerous',
          message: `torch.package takes ${module} [${c.family}] from the loading machine (extern module): packaged code gets host access through it`,
        };
      }
      if (isGadgetSurface(module)) return undefined;
      return {
        ...base,
        symbol: module,
        ruleId: 'BRINE-CTR-005',
        verdict: 'suspicious',
        message: `torch.package imports ${module} from the loading machine (extern module): code outside the archive runs on load`,
      };
    }
    case 'torch-package-import': {
      const module = String(ev.module ?? '');
      const name = typeof ev.name === 'string' && ev.name !== '*' ? ev.name : 'brine_module_probe';
      const c = classifyImport(module, name);
      if (!reachesHost(c, module)) return undefined;
      const what = typeof ev.name === 'string' ? `${module}.${ev.name}` : module;
      return {
        ...base,
        symbol: what,
        ruleId: 'BRINE-CTR-004',
        verdict: 'dangerous',
        message: `packaged source imports ${what} [${c.family}]${line(ev)}`,
      };
    }
    case 'torch-package-call': {
      const target = String(ev.target ?? '');
      const namespaceWalk = ESCAPES.exec(target);
      if (namespaceWalk) {
        return {
          ...base,
          symbol: target,
          ruleId: 'BRINE-CTR-004',
          verdict: 'dangerous',
          message: `packaged source reaches ${namespaceWalk[1] ?? target} [reflection]: a walk to globals, builtins or frames${line(ev)}`,
        };
      }
      const [module, name] = split(target);
      const c = classifyImport(module, name);
      if (!reachesHost(c, module)) return undefined;
      const when = ev.onLoad === true ? 'runs at import' : 'in a function';
      return {
        ...base,
        symbol: target,
        ruleId: 'BRINE-CTR-004',
        verdict: 'dangerous',
        severity: ev.onLoad === true ? 'critical' : 'high',
        message: `packaged source ${ev.reference === true ? 'names' : 'calls'} ${target} [${c.family}] (${when})${line(ev)}`,
      };
    }
    case 'torch-package-load-code':
      return {
        ...base,
        ruleId: 'BRINE-CTR-005',
        verdict: 'suspicious',
        message: `packaged module ${String(ev.module ?? '')} runs code when PackageImporter imports it${line(ev)}`,
      };
    default:
      return null;
  }
}

/**
 * Imports of `torch.jit._script.unpackage_script_module` that a torch.package pickle uses only the way
 * `ScriptModule.__reduce_package__` writes it: as the function of a `('reduce_package', id, fn, args)`
 * persistent id, which PackageImporter answers by compiling the archive's `.data/ts_code` TorchScript
 * (reported and judged as TorchScript calls). Any other use keeps its dangerous tier.
 */
export function packagedScriptModules(r: ScanResult): number[] {
  const out: number[] = [];
  r.imports.forEach((imp, i) => {
    if (
      !imp.resolved ||
      imp.called ||
      imp.module !== 'torch.jit._script' ||
      imp.name !== 'unpackage_script_module'
    )
      return;
    let uses = 0;
    let shaped = 0;
    const visit = (v: EvidenceLike, depth: number, asPackageFn: boolean) => {
      if (depth > 8) return;
      if (v.kind === 'global' && v.importIndex === i) {
        uses++;
        if (asPackageFn) shaped++;
      } else if (v.kind === 'tuple' || v.kind === 'list' || v.kind === 'set' || v.kind === 'frozenset') {
        const pkg = v.kind === 'tuple' && v.items[0]?.kind === 'str' && v.items[0].value === 'reduce_package';
        v.items.forEach((x, k) => {
          visit(x, depth + 1, pkg && k === 2 && depth === 0);
        });
      } else if (v.kind === 'dict') {
        for (const [a, b] of v.entries) {
          visit(a, depth + 1, false);
          visit(b, depth + 1, false);
        }
      }
    };
    for (const p of r.persistentIds) visit(p.pid, 0, false);
    for (const c of r.calls) {
      visit(c.target, 1, false);
      for (const a of c.args) visit(a, 1, false);
      if (c.kwargs) visit(c.kwargs, 1, false);
    }
    if (uses > 0 && uses === shaped) out.push(i);
  });
  return out;
}

type EvidenceLike = ScanResult['persistentIds'][number]['pid'];
