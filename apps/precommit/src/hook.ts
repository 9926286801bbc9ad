import { BrineError, type ByteSource, type FileScan } from '@brine/core';
import { exitCodeFor, type RunReport, renderReport } from '@brine/report';
import { evaluate, type FileReport, type Policy, parsePolicy, RULESET_VERSION, rules } from '@brine/rules';
import { BlobReader, type BlobReadOptions, DEFAULT_BLOB_OPTIONS, isKept, type KeptBlob } from './blobs.js';
import { CONFIG_FILE, type HookConfig, loadHookConfig, pathFilter } from './config.js';
import { repoInfo } from './git.js';
import { parseLfsPointer, resolveLfsObject } from './lfs.js';
import { SNIFF_BYTES, sniff } from './sniff.js';
import { listIndexEntries, listStagedChanges } from './staged.js';

/** The engine entry points the hook needs; injected so the bundle can supply an embedded WASM scanner. */
export interface HookEngine {
  /** Scans one input (`@brine/core`'s `scan`). */
  scan(source: ByteSource): Promise<FileScan>;
  /** Opens a local file for random access (`@brine/core`'s `openFileSource`). */
  openFile(path: string): Promise<ByteSource>;
  /** Wraps bytes in memory (`@brine/core`'s `bufferSource`). */
  buffer(name: string, bytes: Uint8Array): ByteSource;
  /** Engine version for reports. */
  version?: string;
}

/** Options for {@link runHook}. */
export interface HookOptions {
  /** Any directory inside the repository. */
  cwd: string;
  /**
   * Paths to judge (as the pre-commit framework passes them), read from the index. When absent, the
   * files added or modified in the index are judged.
   */
  files?: string[];
  engine: HookEngine;
  /** Receives the report (people read it in the terminal git runs the hook in). */
  out: (text: string) => void;
  /** Receives errors. */
  err: (text: string) => void;
  color?: boolean;
  /** brine's version, for the report footer. */
  version?: string;
  blobOptions?: BlobReadOptions;
}

/** What one hook run decided. */
export interface HookResult {
  /** 0 lets the commit through; 1 blocks it (findings fail the policy); 2 blocks it (could not judge). */
  exitCode: 0 | 1 | 2;
  /** The per-file reports, when anything was scanned. */
  run?: RunReport;
  /** Paths the sniffer handed to the engine. */
  scanned: string[];
}

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

/** A scan that never reached the engine (an absent LFS object, an engine failure). Rules make it unscannable. */
function problemScan(file: string, size: number, code: string, message: string): FileScan {
  return {
    file,
    size,
    format: 'unknown',
    formats: [],
    streams: [],
    containerFindings: [],
    problems: [{ code, message, path: [file] }],
    bytesRead: 0,
    durationMs: 0,
  };
}

interface Judged {
  report: FileReport;
  sha256: string;
  lfs?: boolean;
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
      const scan = problemScan(
        path,
        pointer.size,
        'lfs-object-missing',
        `Git LFS pointer to sha256:${pointer.oid}, but the object is not in ${lfs.path}; the model itself could not be scanned (git lfs fetch, or git add the real file with git-lfs installed)`,
      );
      return { report: evaluate(scan, policy, ctx(pointer.oid)), sha256: pointer.oid, lfs: true };
    }
    const judged = await scanSource(
      engine,
      () => engine.openFile(lfs.path),
      path,
      pointer.size,
      policy,
      ctx(pointer.oid),
    );
    judged.reasons.push(
      lfs.state === 'size-mismatch'
        ? `Git LFS object ${pointer.oid.slice(0, 12)}… scanned, but it holds ${lfs.actual} bytes where the pointer says ${pointer.size}`
        : `Git LFS object ${pointer.oid.slice(0, 12)}… scanned (the pointer is what git stores)`,
    );
    return { report: judged, sha256: pointer.oid, lfs: true };
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
    return evaluate(problemScan(path, size, code, message), policy, ctx);
  } finally {
    await source?.close().catch(() => {});
  }
}

function waiverAdvice(judged: Judged[], config: HookConfig): string {
  const lines: string[] = [];
  for (const j of judged) {
    if (!j.report.fails) continue;
    const failing = j.report.findings.filter((f) => f.fails && !f.waived);
    const ids = [...new Set(failing.map((f) => f.ruleId))];
    lines.push(`How to fix ${j.report.file}:`);
    if (ids.every((id) => id === 'BRINE-SCAN-001')) {
      lines.push(
        '  brine could not read all of it, so it cannot be called safe. Re-create or re-download the file and commit again.',
      );
    } else {
      lines.push(
        '  Do not load it. If the weights are yours, re-save them as safetensors in a trusted environment',
        '  (safetensors.torch.save_file(model.state_dict(), "model.safetensors")) and commit that instead.',
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
    const snippet = JSON.stringify({ waivers }, null, 2);
    for (const l of snippet.split('\n')) lines.push(`    ${l}`);
    lines.push('');
  }
  if (config.source === undefined) lines.push(`(No ${CONFIG_FILE} yet: create it at the repository root.)`);
  else lines.push(`(Configuration read from ${config.source}.)`);
  return `${lines.join('\n')}\n`;
}

/**
 * The pre-commit check: judges staged content (never the working tree) with the engine and rules
 * every other frontend uses, prints what fails and how to fix or waive it, and says whether the
 * commit may go ahead. It never throws for bad input: problems become exit code 2 with a message.
 */
export async function runHook(options: HookOptions): Promise<HookResult> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  let reader: BlobReader | undefined;
  try {
    const repo = await repoInfo(options.cwd);
    const config = await loadHookConfig(repo.root);
    let policy: Policy;
    try {
      policy = parsePolicy(config.policy);
    } catch (e) {
      if (e instanceof BrineError) throw new BrineError(e.code, e.message, config.source);
      throw e;
    }
    const wanted = pathFilter(config);

    let entries = options.files
      ? (await listIndexEntries(repo.root, options.files)).entries
      : await listStagedChanges(repo.root);
    entries = entries.filter((e) => wanted(e.path));
    if (entries.length === 0) return { exitCode: 0, scanned: [] };

    reader = new BlobReader(repo.root, {
      ...DEFAULT_BLOB_OPTIONS,
      headBytes: SNIFF_BYTES,
      ...options.blobOptions,
    });
    const blobs = await reader.read(entries, (head, size) => sniff(head, size).kind !== 'skip');
    const kept = blobs.filter(isKept);
    if (kept.length === 0) return { exitCode: 0, scanned: [] };

    const judged: Judged[] = [];
    for (const blob of kept) judged.push(await judgeBlob(blob, options.engine, policy, repo.commonDir));

    const run: RunReport = {
      tool: {
        name: 'brine',
        version: options.version ?? '0.0.0',
        rulesetVersion: RULESET_VERSION,
        ...(options.engine.version ? { engineVersion: options.engine.version } : {}),
      },
      files: judged.map((j) => j.report),
      startedAt,
      durationMs: Date.now() - started,
      policy: policy.name,
    };
    const failing = judged.filter((j) => j.report.fails || j.report.verdict === 'unscannable');
    const scanned = kept.map((b) => b.entry.path);
    if (failing.length === 0) {
      const n = kept.length;
      options.out(
        `brine: ${n} staged model file${n === 1 ? '' : 's'} scanned, none fails policy ${policy.name}\n`,
      );
      return { exitCode: 0, run, scanned };
    }
    options.out(
      `brine: commit blocked: ${failing.length} of ${kept.length} staged model file${kept.length === 1 ? '' : 's'} fail${failing.length === 1 ? 's' : ''} policy ${policy.name}\n\n`,
    );
    options.out(
      renderReport('text', run, { quiet: true, rules, color: options.color ?? false, repoRoot: repo.root }),
    );
    options.out(`\n${waiverAdvice(failing, config)}`);
    return { exitCode: exitCodeFor(run), run, scanned };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    options.err(`brine: cannot check this commit: ${msg}\n`);
    return { exitCode: 2, scanned: [] };
  } finally {
    await reader?.close();
  }
}
