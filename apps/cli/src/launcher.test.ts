import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cliDir = fileURLToPath(new URL('../', import.meta.url));

// `npm ci` links a package's bin only if the target exists at install time; on a fresh clone dist/ does
// not, so the README's `npx brine` would fail. The bin must be a committed (never ignored) file.
describe('the brine bin', () => {
  const pkg = JSON.parse(readFileSync(`${cliDir}package.json`, 'utf8')) as { bin: { brine: string } };

  it('points at a committed launcher, not at build output', () => {
    const target = pkg.bin.brine;
    expect(existsSync(`${cliDir}${target}`)).toBe(true);
    const ignored = spawnSync('git', ['check-ignore', '-q', target], { cwd: cliDir });
    expect(ignored.status, `${target} is git-ignored`).toBe(1);
  });

  it('starts the built CLI', () => {
    const out = execFileSync(process.execPath, [`${cliDir}${pkg.bin.brine}`, '--version'], {
      encoding: 'utf8',
    });
    expect(out.trim()).toMatch(/\d+\.\d+\.\d+/);
  });
});
