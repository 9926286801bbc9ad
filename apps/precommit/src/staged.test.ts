import { afterEach, describe, expect, it } from 'vitest';
import { listIndexEntries, listStagedChanges } from './staged.js';
import { makeRepo, type TempRepo } from './test-support/repo.js';

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

describe('listStagedChanges', () => {
  it('lists added and modified regular files, not deletions, symlinks or unstaged edits', async () => {
    repo = await makeRepo();
    await repo.stage('keep.txt', 'one\n');
    await repo.stage('gone.txt', 'bye\n');
    repo.git('commit', '-q', '-m', 'two files');
    await repo.stage('keep.txt', 'two\n');
    await repo.stage('dir/new file.pkl', 'x');
    repo.git('rm', '-q', 'gone.txt');
    await repo.write('untracked.pkl', 'y');
    await repo.write('README.md', 'changed but not staged\n');
    repo.git('config', 'core.symlinks', 'true');
    repo.git('update-index', '--add', '--cacheinfo', `120000,${'e'.repeat(40)},link`);
    const entries = await listStagedChanges(repo.dir);
    expect(entries.map((e) => e.path).sort()).toEqual(['dir/new file.pkl', 'keep.txt']);
    const keep = entries.find((e) => e.path === 'keep.txt');
    expect(keep?.oid).toBe(repo.git('rev-parse', ':keep.txt').stdout.trim());
    expect(keep?.mode).toBe('100644');
  });

  it('reports a renamed and edited file as an addition (renames would dodge the filter)', async () => {
    repo = await makeRepo();
    await repo.stage('a.bin', 'a'.repeat(200));
    repo.git('commit', '-q', '-m', 'a');
    repo.git('mv', 'a.bin', 'b.bin');
    await repo.stage('b.bin', `${'a'.repeat(199)}b`);
    const entries = await listStagedChanges(repo.dir);
    expect(entries.map((e) => e.path)).toEqual(['b.bin']);
  });

  it('works on an unborn branch (first commit)', async () => {
    repo = await makeRepo({ unborn: true });
    await repo.stage('first.pkl', 'x');
    expect((await listStagedChanges(repo.dir)).map((e) => e.path)).toEqual(['first.pkl']);
  });
});

describe('listIndexEntries', () => {
  it('returns index entries for named paths and names the untracked ones', async () => {
    repo = await makeRepo();
    await repo.write('new.pkl', 'x');
    const { entries, missing } = await listIndexEntries(repo.dir, ['README.md', 'new.pkl', 'weird[1].pkl']);
    expect(entries.map((e) => e.path)).toEqual(['README.md']);
    expect(missing).toEqual(['new.pkl', 'weird[1].pkl']);
  });

  it('takes paths relative to a subdirectory and returns them relative to the root', async () => {
    repo = await makeRepo();
    await repo.stage('models/a.pkl', 'x');
    const { entries, missing } = await listIndexEntries(
      repo.dir,
      ['a.pkl', 'nope.pkl'],
      `${repo.dir}/models`,
    );
    expect(entries.map((e) => e.path)).toEqual(['models/a.pkl']);
    expect(missing).toEqual(['nope.pkl']);
  });
});
