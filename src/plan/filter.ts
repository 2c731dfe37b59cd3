import picomatch from 'picomatch';

export interface FilterRule {
  kind: 'include' | 'exclude';
  pattern: string;
}

export type PathFilter = (relativePath: string) => boolean;

/**
 * Rules apply in order and the last one that matches wins; a path no rule
 * matches is included (aws-cli's semantics). A pattern without '/' matches the
 * base name, one with '/' the path relative to the source root.
 */
export function compileFilter(rules: readonly FilterRule[]): PathFilter {
  if (rules.length === 0) return () => true;
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
