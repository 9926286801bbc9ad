import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it('reads plain, SI and binary sizes', () => {
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('500MB')).toBe(500_000_000);
    expect(parseByteSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize(' 10 k ')).toBe(10240);
  });
  it('rejects what is not a size', () => {
    expect(parseByteSize('')).toBeUndefined();
    expect(parseByteSize('ten')).toBeUndefined();
    expect(parseByteSize('-5')).toBeUndefined();
    expect(parseByteSize('5 parsecs')).toBeUndefined();
    expect(parseByteSize('99999999999999999999')).toBeUndefined();
  });
});
