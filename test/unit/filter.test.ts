import { describe, expect, it } from 'vitest';
import { compileFilter, filterRulesFromArgv, type FilterBounds, type FilterRule } from '../../src/plan/filter.js';
import { bytesPerSecond, timeOrAge } from '../../src/cli/values.js';
import { UsageError } from '../../src/errors.js';

const inc = (pattern: string): FilterRule => ({ kind: 'include', pattern });
const exc = (pattern: string): FilterRule => ({ kind: 'exclude', pattern });

describe('compileFilter', () => {
  it.each<[string, FilterRule[], string, boolean]>([
    ['no rules include everything', [], 'a/b.txt', true],
    ['exclude by basename anywhere', [exc('*.log')], 'deep/dir/x.log', false],
    ['exclude by basename keeps others', [exc('*.log')], 'deep/dir/x.txt', true],
    ['include alone changes nothing', [inc('*.txt')], 'x.bin', true],
    ['exclude all then include', [exc('*'), inc('*.txt')], 'a/b.txt', true],
    ['exclude all then include: others out', [exc('*'), inc('*.txt')], 'a/b.bin', false],
    ['last match wins', [inc('*.txt'), exc('*.txt')], 'a.txt', false],
    ['pattern with / matches the relative path', [exc('logs/*')], 'logs/a.txt', false],
    ['pattern with / is anchored', [exc('logs/*')], 'x/logs/a.txt', true],
    ['** crosses directories', [exc('build/**')], 'build/a/b/c.o', false],
    ['dotfiles match', [exc('*')], '.hidden', false],
    ['spaces and unicode', [exc('ünï *.txt')], 'd/ünï cödé.txt', false],
  ])('%s', (_name, rules, rel, want) => expect(compileFilter(rules)({ relPath: rel, size: 1, mtimeMs: 0 })).toBe(want));
});

describe('filterRulesFromArgv', () => {
  it('keeps command-line order across both flags', () => {
    expect(
      filterRulesFromArgv(['cp', '--exclude', '*', '-r', '--include=*.txt', 'a', 'b', '--exclude', 'x/*']),
    ).toEqual([exc('*'), inc('*.txt'), exc('x/*')]);
  });
  it('stops at --', () => expect(filterRulesFromArgv(['--', '--exclude', 'x'])).toEqual([]));
});

describe('size and time bounds', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const day = 86_400_000;
  it.each<[string, FilterBounds, { size: number; mtimeMs: number }, boolean]>([
    ['no bounds', {}, { size: 0, mtimeMs: 0 }, true],
    ['--min-size is inclusive', { minSize: 10 }, { size: 10, mtimeMs: now }, true],
    ['--min-size excludes smaller', { minSize: 10 }, { size: 9, mtimeMs: now }, false],
    ['--max-size is inclusive', { maxSize: 10 }, { size: 10, mtimeMs: now }, true],
    ['--max-size excludes larger', { maxSize: 10 }, { size: 11, mtimeMs: now }, false],
    ['--max-size 0: empty files only', { maxSize: 0 }, { size: 0, mtimeMs: now }, true],
    ['--min-age: exactly that old is in', { minAgeMs: day }, { size: 1, mtimeMs: now - day }, true],
    ['--min-age: younger is out', { minAgeMs: day }, { size: 1, mtimeMs: now - day + 1 }, false],
    ['--max-age: exactly that old is in', { maxAgeMs: day }, { size: 1, mtimeMs: now - day }, true],
    ['--max-age: older is out', { maxAgeMs: day }, { size: 1, mtimeMs: now - day - 1 }, false],
    ['--newer-than is strict', { newerThanMs: now }, { size: 1, mtimeMs: now }, false],
    ['--newer-than: after is in', { newerThanMs: now }, { size: 1, mtimeMs: now + 1 }, true],
    ['--older-than is strict', { olderThanMs: now }, { size: 1, mtimeMs: now }, false],
    ['--older-than: before is in', { olderThanMs: now }, { size: 1, mtimeMs: now - 1 }, true],
    ['a window: both must hold', { newerThanMs: now - day, olderThanMs: now }, { size: 1, mtimeMs: now - 2 * day }, false],
    ['size and time both must hold', { minSize: 5, maxAgeMs: day }, { size: 4, mtimeMs: now }, false],
  ])('%s', (_name, bounds, entry, want) => expect(compileFilter([], bounds, now)({ relPath: 'a', ...entry })).toBe(want));

  it('bounds and rules combine: excluded by name stays out, whatever its size', () => {
    const filter = compileFilter([{ kind: 'exclude', pattern: '*.log' }], { minSize: 1 }, now);
    expect(filter({ relPath: 'x.log', size: 5, mtimeMs: now })).toBe(false);
    expect(filter({ relPath: 'x.txt', size: 5, mtimeMs: now })).toBe(true);
    expect(filter({ relPath: 'x.txt', size: 0, mtimeMs: now })).toBe(false);
  });
});

describe('timeOrAge (--newer-than / --older-than)', () => {
  it.each<[string, { atMs: number } | { ageMs: number }]>([
    ['2026-01-01', { atMs: Date.parse('2026-01-01T00:00:00Z') }],
    ['2026-01-01T10:00:00Z', { atMs: Date.parse('2026-01-01T10:00:00Z') }],
    ['2026-01-01T10:00:00+02:00', { atMs: Date.parse('2026-01-01T08:00:00Z') }],
    ['2026-01-01T10:00:00.5Z', { atMs: Date.parse('2026-01-01T10:00:00.500Z') }],
    ['7d', { ageMs: 7 * 86_400_000 }],
    ['90s', { ageMs: 90_000 }],
  ])('%s', (text, want) => expect(timeOrAge(text, '--newer-than')).toEqual(want));

  it.each(['yesterday', '2026-13-01', '2026/01/01', '1700000000', '7', '2026-01-01T25:00Z', ''])('refuses %j with a usage error', (text) => {
    expect(() => timeOrAge(text, '--older-than')).toThrow(UsageError);
    expect(() => timeOrAge(text, '--older-than')).toThrow(/--older-than .*use a date or time/);
  });
});

describe('bytesPerSecond (--bwlimit)', () => {
  it.each<[string, number]>([
    ['50MiB/s', 50 * 1024 * 1024],
    ['50M', 50 * 1024 * 1024],
    ['400KB/s', 400_000],
    ['8 MiB / s', 8 * 1024 * 1024],
    ['0', 0],
    ['off', 0],
  ])('%s', (text, want) => expect(bytesPerSecond(text, '--bwlimit')).toBe(want));
  it.each(['fast', '-5M', '10 bits', '512', '1MiB/min'])('refuses %j', (text) => {
    expect(() => bytesPerSecond(text, '--bwlimit')).toThrow(/invalid --bwlimit '.*': use a rate such as 50MiB\/s/);
  });
});
