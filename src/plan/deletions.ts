import { asDirPrefix, formatS3, type LocalLocation, type Location, type S3Location } from '../location.js';
import type { ObjectInfo } from '../engine/store.js';
import { UsageError } from '../errors.js';
import { walkSorted, type WalkEvent } from './walk.js';
import { mergeByKey } from './merge.js';
import { checkedOrder } from './key-order.js';
import type { PlanDeps, PlanOptions } from './plan.js';

/** Something at the destination that the source no longer has. */
export type Deletion = { kind: 's3'; bucket: string; key: string } | { kind: 'local'; root: string; path: string };

/** Local paths (relative, canonical) that a non-canonical key landed on: never deleted though no key has that name. */
export type Kept = ReadonlySet<string>;

/** One entry of a side: its key (or relative path), what to call it, and what the size and time filters look at. */
type Side = { key: string; name: string; size: number; mtimeMs: number } | { key: undefined; error: string };

/**
 * `sync --delete`: the source and the destination, merged in step as for -u, yielding what is
 * only at the destination and not excluded by the filters. Run after every copy succeeded; a
 * part of the source that cannot be read (an unreadable directory) stops it before anything
 * under that part could look deleted.
 */
export async function* planDeletions(src: Location, dst: Location, opts: PlanOptions, deps: PlanDeps, kept: Kept): AsyncGenerator<Deletion> {
  if (src.kind === 'stdin' || dst.kind === 'stdin') return;
  const source = sideOf(src, opts, deps, false);
  const destination = sideOf(dst, opts, deps, true);
  const relOf = (loc: Location, key: string) => key.slice(loc.kind === 's3' ? asDirPrefix(loc.key).length : 0);
  const onError = (side: Side) => (side.key === undefined ? side.error : undefined);
  const errors = (async function* () {
    for await (const s of destination) {
      const why = onError(s);
      if (why) throw new UsageError(`nothing more deleted: ${why}`);
      if (s.key !== undefined) yield s;
    }
  })();
  for await (const j of mergeByKey(source, (s) => (s.key === undefined ? undefined : relOf(src, s.key)), mapKeys(errors, (s) => relOf(dst, s.key)), (d) => d.rel)) {
    if (j.key === undefined) {
      const passed = j.passed;
      throw new UsageError(`nothing more deleted: ${passed.key === undefined ? passed.error : 'the source could not be read'}`);
    }
    const d = j.destination;
    // What the filters leave out is never touched, judged by the destination's own size and time.
    if (j.source || !d || d.name.endsWith('/') || !opts.filter({ relPath: j.key, size: d.size, mtimeMs: d.mtimeMs })) continue;
    if (dst.kind === 's3') yield { kind: 's3', bucket: dst.bucket, key: d.name };
    else if (dst.kind === 'local' && !kept.has(j.key)) yield { kind: 'local', root: dst.path, path: d.name };
  }
}

async function* mapKeys<T extends { key: string }>(items: AsyncIterable<T>, rel: (t: T) => string): AsyncGenerator<T & { rel: string }> {
  for await (const t of items) yield { ...t, rel: rel(t) };
}

/** One side as keys in order: an S3 listing (keys as listed), or a local walk (key = relative path). */
function sideOf(loc: S3Location | LocalLocation, opts: PlanOptions, deps: PlanDeps, isDestination: boolean): AsyncIterable<Side> {
  if (loc.kind === 's3') {
    const prefix = asDirPrefix(loc.key);
    // An S3 → S3 source on another endpoint or account is listed on its own store.
    const store = isDestination ? deps.store : (deps.sourceStore ?? deps.store);
    const listing = checkedOrder(store.list(loc.bucket, prefix, deps.signal), (o: ObjectInfo) => o.key, `the listing of ${formatS3(loc.bucket, prefix)}`);
    return (async function* () {
      for await (const o of listing) yield { key: o.key, name: o.key, size: o.size, mtimeMs: o.lastModifiedMs };
    })();
  }
  // A link at the destination is neither followed nor deleted: what it points to is not ours.
  const events = walkSorted(loc.path, { skipDirs: opts.skipDirs, noLinks: isDestination });
  return (async function* () {
    for await (const e of events as AsyncIterable<WalkEvent>) {
      if (e.kind === 'file') yield { key: e.file.relPath, name: e.file.absPath, size: e.file.size, mtimeMs: e.file.mtimeMs };
      else if (e.kind === 'error') yield { key: undefined, error: e.message };
    }
  })();
}
