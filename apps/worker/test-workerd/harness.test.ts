import { describe, expect, it } from 'vitest';
import wasm from '../src/generated/scanner.wasm';
import { checkUrl } from '../src/url-policy.js';

describe('workerd harness', () => {
  it('runs inside workerd with the scanner imported as a precompiled module', () => {
    expect(navigator.userAgent).toBe('Cloudflare-Workers');
    expect(wasm).toBeInstanceOf(WebAssembly.Module);
  });
  it('forbids compiling WebAssembly from bytes, which is why the module is imported', async () => {
    await expect(WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).rejects.toThrow();
  });
  it('applies the URL policy the same way as on Node', async () => {
    await expect(checkUrl('https://169.254.169.254/', { allowHosts: [], trustedHosts: [] })).rejects.toThrow(
      /not a public/,
    );
  });
});
