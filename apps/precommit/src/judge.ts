import { BrineError, type ByteSource, unscannedFile } from '@brine/core';
import { exitCodeFor, type RunReport, renderReport, terminalSafe } from '@brine/report';
import { evaluate, type FileReport, type Policy, parsePolicy, RULESET_VERSION, rules } from '@brine/rules';
import type { KeptBlob } from './blobs.js';
import { CONFIG_FILE, type HookConfig } from './config.js';
import type { HookEngine } from './hook.js';
import { parseLfsPointer, resolveLfsObject } from './lfs.js';
import { sniff } from './sniff.js';

// Loaded only when a staged file looks like a model: the engine, the rule tables and the report
// writers are most of the hook's start-up cost, and a commit without models needs none of them.

/** Presents a source under the repository path, so reports and waivers name the file, not a temp copy. */
function renamed(source: ByteSource, name: string): ByteSource {
  return {
    name,
    size: source.size,
    get bytesRead() {
      return source.bytesRead;
    },
    read: (offset, length) => source.read(offset, length),
    close: () => source.close(),
  };
}

interface Judged {
  report: FileReport;
  sha256: string;
  /** Set for a staged Git LFS pointer: what the hook did with the object it names. */
  lfsNote?: string;
}

async function judgeBlob(
  blob: KeptBlob,
  engine: HookEngine,
  policy: Policy,
  commonDir: string,
): Promise<Judged> {
  const path = blob.entry.path;
  const ctx = (sha256: string) => ({ sha256, displayPath: path });
  const pointer =
    blob.bytes && sniff(blob.head, blob.size).kind === 'lfs-pointer'
      ? parseLfsPointer(blob.bytes)
      : undefined;
  if (pointer) {
    // The pointer's oid is the SHA-256 of the real content: waivers pin to the model, not the pointer.
    const lfs = await resolveLfsObject(commonDir, pointer);
    if (lfs.state === 'absent') {
      const scan = unscannedFile(
        path,
        'lfs-object-missing',
        `Git LFS pointer to sha256:${pointer.oid}, but the object is not in ${lfs.path}; the model itself could not be scanned (git lfs fetch, or git add the real file with git-lfs installed)`,
        pointer.size,
      );
      return {
        report: evaluate(scan, policy, ctx(pointer.oid)),
        sha256: pointer.oid,
        lfsNote: `Git LFS pointer: the object sha256:${pointer.oid.slice(0, 12)}… it names is not in .git/lfs/objects, so the model was not scanned.`,
      };
    }
    const judged = await scanSource(
      engine,
      () => engine.openFile(lfs.path),
      path,
      pointer.size,
      policy,
      ctx(pointer.oid),
    );
    const lfsNote =
      lfs.state === 'size-mismatch'
        ? `Git LFS pointer: scanned the object sha256:${pointer.oid.slice(0, 12)}… it names, which holds ${lfs.actual} bytes where the pointer says ${pointer.size}.`
        : `Git LFS pointer: scanned the object sha256:${pointer.oid.slice(0, 12)}… it names (the pointer is what git stores).`;
    return { report: judged, sha256: pointer.oid, lfsNote };
  }
  const open = async () => {
    if (blob.bytes) return engine.buffer(path, blob.bytes);
    if (blob.file) return engine.openFile(blob.file);
    throw new BrineError('blob-unavailable', 'staged content was not kept', path);
  };
  return {
    report: await scanSource(engine, open, path, blob.size, policy, ctx(blob.sha256)),
    sha256: blob.sha256,
  };
}

async function scanSource(
  engine: HookEngine,
  open: () => Promise<ByteSource>,
  path: string,
  size: number,
  policy: Policy,
  ctx: { sha256: string; displayPath: string },
): Promise<FileReport> {
  let source: ByteSource | undefined;
  try {
    source = renamed(await open(), path);
    const scan = await engine.scan(source);
    return evaluate(scan, policy, ctx);
  } catch (e) {
    // One file's failure must not hide the others' results, and must not read as clean.
    const code = e instanceof BrineError ? e.code : 'scan-failed';
    const message = e instanceof Error ? e.message : String(e);
    return evaluate(unscannedFile(path, code, message, size), policy, ctx);
  } finally {
    await source?.close().catch(() => {});
  }
}

/**
 * Pretty JSON that is safe to print and still pastes as the same value: JSON.stringify escapes
 * control characters, and this also escapes C1 controls and bidi overrides (a file name could
 * carry them to make the snippet read differently from what it is, as in CVE-2021-42574).
 */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A path as a shell word users can paste. */
function shellWord(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function waiverAdvice(judged: Judged[], config: HookConfig): string {
  const lines: string[] = [];
  for (const j of judged) {
    if (!j.report.fails) continue;
    const failing = j.report.findings.filter((f) => f.fails && !f.waived);
    const ids = [...new Set(failing.map((f) => f.ruleId))];
    // File names come from the commit, so they are made safe to print like any other evidence.
    lines.push(`How to fix ${terminalSafe(j.report.file)}:`);
    if (j.lfsNote) lines.push(`  ${j.lfsNote}`);
    // The rules explain pinned waivers that no longer match; the text report leaves such notes out
    // when there are findings, but here they answer "why is my waiver ignored?".
    for (const r of j.report.reasons) if (/^waiver .* not applied/.test(r)) lines.push(`  Note: ${r}.`);
    if (ids.every((id) => id === 'BRINE-SCAN-001')) {
      lines.push(
        '  brine could not read all of it, so it cannot be called safe. Re-create or re-download the file and commit again.',
      );
    } else {
      lines.push(
        '  Do not load it. If only the weights are needed, convert them to safetensors (no code runs on load):',
        terminalSafe(
          `    brine convert ${shellWord(j.report.file)} ${shellWord(`${j.report.file.replace(/\.[^./]*$/, '')}.safetensors`)}`,
        ),
        '  and commit that instead (or re-save with safetensors.torch.save_file in a trusted environment).',
      );
    }
    lines.push(
      `  If you trust this exact file, waive it in ${CONFIG_FILE} (stage that file too). The waiver is pinned to`,
      '  the SHA-256 of the staged content and stops applying as soon as the file changes:',
    );
    const waivers = ids.map((rule) => ({
      rule,
      path: j.report.file,
      sha256: j.sha256,
      reason: 'why this file is trusted',
    }));
    const snippet = jsonForTerminal({ waivers });
    for (const l of snippet.split('\n')) lines.push(`    ${l}`);
    lines.push('');
  }
  if (config.source === undefined) lines.push(`(No ${CONFIG_FILE} yet: create it at the repository root.)`);
  else lines.push(`(Configuration read from ${config.source}.)`);
  return `${lines.join('\n')}\n`;
}

/** The policy a configuration describes; a bad one is a `BrineError` naming the configuration file. */
export function checkPolicy(config: HookConfig): Policy {
  try {
    return parsePolicy(config.policy);
  } catch (e) {
    if (e instanceof BrineError) throw new BrineError(e.code, e.message, config.source);
    throw e;
  }
}

/** Still one line: suspicious files that pass the policy are named, so they are not missed. */
function suspiciousNote(judged: Judged[]): string {
  const names = judged
    .filter((j) => j.report.verdict === 'suspicious')
    .map((j) => terminalSafe(j.report.file));
  if (names.length === 0) return '';
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', ...' : '');
  return `; suspicious but allowed: ${shown} (details: brine scan <file>)`;
}

/** What {@link judgeStaged} needs besides the kept blobs. */
export interface JudgeInput {
  kept: KeptBlob[];
  config: HookConfig;
  engine: HookEngine;
  commonDir: string;
  root: string;
  startedAt: string;
  started: number;
  version: string | undefined;
  color: boolean;
  out: (text: string) => void;
}

/** Scans and evaluates the kept blobs, prints the outcome, and returns the exit code and reports. */
export async function judgeStaged(input: JudgeInput): Promise<{ exitCode: 0 | 1 | 2; run: RunReport }> {
  const { kept, config, engine } = input;
  const policy = checkPolicy(config);
  const judged: Judged[] = [];
  for (const blob of kept) judged.push(await judgeBlob(blob, engine, policy, input.commonDir));

  const run: RunReport = {
    tool: {
      name: 'brine',
      version: input.version ?? '0.0.0',
      rulesetVersion: RULESET_VERSION,
      ...(engine.version ? { engineVersion: engine.version } : {}),
    },
    files: judged.map((j) => j.report),
    startedAt: input.startedAt,
    durationMs: Date.now() - input.started,
    policy: policy.name,
  };
  const failing = judged.filter((j) => j.report.fails || j.report.verdict === 'unscannable');
  if (failing.length === 0) {
    const n = kept.length;
    input.out(
      `brine: ${n} staged model file${n === 1 ? '' : 's'} scanned, none fails policy ${policy.name}${suspiciousNote(judged)}\n`,
    );
    return { exitCode: 0, run };
  }
  input.out(
    `brine: commit blocked: ${failing.length} of ${kept.length} staged model file${kept.length === 1 ? '' : 's'} fail${failing.length === 1 ? 's' : ''} policy ${policy.name}\n\n`,
  );
  input.out(renderReport('text', run, { quiet: true, rules, color: input.color, repoRoot: input.root }));
  input.out(`\n${waiverAdvice(failing, config)}`);
  return { exitCode: exitCodeFor(run), run };
}
