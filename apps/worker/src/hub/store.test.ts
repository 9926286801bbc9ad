import { describe, expect, it } from 'vitest';
import { openSqlJsDatabase } from './sqljs-database.js';
import { type ContentRow, claimContent, contentNeed, getContents } from './store.js';

const versions = { readStamp: 'engine=1;zip=1', rulesVersion: 'r1' };
const row = (over: Partial<ContentRow>): ContentRow => ({
  sha256: 'a'.repeat(64),
  size: 1,
  status: 'done',
  claimed_by: null,
  claimed_at: null,
  read_stamp: versions.readStamp,
  rules_version: versions.rulesVersion,
  verdict: 'clean',
  fails: 0,
  report: '{}',
  filescan: new Uint8Array([1]),
  reason: null,
  failure: null,
  attempts: 1,
  bytes_fetched: 10,
  scanned_at: 1,
  ...over,
});

describe('what a stored content needs', () => {
  it('nothing when judged with the current versions', () => {
    expect(contentNeed(row({}), versions, 100, 50)).toBe('nothing');
  });
  it('a new judgement from the stored scan when only the rules changed', () => {
    expect(contentNeed(row({ rules_version: 'r0' }), versions, 100, 50)).toBe('rejudge');
    expect(contentNeed(row({ rules_version: 'r0', filescan: null }), versions, 100, 50)).toBe('scan');
  });
  it('a new read when the engine or a reader changed, or the last read failed in transport', () => {
    expect(contentNeed(row({ read_stamp: 'engine=1;zip=2' }), versions, 100, 50)).toBe('scan');
    expect(contentNeed(row({ status: 'unscannable', failure: 'fetch' }), versions, 100, 50)).toBe('scan');
    expect(contentNeed(undefined, versions, 100, 50)).toBe('scan');
  });
  it('waits on a fresh claim and takes over a stale one', () => {
    expect(contentNeed(row({ status: 'pending', claimed_at: 80 }), versions, 100, 50)).toBe('wait');
    expect(contentNeed(row({ status: 'pending', claimed_at: 10 }), versions, 100, 50)).toBe('scan');
  });
});

describe('claims (the committed migrations on sql.js)', () => {
  it('gives a content to one claimant until the claim goes stale', async () => {
    const db = await openSqlJsDatabase();
    const sha = 'b'.repeat(64);
    expect(await claimContent(db, sha, 5, 'rev:a@main', 1000, 500)).toBe(true);
    expect(await claimContent(db, sha, 5, 'rev:b@main', 1200, 500)).toBe(false);
    // The same claimant (a retried message) keeps it.
    expect(await claimContent(db, sha, 5, 'rev:a@main', 1300, 500)).toBe(true);
    expect(await claimContent(db, sha, 5, 'rev:b@main', 2000, 500)).toBe(true);
    const stored = (await getContents(db, [sha])).get(sha);
    expect(stored).toMatchObject({ status: 'pending', claimed_by: 'rev:b@main', claimed_at: 2000 });
    db.close();
  });
});
