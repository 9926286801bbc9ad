import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssetHandler, webAssets } from './web-assets.js';

let dir: string;
let serve: AssetHandler;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brine-web-assets-'));
  const page = join(dir, 'page');
  await mkdir(page);
  await writeFile(join(page, 'index.html'), '<!doctype html><title>brine</title>');
  await writeFile(join(page, 'app.js'), 'console.log(1)');
  await writeFile(join(page, 'scanner.wasm'), new Uint8Array([0, 97, 115, 109]));
  await writeFile(join(page, '.secret.json'), '{}');
  await writeFile(join(dir, 'outside.js'), 'nope');
  const handler = await webAssets(page);
  if (!handler) throw new Error('expected a handler');
  serve = handler;
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const get = (path: string, method = 'GET') => serve(new Request(`http://127.0.0.1${path}`, { method }));

describe('webAssets', () => {
  it('serves index.html at / and files with their media types', async () => {
    const index = await get('/');
    expect(index?.status).toBe(200);
    expect(index?.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await index?.text()).toContain('<title>brine</title>');
    expect((await get('/app.js'))?.headers.get('content-type')).toMatch(/^text\/javascript/);
    const wasm = await get('/scanner.wasm');
    expect(wasm?.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await (wasm as Response).arrayBuffer())).toEqual(new Uint8Array([0, 97, 115, 109]));
  });

  it('answers HEAD without a body', async () => {
    const res = await get('/app.js', 'HEAD');
    expect(res?.status).toBe(200);
    expect(res?.headers.get('content-length')).toBe('14');
    expect(await res?.text()).toBe('');
  });

  it('leaves API paths, other methods, unknown files, dotfiles and escapes to the app', async () => {
    expect(await get('/v1/rules')).toBeUndefined();
    expect(await get('/healthz')).toBeUndefined();
    expect(await get('/', 'POST')).toBeUndefined();
    expect(await get('/missing.js')).toBeUndefined();
    expect(await get('/.secret.json')).toBeUndefined();
    expect(await get('/..%2Foutside.js')).toBeUndefined();
    expect(await get('/%2e%2e/outside.js')).toBeUndefined();
    expect(await get('/%E0%A4%A')).toBeUndefined();
  });

  it('gives no handler when the page is not built', async () => {
    expect(await webAssets(join(dir, 'nothing-here'))).toBeUndefined();
  });
});
