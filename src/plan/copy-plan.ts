import { UsageError } from '../errors.js';
import { asDirPrefix, checkKeyLength, formatS3, keyBasename, type S3Location } from '../location.js';
import { planOf, type PlanItem, type Plan } from '../engine/model.js';
import type { ObjectInfo } from '../engine/store.js';
import type { PlanDeps, PlanOptions } from './plan.js';
import { noObjects, partSizeFor } from './plan.js';
import { mergeByKey } from './merge.js';
import { checkedOrder } from './key-order.js';
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
  // A given --version-id onto its own key is how S3 restores an old version: allowed.
  if (src.bucket === dst.bucket && src.key === key && !opts.sourceOnOtherServer && opts.versionId === undefined) {
    throw new UsageError(`${formatS3(src.bucket, src.key)} would be copied onto itself: give another destination`);
  }
  const existing = opts.update || opts.skipCompleted ? await deps.store.head(dst.bucket, key, deps.signal) : undefined;
  return planOf(copyItem(info, src.bucket, dst.bucket, key, existing, opts));
}

function planCopyTree(src: S3Location, dst: S3Location, opts: PlanOptions, deps: PlanDeps): Plan {
  const prefix = asDirPrefix(src.key);
  const dstPrefix = asDirPrefix(dst.key);
  if (src.bucket === dst.bucket && prefix === dstPrefix && !opts.sourceOnOtherServer) {
    throw new UsageError(`${formatS3(src.bucket, prefix)} would be copied onto itself: give another destination prefix`);
  }
  return { items: copyTreeItems(src, dst, opts, deps) };
}

/** The two listings merged in step (both in key order): -u decides with one object of each held. */
async function* copyTreeItems(src: S3Location, dst: S3Location, opts: PlanOptions, deps: PlanDeps): AsyncGenerator<PlanItem> {
  const prefix = asDirPrefix(src.key);
  const dstPrefix = asDirPrefix(dst.key);
  let listed = 0;
  const sameServer = !opts.sourceOnOtherServer;
  const sources = (async function* () {
    for await (const o of checkedOrder((deps.sourceStore ?? deps.store).list(src.bucket, prefix, deps.signal), (x) => x.key, `the listing of ${formatS3(src.bucket, prefix)}`)) {
      listed++;
      // The listing runs while copies land: a destination inside the source would be listed
      // and copied again, without end. What is already under it is left out.
      if (sameServer && src.bucket === dst.bucket && dstPrefix.startsWith(prefix) && o.key.startsWith(dstPrefix)) continue;
      if (!o.key.endsWith('/') && opts.filter({ relPath: o.key.slice(prefix.length), size: o.size, mtimeMs: o.lastModifiedMs })) yield o;
    }
  })();
  const existing =
    opts.update || opts.skipCompleted
      ? checkedOrder(deps.store.list(dst.bucket, dstPrefix, deps.signal), (o) => o.key, `the listing of ${formatS3(dst.bucket, dstPrefix)}`)
      : noObjects();
  for await (const j of mergeByKey(sources, (o) => dstPrefix + o.key.slice(prefix.length), existing, (o) => o.key)) {
    if (j.key === undefined || !j.source) continue;
    try {
      checkKeyLength(j.key);
    } catch (err) {
      yield { action: 'refuse', source: formatS3(src.bucket, j.source.key), destination: formatS3(dst.bucket, j.key), message: (err as Error).message };
      continue;
    }
    yield copyItem(j.source, src.bucket, dst.bucket, j.key, j.destination, opts);
  }
  if (listed === 0) yield { action: 'warning', message: `no objects under ${formatS3(src.bucket, prefix)}` };
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
