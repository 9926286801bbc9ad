import { describe, expect, it } from 'vitest';
import { BrineError } from './index.js';

describe('BrineError', () => {
  it('names the file in its message', () => {
    const e = new BrineError('unreadable', 'permission denied', 'model.pt');
    expect(e.message).toBe('model.pt: permission denied');
    expect(e.code).toBe('unreadable');
  });
});
