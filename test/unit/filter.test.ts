import { describe, expect, it } from 'vitest';
import { compileFilter, filterRulesFromArgv, type FilterRule } from '../../src/plan/filter.js';

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
  ])('%s', (_name, rules, rel, want) => expect(compileFilter(rules)(rel)).toBe(want));
});

describe('filterRulesFromArgv', () => {
  it('keeps command-line order across both flags', () => {
    expect(
      filterRulesFromArgv(['cp', '--exclude', '*', '-r', '--include=*.txt', 'a', 'b', '--exclude', 'x/*']),
    ).toEqual([exc('*'), inc('*.txt'), exc('x/*')]);
  });
  it('stops at --', () => expect(filterRulesFromArgv(['--', '--exclude', 'x'])).toEqual([]));
});
