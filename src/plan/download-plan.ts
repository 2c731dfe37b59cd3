import path from 'node:path';
import { pMapIterable } from 'p-map';
import { UsageError } from '../errors.js';
import { asDirPrefix, formatS3, keyBasename, safeLocalPath, type LocalLocation, type S3Location } from '../location.js';
import type { ObjectInfo } from '../engine/store.js';
import { planOf, type Plan, type PlanItem } from '../engine/model.js';
import { decideDownload, decideDownloadCompleted } from './update.js';
import { refuseCollisions, type Landing } from './collisions.js';
import { checkedOrder } from './key-order.js';
import { MtimeCache, type CachedMtime } from './mtime-cache.js';
import { partSizeFor, statOrUndefined, type PlanDeps, type PlanOptions } from './plan.js';
import { headSingle } from './single-object.js';

/** Decisions in flight at once: each may stat a file and, rarely, HEAD an object. */
const DECIDING = 32;

export async function planDownload(src: S3Location, dst: LocalLocation, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  if (opts.recursive) return planDownloadTree(src, dst, opts, deps);
  const info = await headSingle(src, opts, deps);
  const dstStat = await statOrUndefined(dst.path);
  const intoDir = dst.isDirHint || dstStat?.isDirectory();
  const target = intoDir ? safeLocalPath(dst.path, keyBasename(src.key)) : dst.path;
  if (!target || (intoDir && target === dst.path)) {
    throw new UsageError(
      `${formatS3(src.bucket, src.key)}: its last segment '${keyBasename(src.key)}' is not a file name; give the destination file's name (s3xfer cp ${formatS3(src.bucket, src.key)} ${path.join(dst.path, 'NAME')})`,
    );
  }
  const root = intoDir ? dst.path : path.dirname(target);
  const { item } = await downloadItem(info, src.bucket, { root, target }, opts, deps);
  return planOf(item);
}

/** A decision, and what it learned of the object's recorded mtime (for the cache). */
interface Decided {
  item: PlanItem;
  learned?: CachedMtime | undefined;
}

async function downloadItem(
  info: ObjectInfo,
  bucket: string,
  { root, target }: { root: string; target: string },
  opts: PlanOptions,
  deps: PlanDeps,
): Promise<Decided> {
  const source = formatS3(bucket, info.key);
  let reason = 'copy';
  if (opts.update || opts.skipCompleted) {
    const decide = opts.update ? decideDownload : decideDownloadCompleted;
    const local = await statOrUndefined(target);
    let decision = decide(info, local);
    // What the HEAD saw is only worth keeping if it is the version listed.
    let sameVersion = true;
    if (decision.needsMetadata) {
      // The listing (and the cache) cannot tell; the mtime recorded in the object's metadata decides.
      const head = await deps.store.head(bucket, info.key, deps.signal);
      if (head) {
        // HEAD's Last-Modified is in whole seconds, the listing's may not be.
        sameVersion = head.etag === info.etag && Math.floor(head.lastModifiedMs / 1000) === Math.floor(info.lastModifiedMs / 1000);
        info = { ...info, mtimeMs: head.mtimeMs ?? head.lastModifiedMs };
        decision = decide(info, local);
      }
    }
    if (!decision.copy) {
      const { key, etag, lastModifiedMs, mtimeMs } = info;
      const learned = sameVersion && mtimeMs !== undefined ? { key, etag, lastModifiedMs, mtimeMs } : undefined;
      return { item: { action: 'skip', source, destination: target, reason: decision.reason }, learned };
    }
    reason = decision.reason;
  }
  const { key, size, etag, lastModifiedMs, mtimeMs, versionId } = info;
  const job = { bucket, key, size, etag, lastModifiedMs, mtimeMs, versionId, path: target, root, partSize: partSizeFor(size, opts), chunkSize: opts.chunkSize };
  return { item: { action: 'download', reason, job } };
}

interface Wanted extends Landing {
  info: ObjectInfo;
}

function planDownloadTree(src: S3Location, dst: LocalLocation, opts: PlanOptions, deps: PlanDeps): Plan {
  // Every tree download records what it wrote, so the first -u run after it needs no HEADs either.
  const cacheFile = deps.mtimeCacheFile?.(src.bucket, asDirPrefix(src.key), dst.path);
  const access = { read: opts.update || opts.skipCompleted, write: !opts.dryRun };
  let cache: MtimeCache | undefined;
  return {
    items: (async function* () {
      cache = cacheFile && (access.read || access.write) ? await MtimeCache.open(cacheFile, access).catch(() => undefined) : undefined;
      yield* downloadTreeItems(src, dst, opts, deps, cache);
    })(),
    finish: async (complete) => {
      await cache?.close(complete).catch(() => undefined);
    },
  };
}

async function* downloadTreeItems(src: S3Location, dst: LocalLocation, opts: PlanOptions, deps: PlanDeps, cache: MtimeCache | undefined): AsyncGenerator<PlanItem> {
  const prefix = asDirPrefix(src.key);
  const name = (w: Wanted) => formatS3(src.bucket, w.info.key);
  const isWanted = (x: Wanted | PlanItem): x is Wanted => 'info' in x;
  const landed = refuseCollisions(listWanted(src, dst, opts, deps, cache), isWanted, {
    root: dst.path,
    name,
    existing: async (rel) => ((await deps.store.head(src.bucket, prefix + rel, deps.signal)) ? formatS3(src.bucket, prefix + rel) : undefined),
    aliasLanded: (rel) => deps.aliasesLanded?.add(rel),
  });
  // Each decision may stat and HEAD: many at once, handed on in listing order, at most DECIDING ahead.
  const decided = pMapIterable(
    landed,
    (w): Promise<Decided> | Decided => (isWanted(w) ? downloadItem(w.info, src.bucket, { root: dst.path, target: w.target }, opts, deps) : { item: w }),
    { concurrency: DECIDING, backpressure: DECIDING },
  );
  for await (const { item, learned } of decided) {
    if (cache && item.action === 'download') {
      const record = cache.reserve();
      const { key, etag, lastModifiedMs } = item.job;
      item.settle = (mtimeMs) => record(mtimeMs === undefined ? undefined : { key, etag, lastModifiedMs, mtimeMs });
    } else if (cache && item.action === 'skip' && learned) {
      cache.reserve()(learned);
    }
    yield item;
  }
}

/** The listing, page by page, as keys to land (or refusals and warnings), with the cache's recorded mtimes filled in. */
async function* listWanted(src: S3Location, dst: LocalLocation, opts: PlanOptions, deps: PlanDeps, cache: MtimeCache | undefined): AsyncGenerator<Wanted | PlanItem> {
  const prefix = asDirPrefix(src.key);
  let listed = 0;
  const listing = checkedOrder(deps.store.list(src.bucket, prefix, deps.signal), (o) => o.key, `the listing of ${formatS3(src.bucket, prefix)}`);
  for await (let o of listing) {
    listed++;
    if (o.key.endsWith('/')) {
      // A directory marker, not a file; one that holds bytes is not silently dropped.
      if (o.size > 0) yield { action: 'warning', message: `skipped ${formatS3(src.bucket, o.key)}: a key ending in '/' cannot be a file (${o.size} bytes not copied)` };
      continue;
    }
    const rel = o.key.slice(prefix.length);
    if (!opts.filter({ relPath: rel, size: o.size, mtimeMs: o.lastModifiedMs })) continue;
    const target = safeLocalPath(dst.path, rel);
    if (!target) {
      const source = formatS3(src.bucket, o.key);
      yield { action: 'refuse', source, destination: dst.path, message: `${source}: key would be written outside ${dst.path} ('..' segment or absolute path); refused` };
      continue;
    }
    const cached = await cache?.find(o.key, o);
    if (cached) o = { ...o, mtimeMs: cached.mtimeMs };
    yield { rel, target, info: o };
  }
  if (listed === 0) yield { action: 'warning', message: `no objects under ${formatS3(src.bucket, prefix)}` };
}
