import type { ByteSource, FileScan } from '@brine/core';
import type { RunReport } from '@brine/report';
import { BlobReader, type BlobReadOptions, DEFAULT_BLOB_OPTIONS, isKept } from './blobs.js';
import {
  CONFIG_FILE,
  committedConfigEntries,
  committedHookConfig,
  configEntries,
  loadHookConfig,
  pathFilter,
} from './config.js';
import { describeConfigChange } from './config-change.js';
import { repoInfo } from './git.js';
import { parseLfsPointer } from './lfs.js';
import { hasZipEndRecord, SNIFF_BYTES, sniff } from './sniff.js';
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
  /**
   * Supplies the engine, called only when a staged file looks like a model (so a commit without
   * models never pays for loading it).
   */
  engine: () => HookEngine | Promise<HookEngine>;
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
    // Both git calls at once: on a commit without models, waiting for processes is most of the time.
    const [repo, listedOrError] = await Promise.all([
      repoInfo(options.cwd),
      (options.files
        ? listIndexEntries(options.cwd, options.files, options.cwd).then((r) => r.entries)
        : listStagedChanges(options.cwd)
      ).catch((e: unknown) => e as Error),
    ]);
    if (listedOrError instanceof Error) throw listedOrError;
    const listed = listedOrError;

    // One pass through git for the configuration and every staged blob's head: process start-up
    // is most of what a commit without models costs.
    // HEAD's configuration comes in the same batch, to show what this commit changes in it.
    const configs = [...configEntries(), ...committedConfigEntries()];
    reader = new BlobReader(repo.root, {
      ...DEFAULT_BLOB_OPTIONS,
      headBytes: SNIFF_BYTES,
      ...options.blobOptions,
    });
    const blobs = await reader.read(
      [...configs, ...listed],
      (head, size, entry) => {
        if (entry.optional) return true;
        const s = sniff(head, size);
        // A text that only starts like an LFS pointer is no model (the head holds all of it).
        if (s.kind === 'lfs-pointer') return parseLfsPointer(head) ? true : 'tail';
        return s.kind === 'candidate' ? true : 'tail';
      },
      (tail) => hasZipEndRecord(tail),
    );
    const stagedConfig = new Map<string, string>();
    const headConfig = new Map<string, string>();
    for (const b of blobs) {
      if (b.entry.optional && isKept(b) && b.bytes) {
        const text = Buffer.from(b.bytes).toString('utf8');
        if (b.entry.path.startsWith('HEAD:')) headConfig.set(b.entry.path.slice('HEAD:'.length), text);
        else stagedConfig.set(b.entry.path, text);
      }
    }
    const config = await loadHookConfig(repo.root, stagedConfig);
    const changes = describeConfigChange(await committedHookConfig(headConfig), config);
    if (changes.length > 0) {
      const where = config.source ?? 'no configuration left: defaults apply';
      options.out(
        `brine: this commit changes brine's configuration (${where}):\n${changes.map((l) => `brine:   ${l}\n`).join('')}`,
      );
    }
    const wanted = pathFilter(config);
    const kept = blobs.filter(isKept).filter((b) => !b.entry.optional && wanted(b.entry.path));
    if (kept.length === 0) {
      // A commit that changes the configuration gets it checked now, not at the next model commit.
      if (
        config.source !== undefined &&
        listed.some((e) => e.path === CONFIG_FILE || e.path === 'package.json')
      ) {
        const { checkPolicy } = await import('./judge.js');
        checkPolicy(config);
      }
      return { exitCode: 0, scanned: [] };
    }

    const { judgeStaged } = await import('./judge.js');
    const { exitCode, run } = await judgeStaged({
      kept,
      config,
      engine: await options.engine(),
      commonDir: repo.commonDir,
      root: repo.root,
      startedAt,
      started,
      version: options.version,
      color: options.color ?? false,
      out: options.out,
    });
    return { exitCode, run, scanned: kept.map((b) => b.entry.path) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    options.err(`brine: cannot check this commit: ${msg}\n`);
    return { exitCode: 2, scanned: [] };
  } finally {
    await reader?.close();
  }
}
