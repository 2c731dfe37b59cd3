import { UsageError } from '../errors.js';
import { asDirPrefix, checkKeyLength, formatS3, keyBasename, type S3Location } from '../location.js';
import type { PlanItem, Plan } from '../engine/model.js';
import type { ObjectInfo } from '../engine/store.js';
import type { PlanDeps, PlanOptions } from './plan.js';
import { partSizeFor } from './plan.js';
import { decideCompleted, decideUpload } from './update.js';
import { headSingle } from './single-object.js';

/**
 * S3 → S3: what to copy, skip or refuse. The source is listed on its own store
 * (another endpoint or account) when there is one. `-u` and "already done"
 * compare LastModified and size as for uploads: a copy made earlier is newer
 * than its source.
 */
export async function planS3Copy(src: S3Location, dst: S3Location, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  if (opts.recursive) return planCopyTree(src, dst, opts, deps);
  const info = await headSingle(src, opts, deps);
  const key = dst.key === '' || dst.key.endsWith('/') ? dst.key + keyBasename(src.key) : dst.key;
  checkKeyLength(key);
  if (src.bucket === dst.bucket && src.key === key && opts.sourceEndpoint === undefined) {
    throw new UsageError(`${formatS3(src.bucket, src.key)} would be copied onto itself: give another destination`);
  }
  const existing = opts.update || opts.skipCompleted ? await deps.store.head(dst.bucket, key, deps.signal) : undefined;
  return { items: [copyItem(info, src.bucket, dst.bucket, key, existing, opts)], warnings: [] };
}

async function planCopyTree(src: S3Location, dst: S3Location, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  const prefix = asDirPrefix(src.key);
  const dstPrefix = asDirPrefix(dst.key);
  if (src.bucket === dst.bucket && prefix === dstPrefix && opts.sourceEndpoint === undefined) {
    throw new UsageError(`${formatS3(src.bucket, prefix)} would be copied onto itself: give another destination prefix`);
  }
  // -u lists the destination once and decides in memory: no HEAD per object.
  const existing = new Map<string, ObjectInfo>();
  if (opts.update || opts.skipCompleted) {
    for await (const o of deps.store.list(dst.bucket, dstPrefix, deps.signal)) existing.set(o.key, o);
  }
  const items: PlanItem[] = [];
  const warnings: string[] = [];
  let listed = 0;
  for await (const o of (deps.sourceStore ?? deps.store).list(src.bucket, prefix, deps.signal)) {
    listed++;
    const rel = o.key.slice(prefix.length);
    if (o.key.endsWith('/') || !opts.filter({ relPath: rel, size: o.size, mtimeMs: o.lastModifiedMs })) continue;
    const key = dstPrefix + rel;
    try {
      checkKeyLength(key);
    } catch (err) {
      items.push({ action: 'refuse', source: formatS3(src.bucket, o.key), destination: formatS3(dst.bucket, key), message: (err as Error).message });
      continue;
    }
    items.push(copyItem(o, src.bucket, dst.bucket, key, existing.get(key), opts));
  }
  if (listed === 0) warnings.push(`no objects under ${formatS3(src.bucket, prefix)}`);
  return { items, warnings };
}

function copyItem(info: ObjectInfo, srcBucket: string, bucket: string, key: string, existing: ObjectInfo | undefined, opts: PlanOptions): PlanItem {
  const source = formatS3(srcBucket, info.key);
  const asFile = { size: info.size, mtimeMs: info.lastModifiedMs };
  const decision = opts.update
    ? decideUpload(asFile, existing)
    : opts.skipCompleted && existing
      ? decideCompleted(asFile, existing)
      : { copy: true, reason: 'copy' };
  if (!decision.copy) return { action: 'skip', source, destination: formatS3(bucket, key), reason: decision.reason };
  const { size, etag, lastModifiedMs, versionId } = info;
  return {
    action: 'copy',
    reason: decision.reason,
    job: {
      source: { bucket: srcBucket, key: info.key, size, etag, lastModifiedMs, versionId },
      bucket,
      key,
      // Streamed parts go through budget buffers like an upload's; server-side ones cost us nothing.
      partSize: partSizeFor(size, opts.sourceEndpoint === undefined ? { ...opts, defaultPartSize: opts.defaultCopyPartSize ?? opts.defaultPartSize } : opts),
      ...(opts.sourceEndpoint !== undefined ? { sourceEndpoint: opts.sourceEndpoint } : {}),
      ...(opts.replace ? { replace: opts.replace } : {}),
    },
  };
}
