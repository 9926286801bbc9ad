import type { FileReport, Finding, RuleDoc, Severity } from '@brine/rules';
import { innerMembers, type RenderOptions, type ReportWriter, type RunReport } from './run.js';

/**
 * SARIF 2.1.0 for GitHub code scanning. Model files are binary, so every result points at line 1
 * of the real file plus a byte region, and the member inside the archive is a logical location.
 * The shape (required fields, `security-severity` as a string, our own fingerprints because the
 * upload action's line hash means nothing for binaries) follows GitHub's SARIF support page.
 */

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

// GitHub maps these scores to its critical/high/medium/low buckets (>=9, >=7, >=4, >0).
const SECURITY_SEVERITY: Record<Severity, string | undefined> = {
  critical: '9.8',
  high: '8.1',
  medium: '5.5',
  low: '3.1',
  info: undefined,
};

type Level = 'error' | 'warning' | 'note';

function levelForSeverity(s: Severity): Level {
  if (s === 'critical' || s === 'high') return 'error';
  if (s === 'medium') return 'warning';
  return 'note';
}

function levelForFinding(f: Finding): Level {
  if (f.verdict === 'dangerous') return 'error';
  if (f.verdict === 'suspicious') return 'warning';
  return 'note';
}

/** GitHub caps description texts at 1024 characters. */
function cap(s: string, max = 1024): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * A stable 64-bit hash in hex (two FNV-1a passes with different seeds). Fingerprints only need to
 * be stable across runs, not secret, and this keeps the writer free of `node:crypto` so it also
 * runs in the Workers frontend.
 */
export function stableHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

function normalisePosix(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
      continue;
    }
    out.push(seg);
  }
  return (abs ? '/' : '') + out.join('/');
}

function encodePath(p: string): string {
  return p
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%3A/gi, ':'))
    .join('/');
}

/**
 * Where a file is, as SARIF wants it: relative to the repository root (with `%SRCROOT%`) when it
 * is inside it, an absolute `file:` URI when it is not, and URLs unchanged.
 */
export function artifactLocation(
  file: string,
  repoRoot: string | undefined,
  cwd: string | undefined,
): { uri: string; uriBaseId?: string } {
  if (SCHEME.test(file)) {
    // URIs must be percent-encoded (a Hub file name may hold spaces); URL does exactly that.
    try {
      return { uri: new URL(file).href };
    } catch {
      return { uri: encodeURI(file) };
    }
  }
  if (file === '<stdin>' || file === '-') return { uri: 'stdin' };
  const slashed = file.replace(/\\/g, '/');
  const isAbs = (p: string) => p.startsWith('/') || /^[A-Za-z]:\//.test(p);
  const base = (cwd ?? repoRoot)?.replace(/\\/g, '/');
  const absolute = isAbs(slashed) ? slashed : base && isAbs(base) ? `${base}/${slashed}` : undefined;
  if (absolute === undefined) return { uri: encodePath(normalisePosix(slashed)), uriBaseId: '%SRCROOT%' };
  const abs = /^[A-Za-z]:\//.test(absolute) ? absolute : normalisePosix(absolute);
  if (repoRoot) {
    const root = normalisePosix(repoRoot.replace(/\\/g, '/')).replace(/\/$/, '');
    if (abs.startsWith(`${root}/`))
      return { uri: encodePath(abs.slice(root.length + 1)), uriBaseId: '%SRCROOT%' };
  }
  return { uri: `file://${abs.startsWith('/') ? '' : '/'}${encodePath(abs)}` };
}

function ruleFromFinding(f: Finding): RuleDoc {
  return {
    id: f.ruleId,
    name: f.ruleId.toLowerCase(),
    title: f.ruleId,
    severity: f.severity,
    explanation: f.message,
    remediation: 'Run `brine explain` for this rule.',
    references: [],
    tags: [],
  };
}

function sarifRule(r: RuleDoc) {
  const refs = r.references.length ? `\n\nReferences:\n${r.references.map((x) => `- ${x}`).join('\n')}` : '';
  const props: Record<string, unknown> = {
    tags: ['security', ...r.tags.filter((t) => t !== 'security')].slice(0, 20),
    precision: r.severity === 'info' ? 'medium' : 'high',
  };
  const score = SECURITY_SEVERITY[r.severity];
  if (score !== undefined) props['security-severity'] = score;
  return {
    id: r.id,
    name: r.name,
    shortDescription: { text: cap(r.title) },
    fullDescription: { text: cap(r.explanation) },
    help: {
      text: `${r.explanation}\n\nRemediation: ${r.remediation}${refs}`,
      markdown: `**${r.title}**\n\n${r.explanation}\n\n**Remediation:** ${r.remediation}${refs}`,
    },
    defaultConfiguration: { level: levelForSeverity(r.severity) },
    properties: props,
  };
}

/** Offset of the finding in the outer file, when the stream is stored there as-is. */
function fileOffsetOf(f: Finding): number | undefined {
  if (f.fileOffset !== undefined) return f.fileOffset;
  // A raw pickle has no container: offsets in its stream are offsets in the file.
  return f.path.length <= 1 ? f.offset : undefined;
}

function sarifResult(
  file: FileReport,
  f: Finding,
  ruleIndex: number,
  location: { uri: string; uriBaseId?: string },
  seen: Map<string, number>,
) {
  const members = innerMembers(f.path);
  const region: Record<string, number> = { startLine: 1 };
  const byteOffset = fileOffsetOf(f);
  if (byteOffset !== undefined) {
    region.byteOffset = byteOffset;
    region.byteLength = f.length ?? 1;
  }
  const physicalLocation = { artifactLocation: location, region };
  const loc: Record<string, unknown> = { physicalLocation };
  if (members.length > 0) {
    loc.logicalLocations = [{ fullyQualifiedName: members.join(' › '), name: members[members.length - 1] }];
  }
  // Offsets are left out of the fingerprint so an alert survives unrelated edits elsewhere in the
  // file; the ordinal tells apart repeated findings of the same kind.
  const key = [f.ruleId, location.uri, ...members, f.symbol ?? '', f.call ?? f.message].join('\u0000');
  const n = seen.get(key) ?? 0;
  seen.set(key, n + 1);
  const hash = `${stableHash(`${key}\u0000${n}`)}:${n + 1}`;
  const props: Record<string, unknown> = { verdict: f.verdict, fileVerdict: file.verdict };
  if (f.symbol !== undefined) props.symbol = f.symbol;
  if (f.call !== undefined) props.call = f.call;
  if (f.opcode !== undefined) props.opcode = f.opcode;
  if (f.offset !== undefined) props.streamOffset = f.offset;
  if (members.length > 0) props.innerPath = members;
  const result: Record<string, unknown> = {
    ruleId: f.ruleId,
    ruleIndex,
    level: levelForFinding(f),
    message: { text: f.call ? `${f.message} (${f.call})` : f.message },
    locations: [loc],
    partialFingerprints: { primaryLocationLineHash: hash, 'brineFinding/v1': hash },
    properties: props,
  };
  if (f.waived)
    result.suppressions = [{ kind: 'external', status: 'accepted', justification: f.waived.reason }];
  return result;
}

/** Builds the SARIF log object. */
export function toSarif(run: RunReport, opts: RenderOptions = {}): Record<string, unknown> {
  const rules: RuleDoc[] = [...(opts.rules ?? [])];
  const index = new Map(rules.map((r, i) => [r.id, i] as const));
  for (const file of run.files) {
    for (const f of file.findings) {
      if (!index.has(f.ruleId)) {
        index.set(f.ruleId, rules.length);
        rules.push(ruleFromFinding(f));
      }
    }
  }
  const results: unknown[] = [];
  const notifications: unknown[] = [];
  for (const file of run.files) {
    const location = artifactLocation(file.file, opts.repoRoot, opts.cwd);
    const seen = new Map<string, number>();
    for (const f of file.findings)
      results.push(sarifResult(file, f, index.get(f.ruleId) ?? 0, location, seen));
    for (const p of file.problems) {
      const members = innerMembers(p.path);
      notifications.push({
        level: 'error',
        message: { text: `${file.file}: ${p.message}` },
        descriptor: { id: p.code },
        locations: [
          {
            physicalLocation: { artifactLocation: location },
            ...(members.length ? { logicalLocations: [{ fullyQualifiedName: members.join(' › ') }] } : {}),
          },
        ],
      });
    }
  }
  const incomplete = run.interrupted === true || run.files.some((f) => f.verdict === 'unscannable');
  const end = new Date(Date.parse(run.startedAt) + run.durationMs);
  const invocation: Record<string, unknown> = {
    executionSuccessful: !incomplete,
    startTimeUtc: run.startedAt,
    endTimeUtc: Number.isNaN(end.getTime()) ? run.startedAt : end.toISOString(),
  };
  if (notifications.length) invocation.toolExecutionNotifications = notifications;
  const sarifRun: Record<string, unknown> = {
    tool: {
      driver: {
        name: 'brine',
        version: run.tool.version,
        semanticVersion: run.tool.version,
        rules: rules.map(sarifRule),
        properties: { rulesetVersion: run.tool.rulesetVersion, engineVersion: run.tool.engineVersion },
      },
    },
    invocations: [invocation],
    results,
    properties: { policy: run.policy, interrupted: run.interrupted ?? false },
  };
  if (opts.repoRoot && /^(\/|[A-Za-z]:[\\/])/.test(opts.repoRoot)) {
    const root = opts.repoRoot.replace(/\\/g, '/').replace(/\/?$/, '/');
    sarifRun.originalUriBaseIds = {
      '%SRCROOT%': { uri: `file://${root.startsWith('/') ? '' : '/'}${encodePath(root)}` },
    };
  }
  return { $schema: SARIF_SCHEMA, version: '2.1.0', runs: [sarifRun] };
}

/** SARIF 2.1.0 log, one run, ready for GitHub code scanning's upload-sarif. */
export const sarifWriter: ReportWriter = {
  format: 'sarif',
  mediaType: 'application/sarif+json',
  render(run: RunReport, opts: RenderOptions): string {
    return `${JSON.stringify(toSarif(run, opts), null, 2)}\n`;
  },
};
