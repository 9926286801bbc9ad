import type { ContainerFinding } from '@brine/core';
import { classifyImport } from './classify.js';
import {
  CUSTOM_CLASS_METHODS,
  CUSTOM_CLASSES,
  DANGEROUS_OPERATOR_REASONS,
  NAMESPACE_REASONS,
  OPERATOR_CLASSES,
  OPERATOR_TABLE,
  TORCHSCRIPT_REGISTRY_TORCH,
} from './data/torchscript-operators.js';
import type { Finding } from './types.js';

/** How one registered operator is classified (see `scripts/torchscript-operators.py`). */
export interface OperatorClass {
  /** `aten::from_file` */
  operator: string;
  /** `compute`, `language`, `file-system`, `memory-mapping`, `network`, `python-callback`. */
  class: string;
  fine: boolean;
  reason: string;
}

const TABLE = new Map<string, string>();
for (const line of OPERATOR_TABLE.split('\n')) {
  const [cls, ns, ...names] = line.trim().split(/\s+/);
  if (!cls || !ns) continue;
  for (const n of names) TABLE.set(`${ns}::${n}`, cls);
}
const CLASSES = new Set(CUSTOM_CLASSES);
const CLASS_METHODS = new Set(CUSTOM_CLASS_METHODS);

/** Number of operator names in the generated table. */
export const CLASSIFIED_OPERATORS = TABLE.size;

/**
 * The class of a registered operator (`aten::linear`), or undefined when torch's registry (as of the
 * torch the table was generated from) has no operator of that name.
 */
export function classifyOperator(operator: string): OperatorClass | undefined {
  const cls = TABLE.get(operator);
  if (!cls) return undefined;
  const info = OPERATOR_CLASSES[cls] ?? { fine: false, reason: cls };
  const ns = operator.slice(0, operator.indexOf('::'));
  const reason = DANGEROUS_OPERATOR_REASONS[operator] ?? NAMESPACE_REASONS[ns] ?? info.reason;
  return { operator, class: cls, fine: info.fine, reason };
}

/**
 * Methods TorchScript's compiler gives every class (construction, the object protocol): the printer
 * writes `__torch__.M.__new__(__torch__.M)` then `obj.__init__(...)`.
 */
const LANGUAGE_METHODS = new Set(['__init__', '__new__', '__getstate__', '__setstate__']);

/**
 * Words in an operator name that suggest host access. An operator of torch's own namespaces that the
 * table does not know (a newer torch added it) is only suspicious, unless its name says it may touch
 * files, processes, libraries or the network.
 */
const HOST_WORDS =
  /file|save|load|open|read|write|mmap|shm|share|socket|exec|system|spawn|popen|librar|dlopen|url|http|rpc|send|recv/i;

/** Is `ns::name` in a namespace torch itself registers (not a native library's), with a harmless-looking name? */
function isTorchOwned(operator: string): boolean {
  const sep = operator.indexOf('::');
  if (sep < 0) return false;
  const ns = operator.slice(0, sep);
  return Object.hasOwn(NAMESPACE_REASONS, ns) && ns !== 'c10d' && !HOST_WORDS.test(operator.slice(sep + 2));
}

type Draft = Omit<Finding, 'fails' | 'severity'> & { severity?: Finding['severity'] };

/** Where a call sits, for messages: `in Model.__setstate__, line 12: torch.save(w, "/tmp/x")`. */
function where(ev: Record<string, string | number | boolean>): string {
  const fn = typeof ev.function === 'string' ? ` in ${ev.function}` : '';
  if (ev.via === 'bytecode') return ' (listed in the mobile bytecode operator table)';
  const line = typeof ev.line === 'number' ? `, line ${ev.line}: ${String(ev.code ?? '')}` : '';
  return `${fn}${line}`;
}

/**
 * Judges one `torchscript-call` fact from the TorchScript reader. Returns undefined for calls that
 * are fine (registered operators that compute, language builtins, the archive's own methods).
 */
export function torchScriptCallDraft(cf: ContainerFinding): Draft | undefined {
  const ev = cf.evidence ?? {};
  const target = String(ev.target ?? '');
  const kind = String(ev.kind ?? '');
  const base = { path: cf.path, symbol: target, ...(cf.offset !== undefined ? { offset: cf.offset } : {}) };
  const at = where(ev);
  const dangerous = (c: OperatorClass, how: string): Draft => ({
    ...base,
    symbol: c.operator,
    ruleId: 'BRINE-CTR-002',
    verdict: 'dangerous',
    message: `TorchScript ${how} ${c.operator} [${c.class}]${at}: ${c.reason}`,
  });
  const unlisted = (what: string, torchOwned: boolean): Draft =>
    torchOwned
      ? {
          ...base,
          ruleId: 'BRINE-CTR-003',
          verdict: 'suspicious',
          severity: 'medium',
          message: `TorchScript ${what}${at}: not in the registry of torch ${TORCHSCRIPT_REGISTRY_TORCH} that brine's classification comes from (an operator of a newer torch?), so brine cannot tell what it does`,
        }
      : {
          ...base,
          ruleId: 'BRINE-CTR-003',
          verdict: 'dangerous',
          severity: 'high',
          message: `TorchScript ${what}${at}: not registered by torch ${TORCHSCRIPT_REGISTRY_TORCH}; operators of other namespaces exist only once a native library registering them is loaded, so brine cannot tell what it does`,
        };

  switch (kind) {
    case 'operator': {
      const c = classifyOperator(target);
      if (!c) return unlisted(`operator ${target}`, isTorchOwned(target));
      return c.fine ? undefined : dangerous(c, ev.via === 'bytecode' ? 'bytecode runs' : 'code calls');
    }
    case 'method': {
      const candidates = [`aten::${target}`, `prim::${target}`].map(classifyOperator);
      const bad = candidates.find((c) => c && !c.fine);
      if (bad) return dangerous(bad, 'code calls method');
      if (ev.archiveDefined === true || LANGUAGE_METHODS.has(target)) return undefined;
      if (candidates.some((c) => c?.fine) || CLASS_METHODS.has(target)) return undefined;
      return unlisted(
        `method .${target}() is neither defined by the archive nor a registered operator`,
        !HOST_WORDS.test(target),
      );
    }
    case 'custom-class':
      return CLASSES.has(target) ? undefined : unlisted(`class torch.classes ${target}`, false);
    case 'builtin':
    case 'class':
      return undefined;
    case 'unresolved': {
      const dot = target.lastIndexOf('.');
      const c =
        dot > 0
          ? classifyImport(target.slice(0, dot), target.slice(dot + 1))
          : classifyImport('builtins', target);
      return {
        ...base,
        ruleId: c.tier === 'dangerous' ? 'BRINE-CTR-002' : 'BRINE-CTR-003',
        verdict: 'dangerous',
        severity: c.tier === 'dangerous' ? 'critical' : 'high',
        message: `TorchScript code names ${target}${c.family ? ` [${c.family}]` : ''}${at}: torch's importer resolves only torch, ops, __torch__ and language builtins, so this is not code torch.jit.save writes`,
      };
    }
    default:
      return unlisted(`${kind} ${target}`, false);
  }
}
