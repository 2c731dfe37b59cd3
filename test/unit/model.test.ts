import { describe, expect, it } from 'vitest';
import { MiB, choosePartSize, splitParts } from '../../src/engine/model.js';

describe('choosePartSize', () => {
  it.each([
    ['default for a small file', 20 * MiB, undefined, 8 * MiB],
    ['explicit', 64 * MiB, 5 * MiB, 5 * MiB],
    ['auto grows to stay within 10,000 parts', 200_000 * MiB, undefined, 20 * MiB],
    ['auto rounds up to whole MiB', 80_001 * MiB, undefined, 9 * MiB],
  ])('%s', (_n, size, requested, want) => expect(choosePartSize(size, requested, 8 * MiB)).toBe(want));

  it('refuses an explicit size under 5 MiB', () => {
    expect(() => choosePartSize(64 * MiB, 4 * MiB, 8 * MiB)).toThrow(/below S3's minimum of 5 MiB: use 5MiB or more/);
  });
  it('refuses an explicit size that needs more than 10,000 parts', () => {
    expect(() => choosePartSize(60_000 * MiB, 5 * MiB, 8 * MiB)).toThrow(/more than 10000 parts .* use at least 6.00 MiB/);
  });
});

describe('splitParts', () => {
  it('an exact multiple', () => {
    expect(splitParts(10 * MiB, 5 * MiB)).toEqual([
      { partNumber: 1, offset: 0, size: 5 * MiB },
      { partNumber: 2, offset: 5 * MiB, size: 5 * MiB },
    ]);
  });
  it('a short last part', () => {
    const parts = splitParts(64 * MiB, 5 * MiB);
    expect(parts).toHaveLength(13);
    expect(parts.at(-1)).toEqual({ partNumber: 13, offset: 60 * MiB, size: 4 * MiB });
    expect(parts.reduce((n, p) => n + p.size, 0)).toBe(64 * MiB);
  });
  it('an empty file is one empty part', () => expect(splitParts(0, 5 * MiB)).toEqual([{ partNumber: 1, offset: 0, size: 0 }]));
});
