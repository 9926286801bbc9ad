import { describe, expect, it } from 'vitest';
import { jsonForTerminal } from './judge.js';

describe('jsonForTerminal', () => {
  it('escapes controls and bidi overrides and still parses back to the same value', () => {
    const path = 'models/\u202eevil\u001b[31m\u0085.pkl';
    const text = jsonForTerminal({ path });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none survive
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(JSON.parse(text)).toEqual({ path });
  });
});
