import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

// pre-commit users run the committed bundle, not the sources: a bundle left stale after an engine or
// rules change would ship yesterday's scanner. `npm test` rebuilds it before the tests run, so any
// difference from the committed copy means the rebuilt bundle was not committed.
describe('committed hook bundle', () => {
  it('is exactly what the current sources build', () => {
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'apps/precommit/dist-bundle'], {
      cwd: repo,
      encoding: 'utf8',
    }).trim();
    expect(
      changed,
      'apps/precommit/dist-bundle differs from the committed copy: run `npm run build` and commit it',
    ).toBe('');
  });
});
