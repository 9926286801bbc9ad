import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Result of a child process run by a test. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A throw-away git repository in the OS temp dir, isolated from the user's and the system's git
 * configuration so a developer's `core.hooksPath`, signing or templates cannot change the outcome.
 */
export interface TempRepo {
  dir: string;
  env: NodeJS.ProcessEnv;
  git(...args: string[]): Ran;
  /** Writes a file in the working tree (creating folders). */
  write(path: string, content: string | Uint8Array): Promise<void>;
  /** Writes and stages a file. */
  stage(path: string, content: string | Uint8Array): Promise<void>;
  cleanup(): Promise<void>;
}

/** Creates a repository with one initial commit (so HEAD exists) unless `unborn` is set. */
export async function makeRepo(opts: { unborn?: boolean } = {}): Promise<TempRepo> {
  const base = await mkdtemp(join(tmpdir(), 'brine-hook-test-'));
  const dir = join(base, 'repo');
  await mkdir(dir);
  const emptyConfig = join(base, 'gitconfig');
  await writeFile(emptyConfig, '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: emptyConfig,
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
    HOME: base,
    NO_COLOR: '1',
  };
  for (const k of Object.keys(env)) {
    // A test run from inside a hook (or a worktree) must not leak the outer repository's location.
    if (
      k.startsWith('GIT_') &&
      !k.startsWith('GIT_CONFIG') &&
      !k.startsWith('GIT_AUTHOR') &&
      !k.startsWith('GIT_COMMITTER')
    ) {
      delete env[k];
    }
  }
  const git = (...args: string[]): Ran => {
    const r = spawnSync('git', args, { cwd: dir, env, encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const must = (...args: string[]) => {
    const r = git(...args);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  };
  must('init', '-q', '-b', 'main');
  must('config', 'commit.gpgsign', 'false');
  const write = async (path: string, content: string | Uint8Array) => {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  };
  const repo: TempRepo = {
    dir,
    env,
    git,
    write,
    async stage(path, content) {
      await write(path, content);
      must('add', '--', path);
    },
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
  if (!opts.unborn) {
    await repo.stage('README.md', '# test repo\n');
    must('commit', '-q', '-m', 'initial');
  }
  return repo;
}
