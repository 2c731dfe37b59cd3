import path from 'node:path';
import { compareKeys } from './key-order.js';

export interface Refusal {
  action: 'refuse';
  source: string;
  destination: string;
  message: string;
}

/** A key to download: its path relative to the listed prefix, and the local path it lands at. */
export interface Landing {
  rel: string;
  target: string;
}

export interface CollisionOptions<T> {
  /** The directory the relative paths are under. */
  root: string;
  name: (item: T) => string;
  /** The canonical key for this relative path, named, if it exists (asked only for a rare non-canonical key). */
  existing: (canonicalRel: string) => Promise<string | undefined>;
  /** Told the path a lone non-canonical key lands on (sync --delete must not take that file for an orphan). */
  aliasLanded?: ((canonicalRel: string) => void) | undefined;
}


/**
 * Keys that land on one local path (`a//b` and `a/b`), or a key whose path is also a
 * directory another key needs (`a/b` and `a/b/c`): copying them would silently keep one
 * and lose the other, so they are refused, each naming the other. On a stream sorted by
 * key, with flat memory:
 * - a file-vs-directory clash is found with a stack of files held back until the listing
 *   has passed `name/` (a key `name/…` can only come before that); the held files nest, so
 *   the stack is as deep as a name is long at most;
 * - a non-canonical key (empty or `.` segments, a quoting alias) is rare: it is held to
 *   the end, and a canonical key landing on its path later in the stream is refused with
 *   it. One that came earlier has been copied by then: only the non-canonical one is
 *   refused, naming it.
 */
export async function* refuseCollisions<T extends Landing, P>(
  items: AsyncIterable<T | P>,
  isLanding: (x: T | P) => x is T,
  opts: CollisionOptions<T>,
): AsyncGenerator<T | P | Refusal> {
  // A T is never a promise: what a generic async generator yields is typed as its Awaited form.
  const out = (t: T) => t as unknown as Awaited<T>;
  const held: T[] = [];
  const odd = new Map<string, T[]>(); // canonical rel → the non-canonical keys landing there
  const clashed = new Map<string, T>(); // canonical rel → the canonical key refused for it
  const canonicalRel = (t: T) => path.relative(opts.root, t.target).split(path.sep).join('/');
  const refuse = (t: T, message: string): Refusal => ({ action: 'refuse', source: opts.name(t), destination: t.target, message });
  for await (const item of items) {
    if (!isLanding(item)) {
      yield item;
      continue;
    }
    // A held file whose `name/` this key has passed can be no one's directory: it goes on at once
    // (held files nest, so those are the top of the stack, released in key order); one this key
    // is under is refused. A file released after siblings that sort after it (`f` after `f.1`)
    // only loses its place in the mtime cache, which wants key order: a HEAD next time.
    const released: T[] = [];
    while (held.length > 0) {
      const top = held[held.length - 1]!;
      if (item.rel.startsWith(`${top.rel}/`)) {
        held.pop();
        yield refuse(top, `${opts.name(top)} maps to ${top.target}, which ${opts.name(item)} needs as a directory; it was not copied: rename one of them`);
      } else if (compareKeys(item.rel, `${top.rel}/`) > 0) {
        released.push(held.pop()!);
      } else break;
    }
    for (let i = released.length - 1; i >= 0; i--) yield out(released[i]!);
    const rel = canonicalRel(item);
    if (rel !== item.rel) {
      odd.set(rel, [...(odd.get(rel) ?? []), item]);
      continue;
    }
    const aliases = odd.get(rel);
    if (aliases) {
      clashed.set(rel, item);
      yield refuse(item, sameTarget(item, aliases, opts.name, 'none of them was copied'));
      continue;
    }
    held.push(item);
  }
  for (const h of held) yield out(h);
  for (const [rel, group] of odd) {
    for await (const x of settleAliases(rel, group, clashed.get(rel), opts, refuse)) yield 'action' in x ? x : out(x);
  }
}

async function* settleAliases<T extends Landing>(
  rel: string,
  group: T[],
  clashed: T | undefined,
  opts: CollisionOptions<T>,
  refuse: (t: T, message: string) => Refusal,
): AsyncGenerator<T | Refusal> {
  if (clashed || group.length > 1) {
    for (const item of group) {
      const others = [...group.filter((g) => g !== item), ...(clashed ? [clashed] : [])];
      yield refuse(item, sameTarget(item, others, opts.name, 'none of them was copied'));
    }
    return;
  }
  const only = group[0]!;
  const earlier = await opts.existing(rel);
  if (earlier) {
    yield refuse(only, `${opts.name(only)} and ${earlier} map to the same local path ${only.target}; ${earlier} was copied, ${opts.name(only)} was not: rename one of them`);
    return;
  }
  opts.aliasLanded?.(rel);
  yield only;
}

function sameTarget<T extends Landing>(item: T, others: T[], name: (t: T) => string, outcome: string): string {
  return `${name(item)} and ${others.map(name).join(', ')} map to the same local path ${item.target}; ${outcome}: rename one, or copy them one by one`;
}
