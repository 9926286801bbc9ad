import { afterEach, describe, expect, it } from 'vitest';
import { loadHookConfig, parseHookConfig, pathFilter } from './config.js';
import { makeRepo, type TempRepo } from './test-support/repo.js';

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

describe('parseHookConfig', () => {
  it('splits include/exclude from the policy document', () => {
    const c = parseHookConfig(
      { include: ['models/**'], exclude: ['**/*.txt'], policy: 'strict', waivers: [] },
      'x',
    );
    expect(c).toEqual({
      source: 'x',
      include: ['models/**'],
      exclude: ['**/*.txt'],
      policy: { policy: 'strict', waivers: [] },
    });
  });

  it('rejects bad shapes with a typed error naming the file', () => {
    expect(() => parseHookConfig([], '.brine.json')).toThrow(/\.brine\.json: .*JSON object/);
    expect(() => parseHookConfig({ include: 'models' }, '.brine.json')).toThrow(/"include" must be a list/);
  });
});

describe('pathFilter', () => {
  it('applies include then exclude, dotfiles included', () => {
    const f = pathFilter(
      parseHookConfig({ include: ['models/**', '.cache/**'], exclude: ['models/test/**'] }, 'x'),
    );
    expect(f('models/a.pt')).toBe(true);
    expect(f('.cache/b.pkl')).toBe(true);
    expect(f('models/test/c.pkl')).toBe(false);
    expect(f('src/d.pkl')).toBe(false);
    expect(pathFilter(parseHookConfig({}, 'x'))('anything/at/all')).toBe(true);
  });
});

describe('loadHookConfig', () => {
  it('uses defaults when there is no configuration', async () => {
    repo = await makeRepo();
    expect(await loadHookConfig(repo.dir)).toMatchObject({ source: undefined, include: [], policy: {} });
  });

  it('prefers the staged .brine.json over the working-tree copy', async () => {
    repo = await makeRepo();
    await repo.stage('.brine.json', JSON.stringify({ policy: 'strict' }));
    await repo.write('.brine.json', JSON.stringify({ policy: 'default' }));
    const c = await loadHookConfig(repo.dir);
    expect(c.source).toBe('.brine.json (staged)');
    expect(c.policy).toEqual({ policy: 'strict' });
  });

  it('reads an untracked .brine.json from disk, else the "brine" key of package.json', async () => {
    repo = await makeRepo();
    await repo.stage('package.json', JSON.stringify({ name: 'x', brine: { exclude: ['vendor/**'] } }));
    expect(await loadHookConfig(repo.dir)).toMatchObject({
      source: 'package.json (staged) "brine"',
      exclude: ['vendor/**'],
    });
    await repo.write('.brine.json', JSON.stringify({ include: ['m/**'] }));
    expect(await loadHookConfig(repo.dir)).toMatchObject({ source: '.brine.json', include: ['m/**'] });
  });

  it('reports broken JSON with the file name; ignores a broken package.json that has no brine key', async () => {
    repo = await makeRepo();
    await repo.write('package.json', '{ not json');
    expect((await loadHookConfig(repo.dir)).source).toBeUndefined();
    await repo.stage('.brine.json', '{ "policy": ');
    await expect(loadHookConfig(repo.dir)).rejects.toMatchObject({
      code: 'config-invalid',
      file: '.brine.json (staged)',
    });
  });
});
