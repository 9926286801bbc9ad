/**
 * End-to-end: the built page in a real headless Chromium, served from 127.0.0.1 by a static server
 * that records every request it receives. Files are given to the page through the picker and by a
 * drop; the tests check what a person would see, that the downloads are real reports, and that no
 * request ever carries a byte of the scanned files.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { bufferSource, scan } from '@brine/core';
import { builtinPolicies, evaluate, getRule } from '@brine/rules';
import { type BrowserContext, chromium, type FileChooser, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jsonReportErrors, sarifErrors } from '../../../packages/report/src/test-support/schemas.js';
import { startServer as startWorkerServer } from '../../worker/src/node.js';
import { webAssets } from '../../worker/src/web-assets.js';

const webRoot = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = resolve(webRoot, '../..');
/** Screenshots land here (gitignored) so a person can look at the page the tests saw. */
const artefacts = join(webRoot, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';

// The flags this machine needs (see the shared toolchain notes): no background traffic to Google,
// no QUIC, no sandbox (tests run as root). The profile directory is created fresh per run.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const fixture = (rel: string) => readFileSync(join(repoRoot, 'fixtures', rel));

/** A real `torch.save` state dict (zip archive): data only. */
const CLEAN_CHECKPOINT = fixture('containers/torch-state-dict.pt');
/** Protocol 2: os.system('touch /tmp/brine-pwned') at offset 2. Never loaded anywhere. */
const MALICIOUS_PICKLE = fixture('pickles/malicious/os-system-p2.pkl');
/** A torch zip cut in half: no central directory, so it cannot be fully read. */
const CORRUPT_CHECKPOINT = fixture('containers/torch-truncated.pt');
/** A data-only pickle for the synthetic large checkpoint. */
const CLEAN_PICKLE = fixture('pickles/benign/data-p2.pkl');
/** A call argument that is also HTML: must be shown as text, never parsed. */
const HTML_ARGUMENT_PICKLE = Buffer.from(
  'cos\nsystem\n(S\'<img src=x onerror="window.__brineXss=1">\'\ntR.',
  'latin1',
);

interface Recorded {
  method: string;
  url: string;
  body: Buffer;
}

interface StaticServer {
  server: Server;
  origin: string;
  requests: Recorded[];
  /** Holds back scanner.wasm until released (to see the page while it waits). */
  holdWasm: { promise: Promise<void>; release: () => void } | undefined;
  /** Answers 404 for scanner.wasm (a broken deployment). */
  missingWasm: boolean;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

async function startServer(dir: string): Promise<StaticServer> {
  const state: StaticServer = {
    server: undefined as unknown as Server,
    origin: '',
    requests: [],
    holdWasm: undefined,
    missingWasm: false,
  };
  state.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks) });
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const rel = normalize(path === '/' ? '/index.html' : path).replace(/^(\.\.[/\\])+/, '');
      const file = join(dir, rel);
      if (req.method !== 'GET' || !file.startsWith(dir)) {
        res.writeHead(405).end();
        return;
      }
      try {
        if (rel === '/scanner.wasm' && state.missingWasm) throw new Error('missing on purpose');
        const body = await readFile(file);
        if (rel === '/scanner.wasm' && state.holdWasm) await state.holdWasm.promise;
        res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => state.server.listen(0, '127.0.0.1', r));
  state.origin = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  return state;
}

let outdir: string;
/** The asset list the build hands to the service worker (`build.json`). */
let builtAssets: string[];
let profile: string;
let srv: StaticServer;
let context: BrowserContext;
const browserRequests: Array<{ url: string; method: string; body: Buffer | null }> = [];
const pageErrors: string[] = [];
/** The only origins the browser may reach: the test's static server and, in one test, the worker. */
const origins: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  outdir = await mkdtemp(join(tmpdir(), 'brine-web-dist-'));
  profile = await mkdtemp(join(tmpdir(), 'brine-web-profile-'));
  await promisify(execFile)(process.execPath, [join(webRoot, 'build.mjs'), '--outdir', outdir], {
    cwd: repoRoot,
  });
  builtAssets = JSON.parse(await readFile(join(outdir, 'build.json'), 'utf8')).assets;
  srv = await startServer(outdir);
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  // Anything that is not our own server would be a leak: refuse it and remember it.
  origins.push(srv.origin);
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (origins.some((o) => url.startsWith(`${o}/`))) return route.continue();
    return route.abort('blockedbyclient');
  });
  context.on('request', (req: Request) => {
    browserRequests.push({ url: req.url(), method: req.method(), body: req.postDataBuffer() });
  });
  await mkdir(artefacts, { recursive: true });
});

afterAll(async () => {
  await context?.close();
  await new Promise((r) => srv?.server.close(r));
  await rm(outdir, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
});

async function openPage(query = ''): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${srv.origin}/${query}`);
  await expect.poll(() => page.locator('#status').textContent()).toMatch(/^Ready/);
  return page;
}

const HUNG = 'no result (the scan never ended)';

/** A comparable line per file: verdict and the sorted rule ids of its findings. */
function summary(verdict: string, rules: string[]): string {
  return `${verdict}: ${[...rules].sort().join(' ')}`;
}

function file(name: string, data: Buffer) {
  return { name, mimeType: 'application/octet-stream', buffer: data };
}

async function waitForReports(page: Page, n: number) {
  await expect.poll(() => page.locator('article.report[data-verdict]').count(), { timeout: 30_000 }).toBe(n);
}

const card = (page: Page, name: string) =>
  page.locator('article.report', { has: page.locator('h3.file-name', { hasText: name }) });

beforeEach(() => {
  pageErrors.length = 0;
});

describe('the brine page', () => {
  it('says the file stays local, and the picker is reachable and labelled for keyboard users', async () => {
    const page = await openPage();
    await expect.poll(() => page.locator('#privacy').textContent()).toContain('never leave this device');
    const label = await page
      .locator('#file-input')
      .evaluate((el) => (el as HTMLInputElement).labels?.[0]?.textContent);
    expect(label).toMatch(/Choose files/);
    expect(await page.locator('#file-input').getAttribute('multiple')).not.toBeNull();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'file-input');
    }
    expect(reached).toBe(true);
    // Enter on the focused picker opens the file chooser: the whole flow works without a mouse. On a
    // loaded machine Chromium has been seen to drop the very first key press after start-up, so the
    // press is repeated (still keyboard only, focus checked each time) before giving up.
    let chooser: FileChooser | undefined;
    for (let attempt = 0; attempt < 3 && !chooser; attempt++) {
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('file-input');
      [chooser] = await Promise.all([
        page.waitForEvent('filechooser', { timeout: 10_000 }).catch(() => undefined),
        page.keyboard.press('Enter'),
      ]);
    }
    if (!chooser) throw new Error('Enter on the focused file picker never opened the file chooser');
    expect(chooser.isMultiple()).toBe(true);
    await chooser.setFiles([file('keyboard.pkl', MALICIOUS_PICKLE)]);
    await waitForReports(page, 1);
    expect(await card(page, 'keyboard.pkl').getAttribute('data-verdict')).toBe('dangerous');
    await page.close();
  });

  it('shows verdicts, findings with rule texts, offsets and tiered imports for clean, malicious and corrupt files', async () => {
    const page = await openPage();
    await page
      .locator('#file-input')
      .setInputFiles([
        file('weights.pt', CLEAN_CHECKPOINT),
        file('evil.pkl', MALICIOUS_PICKLE),
        file('broken.pt', CORRUPT_CHECKPOINT),
      ]);
    await waitForReports(page, 3);

    const clean = card(page, 'weights.pt');
    expect(await clean.getAttribute('data-verdict')).toBe('clean');
    expect(await clean.locator('.verdict-headline').textContent()).toBe(
      'No code runs when this file is loaded',
    );
    expect(await clean.locator('.finding').count()).toBe(0);
    expect(await clean.locator('.stats').textContent()).toMatch(/pytorch-zip .* default policy$/);

    const evil = card(page, 'evil.pkl');
    expect(await evil.getAttribute('data-verdict')).toBe('dangerous');
    expect(await evil.locator('.verdict-headline').textContent()).toMatch(/do not load/);
    const finding = evil.locator('.finding').first();
    const ruleId = await finding.getAttribute('data-rule');
    const rule = getRule(ruleId ?? '');
    expect(rule).toBeDefined();
    // The same texts `brine explain` prints.
    expect(await finding.locator('.explanation').textContent()).toBe(rule?.explanation);
    expect(await finding.locator('.remediation').textContent()).toBe(rule?.remediation);
    const findingText = await evil.locator('.findings').textContent();
    expect(findingText).toContain('os.system');
    expect(findingText).toContain('touch /tmp/brine-pwned');
    // GLOBAL follows the 2-byte PROTO: offset 2 in the file.
    expect(await finding.locator('.offset').first().textContent()).toBe('2');
    const dangerousTier = evil.locator('details[data-tier="dangerous"]');
    expect(await dangerousTier.getAttribute('open')).not.toBeNull();
    expect(await dangerousTier.locator('tbody tr').first().locator('code').textContent()).toBe('os.system');
    expect(await dangerousTier.locator('tbody tr').first().locator('td').last().textContent()).toBe('yes');

    const broken = card(page, 'broken.pt');
    expect(await broken.getAttribute('data-verdict')).toBe('unscannable');
    expect(await broken.locator('.verdict-headline').textContent()).toBe('Could not be fully checked');

    expect(await page.locator('#status').textContent()).toMatch(/^Done: 3 files checked/);
    expect(pageErrors).toEqual([]);

    // Every text the results use reaches WCAG AA contrast (4.5:1) against what is behind it.
    const low = await page.evaluate(lowContrastTexts);
    expect(low).toEqual([]);

    await page.screenshot({ path: join(artefacts, 'desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    // Readable on a phone: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(artefacts, 'phone.png'), fullPage: true });
    await page.close();
  });

  it('scans files dropped on the page', async () => {
    const page = await openPage();
    const bytes = [...MALICIOUS_PICKLE];
    const dataTransfer = await page.evaluateHandle((b) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], 'dropped.pkl'));
      return dt;
    }, bytes);
    await page.locator('#dropzone').dispatchEvent('drop', { dataTransfer });
    await waitForReports(page, 1);
    expect(await card(page, 'dropped.pkl').getAttribute('data-verdict')).toBe('dangerous');
    await page.close();
  });

  it('locates a finding inside a checkpoint by archive member, stream offset and file offset', async () => {
    const name = 'torch-evil.pt';
    const bytes = readFileSync(join(repoRoot, 'fixtures/containers', name));
    const report = evaluate(await scan(bufferSource(name, new Uint8Array(bytes))), builtinPolicies.default);
    const expected = report.findings.find((f) => f.ruleId === 'BRINE-IMP-001');
    expect(expected?.path.length).toBe(2);
    const page = await openPage();
    await page.locator('#file-input').setInputFiles([file(name, bytes)]);
    await waitForReports(page, 1);
    const finding = card(page, name).locator('.finding[data-rule="BRINE-IMP-001"]');
    expect(await finding.locator('.path').first().textContent()).toBe(expected?.path.join(' › '));
    expect(await finding.locator('.offset').first().textContent()).toBe(String(expected?.offset));
    expect(expected?.fileOffset).toBeDefined();
    expect(await finding.locator('.file-offset').textContent()).toBe(String(expected?.fileOffset));
    // The file offset really points at the GLOBAL opcode ('c') of the import.
    expect(bytes[expected?.fileOffset as number]).toBe('c'.charCodeAt(0));
    await page.close();
  });

  it('applies the policy chosen on the page', async () => {
    const name = 'torch-whole-module.pt';
    const bytes = readFileSync(join(repoRoot, 'fixtures/containers', name));
    const verdicts: Record<string, string> = {};
    for (const policy of ['default', 'weights-only'] as const) {
      verdicts[policy] = evaluate(
        await scan(bufferSource(name, new Uint8Array(bytes))),
        builtinPolicies[policy],
      ).verdict;
    }
    // A whole-module save imports torch.nn classes: allowed by default, refused by weights-only.
    expect(verdicts.default).not.toBe(verdicts['weights-only']);
    const page = await openPage();
    for (const policy of ['default', 'weights-only'] as const) {
      await page.selectOption('#policy', policy);
      await page.locator('#file-input').setInputFiles([file(`${policy}.pt`, bytes)]);
    }
    await waitForReports(page, 2);
    expect(await card(page, 'default.pt').getAttribute('data-verdict')).toBe(verdicts.default);
    expect(await card(page, 'weights-only.pt').getAttribute('data-verdict')).toBe(verdicts['weights-only']);
    expect(await card(page, 'weights-only.pt').locator('.stats').textContent()).toMatch(
      /weights-only policy$/,
    );
    await page.close();
  });

  it('shows hostile names as text, never as markup', async () => {
    const page = await openPage();
    await page.locator('#file-input').setInputFiles([file('<b>name</b>.pkl', HTML_ARGUMENT_PICKLE)]);
    await waitForReports(page, 1);
    expect(await page.locator('#results img, #results b').count()).toBe(0);
    expect(
      await page.evaluate(() => (window as unknown as { __brineXss?: number }).__brineXss),
    ).toBeUndefined();
    expect(await page.locator('#results').textContent()).toContain(
      '<img src=x onerror="window.__brineXss=1">',
    );
    expect(await page.locator('#results h3').first().textContent()).toBe('<b>name</b>.pkl');
    await page.close();
  });

  it('downloads JSON and SARIF reports built in the page', async () => {
    const page = await openPage();
    await page
      .locator('#file-input')
      .setInputFiles([file('weights.pt', CLEAN_CHECKPOINT), file('evil.pkl', MALICIOUS_PICKLE)]);
    await waitForReports(page, 2);

    const [jsonDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
    expect(jsonDl.suggestedFilename()).toBe('brine-report.json');
    const json = JSON.parse(await readFile((await jsonDl.path()) as string, 'utf8'));
    expect(jsonReportErrors(json)).toEqual([]);
    const files = json.files as Array<{ file: string; verdict: string }>;
    expect(files.map((f) => [f.file, f.verdict])).toEqual([
      ['weights.pt', 'clean'],
      ['evil.pkl', 'dangerous'],
    ]);

    const [sarifDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-sarif')]);
    expect(sarifDl.suggestedFilename()).toBe('brine-report.sarif');
    const sarif = JSON.parse(await readFile((await sarifDl.path()) as string, 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(sarifErrors(sarif)).toEqual([]);
    const results = sarif.runs[0].results as Array<{ ruleId: string }>;
    expect(results.length).toBeGreaterThan(0);
    expect(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)).toContain(results[0]?.ruleId);
    await page.close();
  });

  it('shows a progress indicator while a file waits for the scanner', async () => {
    let release = () => {};
    const promise = new Promise<void>((r) => {
      release = r;
    });
    srv.holdWasm = { promise, release };
    const page = await context.newPage();
    try {
      await page.goto(`${srv.origin}/`);
      await page.locator('#file-input').setInputFiles([file('slow.pt', CLEAN_CHECKPOINT)]);
      const pending = page.locator('article.report.pending');
      await expect.poll(() => pending.count()).toBe(1);
      expect(await pending.locator('progress').count()).toBe(1);
      expect(await pending.locator('progress').getAttribute('aria-label')).toBe('Scanning slow.pt');
      expect(await pending.getAttribute('aria-busy')).toBe('true');
    } finally {
      srv.holdWasm = undefined;
      release();
    }
    await waitForReports(page, 1);
    expect(await card(page, 'slow.pt').getAttribute('data-verdict')).toBe('clean');
    await page.close();
  });

  it('says clearly when the scanner cannot load, and never reports a file clean then', async () => {
    srv.missingWasm = true;
    const page = await context.newPage();
    try {
      await page.goto(`${srv.origin}/`);
      await expect.poll(() => page.locator('#status').textContent()).toMatch(/cannot scan/);
      expect(await page.locator('#status').textContent()).toContain('scanner.wasm: HTTP 404');
      await page.locator('#file-input').setInputFiles([file('weights.pt', CLEAN_CHECKPOINT)]);
      await waitForReports(page, 1);
      expect(await card(page, 'weights.pt').getAttribute('data-verdict')).toBe('unscannable');
      // The report the page makes up for such a file is still a valid report that fails.
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
      const json = JSON.parse(await readFile((await dl.path()) as string, 'utf8'));
      expect(jsonReportErrors(json)).toEqual([]);
      expect(json.files[0].verdict).toBe('unscannable');
    } finally {
      srv.missingWasm = false;
    }
    await page.close();
  });

  it('stops a scan that makes no progress, reports that file unscannable and goes on with the next', async () => {
    let release = () => {};
    const promise = new Promise<void>((r) => {
      release = r;
    });
    srv.holdWasm = { promise, release };
    const page = await context.newPage();
    try {
      // The scanner never arrives: the first file's scan is stuck, as a hung decoder would be.
      await page.goto(`${srv.origin}/?stall-ms=1500`);
      await page.locator('#file-input').setInputFiles([file('stuck.pt', CLEAN_CHECKPOINT)]);
      await waitForReports(page, 1);
      const stuck = card(page, 'stuck.pt');
      expect(await stuck.getAttribute('data-verdict')).toBe('unscannable');
      expect(await stuck.locator('.problems').textContent()).toMatch(/scan-stalled.*no progress for 2 s/);
    } finally {
      srv.holdWasm = undefined;
      release();
    }
    // A fresh worker takes over: the next file is scanned normally.
    await page.locator('#file-input').setInputFiles([file('next.pkl', MALICIOUS_PICKLE)]);
    await waitForReports(page, 2);
    expect(await card(page, 'next.pkl').getAttribute('data-verdict')).toBe('dangerous');
    await page.close();
  });

  it('reads only the directory and the pickle of a large checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'brine-web-big-'));
    try {
      const path = join(dir, 'big.pt');
      const tensorBytes = 1024 * 1024 * 1024;
      await writeSparseCheckpoint(path, tensorBytes);
      const page = await openPage();
      await page.locator('#file-input').setInputFiles(path);
      await waitForReports(page, 1);
      const report = card(page, 'big.pt');
      expect(await report.getAttribute('data-verdict')).toBe('clean');
      const read = Number(await report.getAttribute('data-bytes-read'));
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThan(1024 * 1024);
      await page.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives the same verdicts and findings as the Node engine for every container fixture', async () => {
    const dir = join(repoRoot, 'fixtures/containers');
    const names = readdirSync(dir).filter((n) => !n.endsWith('.json'));
    expect(names.length).toBeGreaterThan(20);
    const expected = new Map<string, string>();
    for (const name of names) {
      // A scan that never ends is recorded as such, so the comparison below names the file.
      const fileScan = await Promise.race([
        scan(bufferSource(name, new Uint8Array(readFileSync(join(dir, name))))),
        new Promise<undefined>((r) => setTimeout(r, 3_000)),
      ]);
      const report = fileScan && evaluate(fileScan, builtinPolicies.default);
      expected.set(
        name,
        report
          ? summary(
              report.verdict,
              report.findings.map((f) => f.ruleId),
            )
          : HUNG,
      );
    }
    // A stuck scan is cut after 10 s of no progress (the page's watchdog) instead of 60 s.
    const page = await openPage('?stall-ms=10000');
    await page.locator('#file-input').setInputFiles(names.map((n) => join(dir, n)));
    // Files still pending after a while are compared as hung, rather than the test just timing out.
    await expect
      .poll(() => page.locator('article.report.pending').count(), { timeout: 15_000 })
      .toBe(0)
      .catch(() => {});
    const seen = await page.locator('article.report').evaluateAll((cards) =>
      cards.map((c) => ({
        name: c.querySelector('h3')?.textContent ?? '',
        verdict: c.getAttribute('data-verdict'),
        rules: [...c.querySelectorAll('.finding')].map((f) => f.getAttribute('data-rule') ?? ''),
      })),
    );
    const actual = new Map(seen.map((c) => [c.name, c.verdict ? summary(c.verdict, c.rules) : HUNG]));
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    await page.close();
  });

  it('works offline once loaded', async () => {
    const page = await openPage();
    // Wait until the service worker controls the page (it has cached the page's files by then).
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((r) =>
          navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }),
        );
      }
    });
    await context.setOffline(true);
    try {
      await page.reload();
      await expect.poll(() => page.locator('#status').textContent()).toMatch(/^Ready/);
      await page.locator('#file-input').setInputFiles([file('offline.pkl', MALICIOUS_PICKLE)]);
      await waitForReports(page, 1);
      expect(await card(page, 'offline.pkl').getAttribute('data-verdict')).toBe('dangerous');
    } finally {
      await context.setOffline(false);
    }
    await page.close();
  });

  it("is served by the worker's Node server at /, next to its API", async () => {
    const assets = await webAssets(outdir);
    if (!assets) throw new Error('expected the built page');
    const worker = await startWorkerServer({ port: 0, assets });
    const page = await context.newPage();
    try {
      // Same origin as the API: the page works there, and the API still answers JSON.
      origins.push(worker.url);
      await page.goto(`${worker.url}/`);
      await expect.poll(() => page.locator('#status').textContent()).toMatch(/^Ready/);
      await page.locator('#file-input').setInputFiles([file('evil.pkl', MALICIOUS_PICKLE)]);
      await waitForReports(page, 1);
      expect(await card(page, 'evil.pkl').getAttribute('data-verdict')).toBe('dangerous');
      const health = await page.evaluate(async () => (await fetch('/healthz')).json());
      expect(health.status).toBe('ok');
    } finally {
      await page.close();
      await worker.close();
    }
  });

  it('never sends the scanned bytes anywhere', () => {
    // Runs last: covers every request of every test above.
    expect(srv.requests.length).toBeGreaterThan(0);
    for (const r of srv.requests) {
      expect(r.method).toBe('GET');
      expect(r.body.length).toBe(0);
    }
    for (const r of browserRequests) {
      expect(origins.some((o) => r.url.startsWith(`${o}/`)) || /^(blob|data):/.test(r.url)).toBe(true);
      expect(r.method).toBe('GET');
      expect(r.body).toBeNull();
      expect(decodeURIComponent(r.url)).not.toContain('brine-pwned');
    }
    // Only the page's own files were ever asked for.
    const pageFiles = new Set([
      '/',
      '/index.html',
      '/sw.js',
      ...builtAssets.map((a) => `/${a.replace(/^\.\//, '')}`),
    ]);
    const served = [...new Set(srv.requests.map((r) => new URL(r.url, srv.origin).pathname))];
    expect(served.filter((p) => !pageFiles.has(p) && !p.endsWith('.js.map'))).toEqual([]);
  });
});

/**
 * A zip laid out as torch.save writes it (`big/data.pkl`, `big/data/0`, `big/version`), with a
 * `tensorBytes`-long stored tensor entry that is a hole in a sparse file: costs no disk, and a
 * scanner that read it would show up in the bytes-read count.
 */
async function writeSparseCheckpoint(path: string, tensorBytes: number): Promise<void> {
  // torch's own pickle for {'w': storage 0} would need torch; a data-only dict is enough here.
  const entries: Array<{ name: string; data?: Buffer; size: number; crc: number }> = [
    { name: 'big/data.pkl', data: CLEAN_PICKLE, size: CLEAN_PICKLE.length, crc: crc32(CLEAN_PICKLE) },
    { name: 'big/data/0', size: tensorBytes, crc: crcOfZeros(tensorBytes) },
    { name: 'big/version', data: Buffer.from('3\n'), size: 2, crc: crc32(Buffer.from('3\n')) },
  ];
  const fh = await open(path, 'w');
  try {
    let pos = 0;
    const central: Buffer[] = [];
    for (const e of entries) {
      const name = Buffer.from(e.name);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt32LE(e.crc, 14);
      local.writeUInt32LE(e.size, 18);
      local.writeUInt32LE(e.size, 22);
      local.writeUInt16LE(name.length, 26);
      await fh.write(Buffer.concat([local, name]), 0, 30 + name.length, pos);
      const dataAt = pos + 30 + name.length;
      if (e.data) await fh.write(e.data, 0, e.data.length, dataAt);
      const cd = Buffer.alloc(46);
      cd.writeUInt32LE(0x02014b50, 0);
      cd.writeUInt16LE(20, 4);
      cd.writeUInt16LE(20, 6);
      cd.writeUInt32LE(e.crc, 16);
      cd.writeUInt32LE(e.size, 20);
      cd.writeUInt32LE(e.size, 24);
      cd.writeUInt16LE(name.length, 28);
      cd.writeUInt32LE(pos, 42);
      central.push(Buffer.concat([cd, name]));
      pos = dataAt + e.size;
    }
    const dir = Buffer.concat(central);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(entries.length, 8);
    eocd.writeUInt16LE(entries.length, 10);
    eocd.writeUInt32LE(dir.length, 12);
    eocd.writeUInt32LE(pos, 16);
    await fh.write(Buffer.concat([dir, eocd]), 0, dir.length + 22, pos);
  } finally {
    await fh.close();
  }
}

/**
 * CRC-32 of `n` zero bytes without reading them: the CRC register is linear over GF(2), so n zero
 * bytes apply the "one zero bit" operator 8n times; square-and-multiply gets there in log n steps.
 */
function crcOfZeros(n: number): number {
  const times = (mat: number[], vec: number) => {
    let sum = 0;
    for (let i = 0, v = vec; v; i++, v >>>= 1) if (v & 1) sum ^= mat[i] as number;
    return sum >>> 0;
  };
  let op = [0xedb88320];
  for (let i = 1, row = 1; i < 32; i++, row <<= 1) op.push(row >>> 0);
  let crc = 0xffffffff;
  for (let bits = BigInt(n) * 8n; bits > 0n; bits >>= 1n) {
    if (bits & 1n) crc = times(op, crc);
    op = op.map((row) => times(op, row));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Runs in the page: every element with its own text, whose colour against the nearest opaque
 * background is below 4.5:1 (WCAG 2 relative luminance). Returns `selector-ish: ratio` strings.
 */
function lowContrastTexts(): string[] {
  const parse = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
  const lum = ([r = 0, g = 0, b = 0]: number[]) => {
    const ch = (v: number) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
  };
  const background = (el: Element | null): number[] => {
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg.length >= 3 && (bg[3] ?? 1) > 0) return bg;
    }
    return [255, 255, 255];
  };
  const out: string[] = [];
  let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim());
    const style = getComputedStyle(el);
    if (
      !own ||
      style.visibility === 'hidden' ||
      style.display === 'none' ||
      el.closest('.visually-hidden, .skip')
    ) {
      continue;
    }
    checked += 1;
    const a = lum(parse(style.color));
    const b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (!(ratio >= 4.5)) out.push(`${el.tagName.toLowerCase()}.${el.className}: ${ratio.toFixed(2)}`);
  }
  if (checked < 20) out.push(`only ${checked} text elements found`);
  return out;
}
