import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import {
  asDirPrefix,
  checkKeyLength,
  formatLocation,
  formatS3,
  type Location,
  type LocalLocation,
  type S3Location,
} from '../location.js';
import type { ObjectInfo, ObjectMeta, ObjectStore } from '../engine/store.js';
import { planOf, type Plan, type PlanItem } from '../engine/model.js';
import type { PathFilter } from './filter.js';
import { choosePartSize } from '../engine/model.js';
import { decideCompleted, decideUpload } from './update.js';
import { walkSorted, type WalkEvent } from './walk.js';
import { fsPath } from '../local-path.js';
import { planS3Copy } from './copy-plan.js';
import { planDownload } from './download-plan.js';
import { mergeByKey } from './merge.js';
import { checkedOrder } from './key-order.js';
import { checkVersionId, planStdout } from './single-object.js';

export interface PlanOptions {
  recursive: boolean;
  update: boolean;
  filter: PathFilter;
  bigfileThreshold: number;
  /** Explicit --part-size, or undefined for auto. */
  partSize: number | undefined;
  defaultPartSize: number;
  /** The default for server-side copies (UploadPartCopy), when no --part-size is given. */
  defaultCopyPartSize?: number | undefined;
  /** Resume granularity within a ranged download. */
  chunkSize: number;
  /**
   * With checkpoints, a rerun of an interrupted tree copy skips files the last
   * run finished (same size, destination not older) even without -u.
   */
  skipCompleted: boolean;
  /** Directories an upload walk never enters (`dev:ino`): the checkpoint directory. */
  skipDirs?: ReadonlySet<string> | undefined;
  /** Nothing is written, the mtime cache included. */
  dryRun?: boolean | undefined;
  /** S3 → S3: the source's endpoint when it is another endpoint or account (bytes stream through us). */
  sourceEndpoint?: string | undefined;
  /** S3 → S3: the source is on another server (not only read with other credentials): its buckets are not the destination's. */
  sourceOnOtherServer?: boolean | undefined;
  /** S3 → S3 with --metadata-directive REPLACE: what the copies carry instead of the source's. */
  replace?: ObjectMeta | undefined;
  /** --version-id: this version of the single source object. */
  versionId?: string | undefined;
}

export interface PlanDeps {
  store: ObjectStore;
  /** S3 → S3 from another endpoint or account: where the source is listed and read. */
  sourceStore?: ObjectStore | undefined;
  signal: AbortSignal;
  /** Where the recorded mtimes of a downloaded tree are kept between runs (see mtime-cache.ts); none: no cache. */
  mtimeCacheFile?: ((bucket: string, prefix: string, root: string) => string) | undefined;
  /** Collects the local paths lone non-canonical keys landed on (for sync --delete). */
  aliasesLanded?: Set<string> | undefined;
}

/**
 * Turn `cp SRC DST` into a stream of transfers and skips. What can be refused at once (a
 * missing source, a directory without -r) throws here; a tree is walked and listed as the
 * stream is pulled. Nothing is written but the download mtime cache.
 */
export async function planCopy(src: Location, dst: Location, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  checkVersionId(src, opts);
  if (src.kind === 'stdin') {
    if (dst.kind !== 's3') throw new UsageError(`'-' (standard input) can only be copied to s3://bucket/key`);
    // One stream, not a tree: `cp -r -` or `sync -` would otherwise quietly upload it as one object.
    if (opts.recursive) throw new UsageError(`'-' (standard input) is one stream, not a tree: use cp without -r (sync needs a directory or prefix)`);
    if (dst.key === '' || dst.key.endsWith('/')) {
      throw new UsageError(`standard input needs a full key: write s3://${dst.bucket}/${dst.key}NAME`);
    }
    return planOf({ action: 'stdin', bucket: dst.bucket, key: dst.key });
  }
  if (dst.kind === 'stdin') return planStdout(src, opts, deps);
  if (src.kind === 'local' && dst.kind === 's3') return planUpload(src, dst, opts, deps);
  if (src.kind === 's3' && dst.kind === 'local') return planDownload(src, dst, opts, deps);
  if (src.kind === 's3' && dst.kind === 's3') return planS3Copy(src, dst, opts, deps);
  throw new UsageError(`both '${formatLocation(src)}' and '${formatLocation(dst)}' are local: one side must be s3://bucket/key`);
}

/** Multipart (or ranged) at or above the threshold, with a part size that fits S3's limits. */
export function partSizeFor(size: number, opts: PlanOptions): number | undefined {
  return size >= opts.bigfileThreshold && size > 0 ? choosePartSize(size, opts.partSize, opts.defaultPartSize) : undefined;
}

export async function statOrUndefined(p: string) {
  try {
    return await fs.stat(fsPath(p));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function planUpload(src: LocalLocation, dst: S3Location, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  const st = await statOrUndefined(src.path);
  if (!st) throw new UsageError(`${src.path}: no such file or directory`);
  if (st.isDirectory()) {
    if (!opts.recursive) throw new UsageError(`${src.path} is a directory: use -r to copy a tree`);
    return planUploadTree(src.path, dst, opts, deps);
  }
  if (!st.isFile()) throw new UsageError(`${src.path} is not a regular file`);
  const key = dst.key === '' || dst.key.endsWith('/') ? dst.key + path.basename(src.path) : dst.key;
  checkKeyLength(key);
  const file = { relPath: path.basename(src.path), absPath: src.path, size: st.size, mtimeMs: st.mtimeMs };
  const existing = opts.update ? await deps.store.head(dst.bucket, key, deps.signal) : undefined;
  return planOf(uploadItem(file, dst.bucket, key, existing, opts));
}

function uploadItem(
  file: { absPath: string; size: number; mtimeMs: number },
  bucket: string,
  key: string,
  existing: ObjectInfo | undefined,
  opts: PlanOptions,
): PlanItem {
  const decision = opts.update
    ? decideUpload(file, existing)
    : opts.skipCompleted && existing
      ? decideCompleted(file, existing)
      : { copy: true, reason: 'copy' };
  if (!decision.copy) return { action: 'skip', source: file.absPath, destination: formatS3(bucket, key), reason: decision.reason };
  return {
    action: 'upload',
    reason: decision.reason,
    job: { path: file.absPath, size: file.size, mtimeMs: file.mtimeMs, bucket, key, partSize: partSizeFor(file.size, opts) },
  };
}

function planUploadTree(root: string, dst: S3Location, opts: PlanOptions, deps: PlanDeps): Plan {
  return { items: uploadTreeItems(root, dst, opts, deps) };
}

/**
 * The walk and, for -u (or skip-completed), the destination listing, merged in step: both
 * are in key order, so each file meets its object (or its absence) with one item of each
 * held, and the first upload starts after the first listing page, not the last.
 */
async function* uploadTreeItems(root: string, dst: S3Location, opts: PlanOptions, deps: PlanDeps): AsyncGenerator<PlanItem> {
  const prefix = asDirPrefix(dst.key);
  const listing =
    opts.update || opts.skipCompleted
      ? checkedOrder(deps.store.list(dst.bucket, prefix, deps.signal), (o) => o.key, `the listing of ${formatS3(dst.bucket, prefix)}`)
      : noObjects();
  const files = wantedFiles(walkSorted(root, { skipDirs: opts.skipDirs }), opts);
  const keyOf = (e: WalkEvent) => (e.kind === 'file' ? prefix + e.file.relPath : undefined);
  for await (const j of mergeByKey(files, keyOf, listing, (o) => o.key)) {
    if (j.key === undefined) {
      const e = j.passed;
      if (e.kind === 'warning') yield { action: 'warning', message: e.message };
      else if (e.kind === 'error') yield { action: 'refuse', source: e.path, destination: formatS3(dst.bucket, prefix), message: e.message };
      continue;
    }
    if (j.source?.kind !== 'file') continue; // only at the destination: not this copy's business
    const file = j.source.file;
    try {
      checkKeyLength(j.key);
    } catch (err) {
      yield { action: 'refuse', source: file.absPath, destination: formatS3(dst.bucket, j.key), message: (err as Error).message };
      continue;
    }
    yield uploadItem(file, dst.bucket, j.key, j.destination, opts);
  }
}

async function* wantedFiles(events: AsyncIterable<WalkEvent>, opts: PlanOptions): AsyncGenerator<WalkEvent> {
  for await (const e of events) if (e.kind !== 'file' || opts.filter(e.file)) yield e;
}

// eslint-disable-next-line require-yield
export async function* noObjects(): AsyncGenerator<ObjectInfo> {}
