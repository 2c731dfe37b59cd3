import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import {
  asDirPrefix,
  checkKeyLength,
  formatLocation,
  formatS3,
  keyBasename,
  safeLocalPath,
  type Location,
  type LocalLocation,
  type S3Location,
} from '../location.js';
import type { ObjectInfo, ObjectMeta, ObjectStore } from '../engine/store.js';
import type { Plan, PlanItem } from '../engine/model.js';
import type { PathFilter } from './filter.js';
import { choosePartSize } from '../engine/model.js';
import { decideCompleted, decideDownload, decideDownloadCompleted, decideUpload } from './update.js';
import { walkLocal } from './walk.js';
import { fsPath } from '../local-path.js';
import { refuseCollisions } from './collisions.js';
import { planS3Copy } from './copy-plan.js';
import { checkVersionId, headSingle, planStdout } from './single-object.js';
import pLimit from 'p-limit';

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
  /** S3 → S3: the source's endpoint when it is another endpoint or account (bytes stream through us). */
  sourceEndpoint?: string | undefined;
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
}

/** Turn `cp SRC DST` into a list of transfers and skips. Nothing is written. */
export async function planCopy(src: Location, dst: Location, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  checkVersionId(src, opts);
  if (src.kind === 'stdin') {
    if (dst.kind !== 's3') throw new UsageError(`'-' (standard input) can only be copied to s3://bucket/key`);
    if (dst.key === '' || dst.key.endsWith('/')) {
      throw new UsageError(`standard input needs a full key: write s3://${dst.bucket}/${dst.key}NAME`);
    }
    return { items: [{ action: 'stdin', bucket: dst.bucket, key: dst.key }], warnings: [] };
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

async function statOrUndefined(p: string) {
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
  return { items: [uploadItem(file, dst.bucket, key, existing, opts)], warnings: [] };
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

async function planUploadTree(root: string, dst: S3Location, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  const prefix = asDirPrefix(dst.key);
  const { files, warnings, errors } = await walkLocal(root, { skipDirs: opts.skipDirs });
  // -u lists the destination once and decides in memory: no HEAD per file.
  const existing = new Map<string, ObjectInfo>();
  if (opts.update || opts.skipCompleted) {
    for await (const o of deps.store.list(dst.bucket, prefix, deps.signal)) existing.set(o.key, o);
  }
  const items: PlanItem[] = errors.map((e) => ({ action: 'refuse', source: e.path, destination: formatS3(dst.bucket, prefix), message: e.message }));
  for (const file of files) {
    if (!opts.filter(file)) continue;
    const key = prefix + file.relPath;
    try {
      checkKeyLength(key);
    } catch (err) {
      items.push({ action: 'refuse', source: file.absPath, destination: formatS3(dst.bucket, key), message: (err as Error).message });
      continue;
    }
    items.push(uploadItem(file, dst.bucket, key, existing.get(key), opts));
  }
  return { items, warnings };
}

async function planDownload(src: S3Location, dst: LocalLocation, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
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
  const items = [await downloadItem(info, src.bucket, { root, target }, opts, deps)];
  return { items, warnings: [] };
}

async function downloadItem(
  info: ObjectInfo,
  bucket: string,
  { root, target }: { root: string; target: string },
  opts: PlanOptions,
  deps: PlanDeps,
): Promise<PlanItem> {
  const source = formatS3(bucket, info.key);
  let reason = 'copy';
  if (opts.update || opts.skipCompleted) {
    const decide = opts.update ? decideDownload : decideDownloadCompleted;
    const local = await statOrUndefined(target);
    let decision = decide(info, local);
    if (decision.needsMetadata) {
      // The listing alone cannot tell; the mtime recorded in the object's metadata decides.
      const head = await deps.store.head(bucket, info.key, deps.signal);
      if (head) {
        info = { ...info, mtimeMs: head.mtimeMs ?? head.lastModifiedMs };
        decision = decide(info, local);
      }
    }
    if (!decision.copy) return { action: 'skip', source, destination: target, reason: decision.reason };
    reason = decision.reason;
  }
  return {
    action: 'download',
    reason,
    job: {
      bucket,
      key: info.key,
      size: info.size,
      etag: info.etag,
      lastModifiedMs: info.lastModifiedMs,
      mtimeMs: info.mtimeMs,
      versionId: info.versionId,
      path: target,
      root,
      partSize: partSizeFor(info.size, opts),
      chunkSize: opts.chunkSize,
    },
  };
}

async function planDownloadTree(src: S3Location, dst: LocalLocation, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  const prefix = asDirPrefix(src.key);
  const wanted: { info: ObjectInfo; target: string }[] = [];
  const refused: PlanItem[] = [];
  const warnings: string[] = [];
  let listed = 0;
  for await (const o of deps.store.list(src.bucket, prefix, deps.signal)) {
    listed++;
    if (o.key.endsWith('/')) {
      // A directory marker, not a file; one that holds bytes is not silently dropped.
      if (o.size > 0) warnings.push(`skipped ${formatS3(src.bucket, o.key)}: a key ending in '/' cannot be a file (${o.size} bytes not copied)`);
      continue;
    }
    const rel = o.key.slice(prefix.length);
    if (!opts.filter({ relPath: rel, size: o.size, mtimeMs: o.lastModifiedMs })) continue;
    const target = safeLocalPath(dst.path, rel);
    if (!target) {
      refused.push({
        action: 'refuse',
        source: formatS3(src.bucket, o.key),
        destination: dst.path,
        message: `${formatS3(src.bucket, o.key)}: key would be written outside ${dst.path} ('..' segment or absolute path); refused`,
      });
      continue;
    }
    wanted.push({ info: o, target });
  }
  if (listed === 0) warnings.push(`no objects under ${formatS3(src.bucket, prefix)}`);
  const { unique, collisions } = refuseCollisions(wanted, (w) => formatS3(src.bucket, w.info.key));
  // -u may need a HEAD per object (the recorded mtime): many at once, not one after another.
  const limit = pLimit(32);
  const items = await Promise.all(unique.map((w) => limit(() => downloadItem(w.info, src.bucket, { root: dst.path, target: w.target }, opts, deps))));
  return { items: [...refused, ...collisions, ...items], warnings };
}
