import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from '../../src/size.js';

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1048576', 1048576],
    ['5MiB', 5 * 1024 ** 2],
    ['5M', 5 * 1024 ** 2],
    ['5m', 5 * 1024 ** 2],
    ['64MB', 64_000_000],
    ['1GiB', 1024 ** 3],
    ['1.5KiB', 1536],
    [' 8 MiB ', 8 * 1024 ** 2],
  ])('%s → %d', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', 'abc', '5XB', '-1', '5 M B', '1e3'])('rejects %j with the fix', (text) => {
    expect(() => parseSize(text, '--part-size')).toThrow(/invalid --part-size .*use bytes or a unit such as 5MiB/);
  });

  it('formats', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(5 * 1024 ** 2)).toBe('5.00 MiB');
    expect(formatSize(35 * 1024 ** 2)).toBe('35.0 MiB');
  });
});
