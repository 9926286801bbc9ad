import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { BrineError } from '@brine/core';

/** Where a repository lives on disk, as git itself reports it (worktrees and `core.hooksPath` included). */
export interface RepoInfo {
  /** Top of the working tree. */
  root: string;
  /** The git directory of this worktree (absolute). */
  gitDir: string;
  /** The git directory shared by all worktrees; LFS objects live under it (absolute). */
  commonDir: string;
  /** Directory git runs hooks from, honouring `core.hooksPath` (absolute). */
  hooksDir: string;
}

/** Options for one git invocation. */
export interface GitRunOptions {
  cwd: string;
  /** Written to git's stdin, then stdin is closed. */
  input?: string | Uint8Array;
  /** Exit codes that are not failures (e.g. `git config --get` exits 1 when the key is unset). */
  okCodes?: number[];
}

/**
 * Runs git and collects stdout. The environment is inherited on purpose: inside a pre-commit hook
 * git sets `GIT_INDEX_FILE` (a temporary index for `commit -a` / `commit <paths>`), and the staged
 * content we must judge is the one in that index.
 */
export function runGit(args: string[], options: GitRunOptions): Promise<{ stdout: Buffer; code: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Paths given to git are file names, never pathspec magic or globs.
      env: { ...process.env, GIT_LITERAL_PATHSPECS: '1' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) =>
      reject(new BrineError('git-unavailable', `cannot run git ${args[0] ?? ''}: ${e.message}`, options.cwd)),
    );
    child.on('close', (code) => {
      const exit = code ?? -1;
      if (exit !== 0 && !(options.okCodes ?? []).includes(exit)) {
        const msg = Buffer.concat(err).toString('utf8').trim();
        reject(new BrineError('git-failed', `git ${args.join(' ')} exited ${exit}: ${msg}`, options.cwd));
        return;
      }
      resolvePromise({ stdout: Buffer.concat(out), code: exit });
    });
    child.stdin.on('error', () => {
      // git may exit before reading all of stdin (e.g. on a bad object); the close handler reports it.
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Locates the repository containing `cwd`; throws `BrineError('not-a-repository')` outside one. */
export async function repoInfo(cwd: string): Promise<RepoInfo> {
  let stdout: Buffer;
  try {
    ({ stdout } = await runGit(
      ['rev-parse', '--show-toplevel', '--git-dir', '--git-common-dir', '--git-path', 'hooks'],
      { cwd },
    ));
  } catch (e) {
    if (e instanceof BrineError && e.code === 'git-failed') {
      throw new BrineError('not-a-repository', 'not inside a git working tree', cwd);
    }
    throw e;
  }
  const [root, gitDir, commonDir, hooks] = stdout.toString('utf8').split('\n');
  if (!root || !gitDir || !commonDir || !hooks) {
    throw new BrineError('not-a-repository', 'git rev-parse gave no working tree', cwd);
  }
  // rev-parse prints these relative to cwd unless they are absolute.
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  return { root, gitDir: abs(gitDir), commonDir: abs(commonDir), hooksDir: abs(hooks) };
}
