import { describe, expect, it } from 'vitest';
import { wantsColor } from './terminal.js';

describe('wantsColor', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it('colours a terminal and not a pipe', () => {
    expect(wantsColor(tty, {})).toBe(true);
    expect(wantsColor(pipe, {})).toBe(false);
    expect(wantsColor(pipe, { CI: 'true' })).toBe(false);
    expect(wantsColor(tty, { TERM: 'dumb' })).toBe(false);
  });
  it('respects NO_COLOR over FORCE_COLOR, and FORCE_COLOR over the TTY check', () => {
    expect(wantsColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColor(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(wantsColor(pipe, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(wantsColor(tty, { NO_COLOR: '' })).toBe(true);
  });
});
