import type {
  EvidenceValue,
  FileScan,
  InnerPath,
  PickleCall,
  PickleImport,
  ScanResult,
  StreamScan,
} from '@brine/core';
import { boundMethodGetattrs } from './bound-method.js';
import { getRule, RULESET_VERSION } from './catalog.js';
import { classifyImport, GADGET_SURFACE, type ImportClass } from './classify.js';
import { provenDataCalls } from './data-calls.js';
import { builtinPolicies, entriesCover, globMatches, type Policy } from './policy.js';
import { packagedScriptModules, torchPackageDraft } from './torch-package.js';
import { torchScriptCallDraft } from './torchscript.js';
import type { ClassifiedImport, FileReport, Finding, Severity, Verdict } from './types.js';

/** Optional facts about the file that the scan itself does not carry. */
export interface EvaluateContext {
  /** SHA-256 (hex) of the file's content, e.g. the staged blob in the pre-commit hook. Needed by pinned waivers. */
  sha256?: string;
  /** Path used for waiver globs and reports, when it differs from `scan.file`. */
  displayPath?: string;
}

const NESTED_STREAM = /‹nested@/;
const LITERAL_KINDS = new Set([
  'none',
  'bool',
  'int',
  'float',
  'str',
  'bytes',
  'tuple',
  'list',
  'set',
  'frozenset',
  'dict',
]);

/** Container finding codes that hide a member from scanners while torch still loads it. */
const CONTAINER_SEVERITY: Record<string, Severity> = {
  'zip-crc-mismatch': 'high',
  'zip-local-name-mismatch': 'high',
  'zip-flag-bits': 'high',
  'zip-flag-mismatch': 'high',
  'zip-encrypted': 'high',
  'zip-multiple-eocd': 'high',
  'zip-duplicate-name': 'high',
  'zip-prepended-data': 'high',
  'zip-data-before-first-entry': 'high',
  'zip-unlisted-data': 'high',
  'zip-method-mismatch': 'high',
  'zip-size-mismatch': 'high',
  'zip-path-traversal': 'high',
  polyglot: 'high',
  'polyglot-zip': 'high',
  'stream-polyglot-unscanned': 'high',
  'legacy-magic-not-literal': 'high',
  'name-format-mismatch': 'medium',
};

/** Container facts that every file of a format has: reported for information only. */
const CONTAINER_INFO = new Set(['torchscript-code']);

/**
 * Anomalies at which the real unpickler raises: nothing after them runs, and brine's simulation past
 * them is best-effort, so the stream cannot be vouched for (fail closed).
 */
const LOADER_REJECTS = new Set([
  'stack-underflow',
  'mark-missing',
  'memo-miss',
  'bad-memo-key',
  'bad-argument',
  'unknown-proto',
]);

type Draft = Omit<Finding, 'fails' | 'severity'> & { severity?: Severity };

/** An import after the policy's allow/deny entries are applied. */
interface PolicyClass extends ImportClass {
  denied?: boolean;
  allowed?: boolean;
  /** Set when call evidence proved the import only constructs data (BRINE-IMP-007). */
  evidence?: string;
}

function classifyUnderPolicy(imp: PickleImport, policy: Policy): PolicyClass {
  if (!imp.resolved) {
    return {
      tier: 'dangerous',
      family: 'unresolved',
      reason: `STACK_GLOBAL operands are not plain strings (${imp.module} / ${imp.name})`,
    };
  }
  const c = classifyImport(imp.module, imp.name, imp.protocol);
  if (entriesCover(policy.deny, imp.module, imp.name)) {
    return {
      tier: 'dangerous',
      family: c.family ?? 'policy-deny',
      reason: `${imp.module}.${imp.name} is denied by policy ${policy.name}`,
      denied: true,
    };
  }
  if (c.tier === 'unknown' && entriesCover(policy.allow, imp.module, imp.name)) {
    return {
      tier: 'known',
      reason: `${imp.module}.${imp.name} is allowed by policy ${policy.name}`,
      allowed: true,
    };
  }
  return c;
}

/** Renders evidence roughly as Python source, bounded in size, for messages. */
function render(v: EvidenceValue | undefined, r: ScanResult, depth = 0): string {
  if (!v) return '?';
  switch (v.kind) {
    case 'none':
      return 'None';
    case 'bool':
      return v.value ? 'True' : 'False';
    case 'int':
      return v.value;
    case 'float':
      return String(v.value);
    case 'str':
      return `'${v.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}${v.truncated ? '…' : ''}'`;
    case 'bytes':
      return `<${v.length} bytes${v.preview ? ` ${v.preview.slice(0, 32)}${v.preview.length > 32 ? '…' : ''}` : ''}>`;
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset': {
      if (depth > 3) return '…';
      const inner = v.items.slice(0, 6).map((x) => render(x, r, depth + 1));
      if (v.items.length > 6 || v.truncated) inner.push('…');
      const body = inner.join(', ');
      if (v.kind === 'tuple') return `(${body}${v.items.length === 1 ? ',' : ''})`;
      if (v.kind === 'list') return `[${body}]`;
      return `${v.kind}({${body}})`;
    }
    case 'dict': {
      if (depth > 3) return '{…}';
      const inner = v.entries
        .slice(0, 4)
        .map(([k, x]) => `${render(k, r, depth + 1)}: ${render(x, r, depth + 1)}`);
      if (v.entries.length > 4 || v.truncated) inner.push('…');
      return `{${inner.join(', ')}}`;
    }
    case 'global': {
      const imp = r.imports[v.importIndex];
      return imp ? `${imp.module}.${imp.name}` : `<global #${v.importIndex}>`;
    }
    case 'call': {
      const c = r.calls[v.callIndex];
      if (!c || depth > 3) return `<call #${v.callIndex}>`;
      return renderCall(c, r, depth + 1);
    }
    case 'ext':
      return `<ext ${v.code}>`;
    case 'persid':
      return `<persistent #${v.persidIndex}>`;
    case 'opaque':
      return `<${v.what}>`;
  }
}

function renderCall(c: PickleCall, r: ScanResult, depth = 0): string {
  const target = render(c.target, r, depth);
  if (c.opcode === 'BUILD') return `${target}.__setstate__(${render(c.args[0], r, depth)})`;
  const args = c.args.map((a) => render(a, r, depth));
  if (c.kwargs) args.push(`**${render(c.kwargs, r, depth)}`);
  const s = `${target}(${args.join(', ')})`;
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}

function isTorchStoragePid(pid: EvidenceValue, r: ScanResult): boolean {
  if (pid.kind !== 'tuple' || pid.items.length < 5 || pid.items.length > 6) return false;
  const [tag, cls, key, location, numel] = pid.items;
  if (tag?.kind !== 'str' || tag.value !== 'storage') return false;
  if (cls?.kind !== 'global') return false;
  const imp = r.imports[cls.importIndex];
  if (!imp?.resolved || classifyImport(imp.module, imp.name).tier !== 'safe') return false;
  // torch.save names the legacy storage class (FloatStorage...) or UntypedStorage.
  if (!/Storage$/.test(imp.name)) return false;
  // torch.package's PackageImporter names `.data/<key>.storage` with an int key
  return (key?.kind === 'str' || key?.kind === 'int') && location?.kind === 'str' && numel?.kind === 'int';
}

/** Legacy torch.save (before 1.6) records each nn.Module class with its source: ('module', cls, file, source). */
function isTorchModulePid(pid: EvidenceValue): boolean {
  if (pid.kind !== 'tuple' || pid.items.length !== 4) return false;
  const [tag, cls] = pid.items;
  return tag?.kind === 'str' && tag.value === 'module' && cls?.kind === 'global';
}

function isModulePidRef(v: EvidenceValue, r: ScanResult): boolean {
  if (v.kind !== 'persid') return false;
  const p = r.persistentIds[v.persidIndex];
  return p !== undefined && isTorchModulePid(p.pid);
}

function hasLiteralPayload(args: EvidenceValue[]): EvidenceValue | undefined {
  for (const a of args) {
    if (a.kind === 'bytes' || a.kind === 'str') return a;
    if (a.kind === 'tuple' || a.kind === 'list') {
      const inner = hasLiteralPayload(a.items);
      if (inner) return inner;
    }
  }
  return undefined;
}

function streamFindings(
  s: StreamScan,
  policy: Policy,
  imports: ClassifiedImport[],
  out: Draft[],
  streams: StreamScan[],
): void {
  const r = s.result;
  const path: InnerPath = s.path;
  const classes = r.imports.map((imp) => classifyUnderPolicy(imp, policy));
  for (const i of boundMethodGetattrs(r)) {
    const denied = classes[i]?.denied;
    if (!denied) {
      classes[i] = {
        tier: 'known',
        reason:
          'builtins.getattr only rebuilds bound methods of framework objects (getattr(obj, name), never called while loading)',
      };
    }
  }

  for (const i of packagedScriptModules(r)) {
    if (!classes[i]?.denied) {
      classes[i] = {
        tier: 'known',
        reason:
          "torch.package's importer rebuilds a packaged ScriptModule from .data/ts_code, whose TorchScript brine judges operator by operator",
      };
    }
  }

  // Call evidence that clears gadgets used only in data shapes (getattr reconstructors, type(None)...).
  // Offsets of the literals scanned as nested streams of their own (complete scans only).
  const nestedDone = new Set<number>();
  for (const x of streams) {
    if (x.path.length <= path.length || !path.every((p, k) => x.path[k] === p)) continue;
    const m = /^‹nested@(\d+)›$/.exec(x.path[path.length] ?? '');
    if (m && x.result.complete) nestedDone.add(Number(m[1]));
  }
  const proof = provenDataCalls(r, classes, (offset) => nestedDone.has(offset));
  for (const [i, why] of proof.imports) {
    if (classes[i]?.denied) continue;
    classes[i] = { tier: 'known', reason: why, evidence: why };
  }

  // First call that applies each import, for evidence.
  const callOf = new Map<number, PickleCall>();
  for (const c of r.calls) {
    if (c.opcode !== 'BUILD' && c.target.kind === 'global' && !callOf.has(c.target.importIndex)) {
      callOf.set(c.target.importIndex, c);
    }
  }

  const knownSeen = new Set<string>();
  r.imports.forEach((imp, i) => {
    const c = classes[i] as PolicyClass;
    const symbol = `${imp.module}.${imp.name}`;
    imports.push({
      module: imp.module,
      name: imp.name,
      tier: c.tier,
      ...(c.family ? { family: c.family } : {}),
      path,
      offset: imp.offset,
      opcode: imp.opcode,
      called: imp.called,
    });
    if (c.tier === 'safe' || (c.tier === 'known' && knownSeen.has(symbol))) return;
    const call = callOf.get(i);
    const rendered = call ? renderCall(call, r) : undefined;
    const how = imp.called
      ? rendered
        ? `and calls it: ${rendered}`
        : 'and calls it'
      : '(imported, not called directly)';
    let ruleId: string;
    let verdict: Finding['verdict'];
    let severity: Severity;
    let message: string;
    if (!imp.resolved) {
      ruleId = 'BRINE-IMP-005';
      verdict = 'dangerous';
      severity = 'critical';
      message = `STACK_GLOBAL with computed operands (${imp.module} / ${imp.name}): what it imports cannot be known ${how}`;
    } else if (c.tier === 'dangerous') {
      ruleId = c.denied ? 'BRINE-IMP-006' : 'BRINE-IMP-001';
      verdict = 'dangerous';
      severity = c.denied ? 'high' : imp.called ? 'critical' : 'high';
      message = `imports ${symbol} [${c.family}] ${how}. ${c.reason}`;
    } else if (c.tier === 'unknown') {
      const surface = c.family === GADGET_SURFACE;
      ruleId = surface ? 'BRINE-IMP-002' : 'BRINE-IMP-003';
      verdict = surface ? policy.tiers.unknownSurface : policy.tiers.unknown;
      severity = verdict === 'dangerous' ? 'high' : 'medium';
      message = surface
        ? `imports ${symbol} ${how}: unlisted callable from the gadget surface`
        : `imports ${symbol} ${how}: not on any list (a user's own class or an unlisted library)`;
    } else {
      knownSeen.add(symbol);
      const v = policy.tiers.known;
      ruleId = c.evidence ? 'BRINE-IMP-007' : 'BRINE-IMP-004';
      verdict = v === 'allow' ? 'info' : v;
      severity = v === 'allow' ? 'info' : 'medium';
      const why = c.allowed
        ? `allowed by policy ${policy.name}`
        : c.evidence || symbol.endsWith('.getattr')
          ? c.reason
          : 'known framework class or stdlib data type';
      message = `imports ${symbol}: ${why}${v === 'allow' ? '' : ` (not accepted by policy ${policy.name})`}`;
    }
    const f: Draft = {
      ruleId,
      severity,
      verdict,
      message,
      path,
      offset: imp.offset,
      opcode: imp.opcode,
      symbol,
    };
    if (rendered) f.call = rendered;
    out.push(f);
  });

  for (const e of r.extensions) {
    out.push({
      ruleId: 'BRINE-PKL-001',
      verdict: 'dangerous',
      path,
      offset: e.offset,
      opcode: e.opcode,
      message: `${e.opcode} ${e.code} imports through the copyreg extension registry, invisible as a GLOBAL`,
    });
  }

  const scriptModules = new Set(packagedScriptModules(r));
  for (const p of r.persistentIds) {
    if (isTorchStoragePid(p.pid, r) || isTorchModulePid(p.pid)) continue;
    // ('reduce_package', id, unpackage_script_module, (module_id,)): torch.package's packaged ScriptModule
    const fn = p.pid.kind === 'tuple' ? p.pid.items[2] : undefined;
    if (fn?.kind === 'global' && scriptModules.has(fn.importIndex)) continue;
    out.push({
      ruleId: 'BRINE-PKL-002',
      verdict: 'suspicious',
      path,
      offset: p.offset,
      opcode: p.opcode,
      message: `persistent id ${render(p.pid, r)} is not torch's ('storage', <storage class>, key, location, numel): the loader's persistent_load decides what it does`,
    });
  }

  for (const [ci, c] of r.calls.entries()) {
    const t = c.target;
    if (c.opcode === 'BUILD') {
      if (t.kind === 'global') {
        out.push({
          ruleId: 'BRINE-PKL-003',
          verdict: 'dangerous',
          path,
          offset: c.offset,
          opcode: 'BUILD',
          call: renderCall(c, r),
          message: `BUILD sets state on the global ${render(t, r)} itself: monkey-patches it for the whole process`,
        });
      } else if (LITERAL_KINDS.has(t.kind)) {
        out.push({
          ruleId: 'BRINE-PKL-004',
          verdict: 'suspicious',
          path,
          offset: c.offset,
          opcode: 'BUILD',
          message: `BUILD on a literal ${t.kind}`,
        });
      }
      continue;
    }
    if (LITERAL_KINDS.has(t.kind)) {
      out.push({
        ruleId: 'BRINE-PKL-005',
        verdict: 'suspicious',
        path,
        offset: c.offset,
        opcode: c.opcode,
        message: `${c.opcode} applies a literal ${t.kind} as a callable`,
      });
    } else if (t.kind === 'persid' && isModulePidRef(t, r)) {
      // Legacy torch.save: the class of an nn.Module comes back from persistent_load (its import is classified).
    } else if (t.kind === 'call' && proof.calls.has(ci)) {
      // A reconstructor reached through getattr(<known class>, '<name>') and fed literals (BRINE-IMP-007).
    } else if (t.kind === 'call' || t.kind === 'ext' || t.kind === 'persid') {
      out.push({
        ruleId: 'BRINE-PKL-006',
        verdict: 'dangerous',
        path,
        offset: c.offset,
        opcode: c.opcode,
        call: renderCall(c, r),
        message: `${c.opcode} calls a value computed at load time: ${renderCall(c, r)}`,
      });
    } else if (t.kind === 'global') {
      const cls = classes[t.importIndex];
      const literal = hasLiteralPayload(c.args);
      // A loader called on a literal, or any non-safe callable handed bytes that start like a pickle.
      const looksPickled = literal?.kind === 'bytes' && /^80(0[0-5])/.test(literal.preview);
      if (
        cls &&
        cls.tier !== 'safe' &&
        !cls.evidence &&
        (cls.family === 'nested-deserialisation' || looksPickled)
      ) {
        const payload = literal;
        if (payload) {
          const nested = streams.filter(
            (x) =>
              x !== s &&
              x.path.length === path.length + 1 &&
              path.every((p, k) => x.path[k] === p) &&
              NESTED_STREAM.test(x.path[x.path.length - 1] ?? ''),
          ).length;
          out.push({
            ruleId: 'BRINE-PKL-007',
            verdict: 'dangerous',
            path,
            offset: c.offset,
            opcode: c.opcode,
            symbol: render(t, r),
            call: renderCall(c, r),
            message: `calls loader ${render(t, r)} on an embedded ${payload.kind === 'bytes' ? 'bytes' : 'string'} literal (${payload.kind === 'bytes' || payload.kind === 'str' ? payload.length : '?'} bytes)${nested ? `; ${nested} embedded pickle stream(s) scanned separately` : ''}`,
          });
        }
      }
    }
  }

  const last = path[path.length - 1] ?? '';
  if (NESTED_STREAM.test(last)) {
    out.push({
      ruleId: 'BRINE-PKL-011',
      verdict: 'info',
      path,
      offset: 0,
      message: 'embedded pickle found inside a bytes/str literal and scanned as its own stream',
    });
  }

  const seenCodes = new Set<string>();
  for (const a of r.anomalies) {
    // A FRAME running past the end of input makes the C unpickler fail at the FRAME itself (it reads the
    // whole frame first), so the crossing it implies hides nothing; the truncation already fails closed.
    const pastEnd =
      a.code === 'frame-crossing' &&
      r.anomalies.some((x) => x.pickleIndex === a.pickleIndex && x.code === 'oversized-frame') &&
      r.anomalies.some((x) => x.pickleIndex >= a.pickleIndex && x.code === 'truncated' && x.fatal);
    if (a.code === 'frame-crossing' && !pastEnd) {
      out.push({
        ruleId: 'BRINE-PKL-009',
        verdict: 'dangerous',
        path,
        offset: a.offset,
        message: `${a.code}: ${a.message}`,
      });
      continue;
    }
    if (a.fatal) {
      // nullifAI: the loader runs every call before the point where the stream breaks.
      let worst: 'dangerous' | 'suspicious' | undefined;
      let example: PickleCall | undefined;
      for (const c of r.calls) {
        if (c.pickleIndex !== a.pickleIndex || c.offset > a.offset || c.opcode === 'BUILD') continue;
        const t = c.target;
        const tier = t.kind === 'global' ? classes[t.importIndex]?.tier : 'dangerous';
        if (tier === 'safe') continue;
        const v = tier === 'known' ? 'suspicious' : 'dangerous';
        if (!worst || v === 'dangerous') {
          if (worst !== 'dangerous') example = c;
          worst = worst === 'dangerous' ? worst : v;
        }
      }
      if (worst && example) {
        out.push({
          ruleId: 'BRINE-PKL-008',
          verdict: worst,
          path,
          offset: a.offset,
          call: renderCall(example, r),
          message: `stream breaks (${a.code}) after ${renderCall(example, r)} already ran`,
        });
      }
      continue;
    }
    if (seenCodes.has(a.code)) continue;
    seenCodes.add(a.code);
    if (LOADER_REJECTS.has(a.code) && r.complete) {
      out.push({
        ruleId: 'BRINE-SCAN-001',
        verdict: 'suspicious',
        path,
        offset: a.offset,
        message: `the unpickler fails here (${a.code}: ${a.message}); what follows was scanned on a best-effort basis`,
      });
      continue;
    }
    out.push({
      ruleId: 'BRINE-PKL-010',
      verdict: 'suspicious',
      path,
      offset: a.offset,
      message: `${a.code}: ${a.message}`,
    });
  }

  if (!r.complete) {
    const fatal = r.anomalies.find((a) => a.fatal);
    out.push({
      ruleId: 'BRINE-SCAN-001',
      verdict: 'suspicious',
      path,
      ...(fatal ? { offset: fatal.offset } : {}),
      message: fatal
        ? `pickle stream not fully scanned: ${fatal.code} at offset ${fatal.offset}: ${fatal.message}`
        : 'pickle stream not fully scanned',
    });
  }
}

function waiverFor(f: Finding, policy: Policy, file: string, sha256: string | undefined, notes: string[]) {
  for (const w of policy.waivers) {
    if (w.rule !== f.ruleId || !globMatches(w.path, file)) continue;
    if (w.symbol && w.symbol !== f.symbol) continue;
    if (w.sha256 && w.sha256 !== sha256?.toLowerCase()) {
      const note = `waiver for ${w.rule} on ${w.path} not applied: it is pinned to sha256 ${w.sha256.slice(0, 12)}…, the file is ${sha256 ? `${sha256.slice(0, 12)}…` : 'of unknown hash'}`;
      if (!notes.includes(note)) notes.push(note);
      continue;
    }
    return w;
  }
  return undefined;
}

const VERDICT_RANK: Record<Verdict, number> = { clean: 0, suspicious: 1, unscannable: 2, dangerous: 3 };

/**
 * Applies a policy to what the engine found in one file: classifies every import, adds structural,
 * container and fail-closed findings, applies waivers, and decides the verdict and whether it fails.
 *
 * A file that could not be fully scanned is `unscannable` (it fails) unless something dangerous was
 * found, in which case it is `dangerous` with the problem still listed. Nothing near the file (its
 * name, a config.json beside it) ever lowers a finding.
 */
export function evaluate(
  scan: FileScan,
  policy: Policy = builtinPolicies.default,
  context: EvaluateContext = {},
): FileReport {
  const drafts: Draft[] = [];
  const imports: ClassifiedImport[] = [];
  const fileOffsetOf = new Map<InnerPath, number>();
  for (const s of scan.streams) {
    if (s.fileOffset !== undefined) fileOffsetOf.set(s.path, s.fileOffset);
    streamFindings(s, policy, imports, drafts, scan.streams);
  }

  for (const cf of scan.containerFindings) {
    // Code inside the archive (TorchScript, torch.package): the readers report facts, judged here.
    if (cf.code === 'torchscript-call') {
      const d = torchScriptCallDraft(cf);
      if (d) drafts.push(d);
      continue;
    }
    const pkg = torchPackageDraft(cf);
    if (pkg !== null) {
      if (pkg) drafts.push(pkg);
      continue;
    }
    const info = CONTAINER_INFO.has(cf.code);
    drafts.push({
      ruleId: 'BRINE-CTR-001',
      verdict: info ? 'info' : 'suspicious',
      severity: info ? 'info' : (CONTAINER_SEVERITY[cf.code] ?? 'medium'),
      path: cf.path,
      ...(cf.offset !== undefined ? { offset: cf.offset } : {}),
      message: `${cf.code}: ${cf.message}`,
    });
  }
  for (const p of scan.problems) {
    drafts.push({
      ruleId: 'BRINE-SCAN-001',
      verdict: 'suspicious',
      path: p.path,
      ...(p.offset !== undefined ? { offset: p.offset } : {}),
      message: `${p.code}: ${p.message}`,
    });
  }
  if (scan.streams.length === 0 && scan.problems.length === 0 && scan.format === 'unknown') {
    drafts.push({
      ruleId: 'BRINE-SCAN-001',
      verdict: 'suspicious',
      path: [scan.file],
      message: 'format not recognised: no pickle stream could be located, so nothing was scanned',
    });
  }

  const file = context.displayPath ?? scan.file;
  const notes: string[] = [];
  const findings: Finding[] = drafts.map((d) => {
    // Drafts are this function's own objects: finish them in place rather than copying each one.
    const f = d as Finding;
    f.severity = d.severity ?? getRule(d.ruleId)?.severity ?? 'medium';
    f.fails = false;
    const fo = fileOffsetOf.get(d.path);
    if (fo !== undefined && d.offset !== undefined && f.fileOffset === undefined)
      f.fileOffset = fo + d.offset;
    const w = waiverFor(f, policy, file, context.sha256, notes);
    if (w) {
      f.waived = { reason: w.reason ?? `waived by policy ${policy.name} for ${w.path}` };
      return f;
    }
    f.fails =
      f.ruleId === 'BRINE-SCAN-001' ||
      f.verdict === 'dangerous' ||
      (f.verdict === 'suspicious' && policy.failOn === 'suspicious');
    return f;
  });

  let verdict: Verdict = 'clean';
  for (const f of findings) {
    if (f.waived || f.verdict === 'info') continue;
    const v: Verdict = f.ruleId === 'BRINE-SCAN-001' ? 'unscannable' : f.verdict;
    if (VERDICT_RANK[v] > VERDICT_RANK[verdict]) verdict = v;
  }

  const reasons: string[] = [];
  const active = findings.filter((f) => !f.waived && f.verdict !== 'info');
  const ordered = [...active].sort((a, b) => Number(b.fails) - Number(a.fails) || rankOf(b) - rankOf(a));
  for (const f of ordered.slice(0, 5))
    reasons.push(`${f.ruleId} ${f.verdict}${f.fails ? ' (fails)' : ''}: ${f.message}`);
  if (ordered.length > 5) reasons.push(`… and ${ordered.length - 5} more finding(s)`);
  const waived = findings.filter((f) => f.waived).length;
  if (waived) reasons.push(`${waived} finding(s) waived by policy ${policy.name}`);
  reasons.push(...notes);
  if (reasons.length === 0) {
    if (!scan.streams.length) reasons.push('no pickle stream in this file');
    else if (!imports.length) reasons.push('plain data: the pickle imports nothing');
    else reasons.push('every import is on the safe or known list');
  }

  let pickles = 0;
  let opcodes = 0;
  for (const s of scan.streams) {
    pickles += s.result.stats.pickles;
    opcodes += s.result.stats.opcodes;
  }
  const problems = scan.problems.map((p) => ({
    code: p.code,
    message: p.message,
    path: p.path,
    ...(p.offset !== undefined ? { offset: p.offset } : {}),
  }));
  for (const s of scan.streams) {
    if (s.result.complete) continue;
    const fatal = s.result.anomalies.find((a) => a.fatal);
    problems.push({
      code: fatal?.code ?? 'incomplete-stream',
      message: fatal?.message ?? 'pickle stream not fully scanned',
      path: s.path,
      ...(fatal ? { offset: fatal.offset } : {}),
    });
  }

  return {
    file: scan.file,
    size: scan.size,
    format: scan.format,
    verdict,
    reasons,
    findings,
    imports,
    problems,
    stats: { bytesRead: scan.bytesRead, durationMs: scan.durationMs, pickles, opcodes },
    fails: findings.some((f) => f.fails),
    policy: policy.name,
    rulesetVersion: RULESET_VERSION,
  };
}

function rankOf(f: Finding): number {
  return f.verdict === 'dangerous' ? 2 : f.verdict === 'suspicious' ? 1 : 0;
}
