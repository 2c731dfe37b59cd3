import { describe, expect, it } from 'vitest';
import { inShard, parseShard, shardFromJobIndex, shardOf } from '../../src/plan/shard.js';
import { UsageError } from '../../src/errors.js';

describe('shardOf: the hash the README specifies', () => {
  // Expected values computed with coreutils, not with our code:
  //   h=$(printf '%s' "$PATH" | sha256sum | cut -c1-8); echo $((0x$h % N))
  it.each<[string, number, number]>([
    ['a.txt', 4, 1],
    ['dir/file.txt', 4, 0],
    ['ünï cödé.txt', 7, 1],
    ['caf‛E9.txt', 4, 1],
    ['logs/2026/11/24/part-00001.csv.gz', 7, 2],
    ['logs/2026/11/24/part-00001.csv.gz', 1000, 226],
    ['anything', 1, 0],
  ])('%s of %i → %i', (rel, n, want) => expect(shardOf(rel, n)).toBe(want));
});

/** Names as real trees have them: sequences, dates, camera files, deep paths. */
function realisticNames(): string[] {
  const names: string[] = [];
  for (let i = 0; i < 2_000; i++) names.push(`logs/2026/11/${String(1 + (i % 30)).padStart(2, '0')}/part-${String(i).padStart(5, '0')}.csv.gz`);
  for (let i = 0; i < 2_000; i++) names.push(`photos/IMG_${String(1000 + i)}.JPG`);
  for (let i = 0; i < 2_000; i++) names.push(`src/module${i % 50}/file${i}.ts`);
  for (let i = 0; i < 2_000; i++) names.push(`${i}`);
  return names;
}

describe('shares', () => {
  const names = realisticNames();

  it.each([2, 4, 8, 16])('%i shares: each path in exactly one, each share within 10 percent of an even split', (n) => {
    const shares = Array.from({ length: n }, (_, index) => inShard({ index, count: n }));
    const sizes = new Array<number>(n).fill(0);
    for (const name of names) {
      const owners = shares.flatMap((mine, i) => (mine(name) ? [i] : []));
      expect(owners, name).toHaveLength(1);
      sizes[owners[0]!]!++;
    }
    const even = names.length / n;
    for (const size of sizes) expect(Math.abs(size - even) / even).toBeLessThan(0.1);
  });

  it('1 share is everything', () => expect(names.every(inShard({ index: 0, count: 1 }))).toBe(true));
});

describe('parseShard', () => {
  it.each([
    ['0/4', { index: 0, count: 4 }],
    ['3/4', { index: 3, count: 4 }],
    ['0/1', { index: 0, count: 1 }],
    [' 2/3 ', { index: 2, count: 3 }],
  ])('%s', (text, want) => expect(parseShard(text)).toEqual(want));

  it.each([
    ['4/4', /index 4 is out of range for 4 shards: use 0 to 3/],
    ['0/0', /must be 1 to 10000, not 0/],
    ['a/b', /not a whole number/],
    ['1/b', /'b' is not a whole number/],
    ['-1/4', /index '-1' is not a whole number/],
    ['1.5/4', /not a whole number/],
    ['2', /write INDEX\/COUNT/],
    ['1/2/3', /write INDEX\/COUNT/],
    ['', /write INDEX\/COUNT/],
    ['0/10001', /1 to 10000/],
  ])('%s is refused', (text, message) => {
    expect(() => parseShard(text)).toThrow(UsageError);
    expect(() => parseShard(text)).toThrow(message);
  });
});

describe('shardFromJobIndex', () => {
  it('takes the index from JOB_COMPLETION_INDEX', () =>
    expect(shardFromJobIndex('4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 }));
  it.each([
    [{}, /JOB_COMPLETION_INDEX, which is not set/],
    [{ JOB_COMPLETION_INDEX: '' }, /not set/],
    [{ JOB_COMPLETION_INDEX: '4' }, /JOB_COMPLETION_INDEX=4 with --shards 4: index 4 is out of range/],
    [{ JOB_COMPLETION_INDEX: 'x' }, /not a whole number/],
  ])('%j is refused', (env, message) => expect(() => shardFromJobIndex('4', env)).toThrow(message));
  it('refuses a bad count', () => expect(() => shardFromJobIndex('0', { JOB_COMPLETION_INDEX: '0' })).toThrow(/1 to 10000/));
});
