import picomatch from 'picomatch';

export interface FilterRule {
  kind: 'include' | 'exclude';
  pattern: string;
}

/** What a filter sees of a file or an object: for objects, mtimeMs is LastModified (the listing's, no HEAD). */
export interface FilterEntry {
  relPath: string;
  size: number;
  mtimeMs: number;
}

export type PathFilter = (entry: FilterEntry) => boolean;

/** --min-size/--max-size (bytes, inclusive) and the ages and times, as given. */
export interface FilterBounds {
  minSize?: number | undefined;
  maxSize?: number | undefined;
  /** Only entries at least this old (--min-age, or --older-than with a duration). */
  minAgeMs?: number | undefined;
  /** Only entries at most this old (--max-age, or --newer-than with a duration). */
  maxAgeMs?: number | undefined;
  /** Only entries modified after this instant (--newer-than TIME). */
  newerThanMs?: number | undefined;
  /** Only entries modified before this instant (--older-than TIME). */
  olderThanMs?: number | undefined;
}

/**
 * Rules apply in order and the last one that matches wins; a path no rule
 * matches is included (aws-cli's semantics). A pattern without '/' matches the
 * base name, one with '/' the path relative to the source root. Sizes and times
 * must all hold as well; ages count back from `nowMs` (the command's start, so
 * every entry of a run is judged against the same instant).
 */
export function compileFilter(rules: readonly FilterRule[], bounds: FilterBounds = {}, nowMs = Date.now()): PathFilter {
  const byName = compileRules(rules);
  const inRange = compileBounds(bounds, nowMs);
  if (!byName) return inRange ?? (() => true);
  if (!inRange) return (e) => byName(e.relPath);
  return (e) => inRange(e) && byName(e.relPath);
}

function compileRules(rules: readonly FilterRule[]): ((rel: string) => boolean) | undefined {
  if (rules.length === 0) return undefined;
  const compiled = rules.map((r) => ({
    include: r.kind === 'include',
    test: picomatch(r.pattern, { dot: true, basename: !r.pattern.includes('/') }),
  }));
  return (rel) => {
    let included = true;
    for (const rule of compiled) if (rule.test(rel)) included = rule.include;
    return included;
  };
}

function compileBounds(b: FilterBounds, nowMs: number): PathFilter | undefined {
  const minSize = b.minSize ?? 0;
  const maxSize = b.maxSize ?? Infinity;
  // Strict: "newer than T" excludes T itself; an age bound includes its edge.
  const after = Math.max(b.newerThanMs ?? -Infinity, b.maxAgeMs === undefined ? -Infinity : nowMs - b.maxAgeMs - 1);
  const before = Math.min(b.olderThanMs ?? Infinity, b.minAgeMs === undefined ? Infinity : nowMs - b.minAgeMs + 1);
  if (minSize === 0 && maxSize === Infinity && after === -Infinity && before === Infinity) return undefined;
  return (e) => e.size >= minSize && e.size <= maxSize && e.mtimeMs > after && e.mtimeMs < before;
}

/**
 * Recover the order of --include/--exclude from raw argv: yargs collects them
 * into two arrays, and order decides which rule wins.
 */
export function filterRulesFromArgv(argv: readonly string[]): FilterRule[] {
  const rules: FilterRule[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    const m = /^--(include|exclude)(?:=(.*))?$/.exec(arg);
    if (!m) continue;
    const pattern = m[2] ?? argv[++i];
    if (pattern !== undefined) rules.push({ kind: m[1] as FilterRule['kind'], pattern });
  }
  return rules;
}
