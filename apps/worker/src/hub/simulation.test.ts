import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation, type SimulationSummary } from './simulation.js';
import { openSqlJsDatabase } from './sqljs-database.js';
import { createStandinHandler, generateHub, type StandinHub } from './standin.js';
import { serveLoopback } from './standin-server.js';

// The Node side of hub scanning: the same consumer and SQL as in workerd, on sql.js, against the
// Hub stand-in over real HTTP on 127.0.0.1. Small enough for `npm test`; `npm run hub:sim` scales it.
describe('hub simulation (Node, loopback Hub stand-in)', () => {
  let hub: StandinHub;
  let server: Awaited<ReturnType<typeof serveLoopback>>;
  let standin: ReturnType<typeof createStandinHandler>;
  let summary: SimulationSummary;
  const lines: string[] = [];

  beforeAll(async () => {
    hub = await generateHub({
      repos: 60,
      seed: 7,
      sharedBases: 6,
      maliciousEvery: 10,
      slowEvery: 13,
      slowDelayMs: 5,
      flakyEvery: 11,
      brokenEvery: 29,
    });
    standin = createStandinHandler(hub, { hangMs: 4_000 });
    server = await serveLoopback(standin.handle);
    const db = await openSqlJsDatabase();
    summary = await runSimulation({
      db,
      hfEndpoint: server.url,
      repos: [
        ...hub.repos.map((r) => ({ repo: r.repo, revision: 'main' })),
        { repo: 'nobody/missing', revision: 'main' },
      ],
      planted: hub.planted,
      // Generous per-attempt time (the machine is shared); the hanging file still outlasts it.
      limits: { fileTimeoutMs: 2_000 },
      maxRetries: 2,
      msPerDelaySecond: 1,
      write: (l) => lines.push(l),
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('reports every planted malicious file as dangerous, and the repositories holding them', () => {
    expect(hub.planted.length).toBeGreaterThanOrEqual(6);
    expect(summary.missed).toEqual([]);
    expect(summary.plantedReported).toBe(hub.planted.length);
    const perRepo = lines.slice(0, -1).map((l) => JSON.parse(l) as { repo: string; verdict: string });
    for (const p of hub.planted) expect(perRepo.find((r) => r.repo === p.repo)?.verdict).toBe('dangerous');
  });

  it('scans each distinct content once: shared weights are read once across repositories', () => {
    expect(summary.dedupRatio).toBeGreaterThan(1.5);
    // Every content scanned at most once: no two scans of the same SHA-256.
    expect(summary.scans).toBeLessThan(summary.files);
  });

  it('reads a small fraction of multi-GB weights by range', () => {
    expect(summary.hostedBytes).toBeGreaterThan(50e9);
    expect(summary.bytesFetchedPerGBHosted).toBeLessThan(1e6);
  });

  it('retries flaky files, and records files that keep failing or hang as unscannable with the reason', () => {
    expect(summary.retries).toBeGreaterThan(0);
    const perRepo = lines.slice(0, -1).map(
      (l) =>
        JSON.parse(l) as {
          repo: string;
          status: string;
          verdict: string;
          error?: string;
          files: Array<{ path: string; verdict: string; reason?: string }>;
        },
    );
    const broken = perRepo.flatMap((r) =>
      r.files.filter((f) => f.path === 'broken.bin' || f.path === 'hanging.bin'),
    );
    expect(broken.length).toBeGreaterThanOrEqual(2);
    for (const f of broken) {
      expect(f.verdict).toBe('unscannable');
      expect(f.reason).toMatch(/gave up after 3 attempts/);
    }
    expect(broken.find((f) => f.path === 'hanging.bin')?.reason).toMatch(/timed out|abort/i);
    // Nothing is left queued: every file ends judged or unscannable.
    for (const r of perRepo) for (const f of r.files) expect(f.verdict).not.toBe('queued');
    const missing = perRepo.find((r) => r.repo === 'nobody/missing');
    expect(missing).toMatchObject({ status: 'failed', verdict: 'unscannable' });
    expect(missing?.error).toMatch(/404/);
  });

  it('writes one JSON line per repository, then the summary', () => {
    expect(lines).toHaveLength(hub.repos.length + 2);
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ summary: true, repos: hub.repos.length + 1 });
    const clean = lines
      .slice(0, -1)
      .map((l) => JSON.parse(l) as { verdict: string })
      .filter((r) => r.verdict === 'clean');
    expect(clean.length).toBeGreaterThan(30);
  });
});
