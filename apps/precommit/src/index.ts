/**
 * brine's git pre-commit integration: judge the staged content of a commit with the shared engine
 * and rules, and install a hook that does so on every `git commit`.
 *
 * @example
 * import { coreEngine, defaultHookCommand, installHook, runHook } from '@brine/precommit';
 * await installHook({ cwd: process.cwd(), command: defaultHookCommand() });
 * const { exitCode } = await runHook({ cwd, engine: coreEngine, out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
 */
export { type BlobReadOptions, DEFAULT_BLOB_OPTIONS } from './blobs.js';
export { CONFIG_FILE, type HookConfig, loadHookConfig, parseHookConfig, pathFilter } from './config.js';
export { coreEngine } from './engine.js';
export { type RepoInfo, repoInfo } from './git.js';
export { type HookEngine, type HookOptions, type HookResult, runHook } from './hook.js';
export {
  CHAINED_NAME,
  defaultHookCommand,
  HOOK_MARKER,
  type InstallOptions,
  type InstallResult,
  installHook,
  type UninstallResult,
  uninstallHook,
} from './install.js';
export { type LfsPointer, lfsObjectPath, parseLfsPointer } from './lfs.js';
export { type Sniff, sniff } from './sniff.js';
export { listIndexEntries, listStagedChanges, type StagedEntry } from './staged.js';
