import { ObjectChangedError } from '../errors.js';
import { formatS3 } from '../location.js';
import type { EngineContext } from './context.js';
import { splitParts, type CopyJob, type Part } from './model.js';
import { uploadMultipart, type PartSource, type UploadSession } from './multipart.js';
import type { UploadResult } from './upload.js';
import { isPreconditionFailed } from './s3-errors.js';
import type { CopySource, ObjectInfo, ObjectMeta, ObjectStore } from './store.js';

// What every kind of copy asks of its source: the object as planned, and what the new object carries.

export const sourceUrl = (job: CopyJob) => formatS3(job.source.bucket, job.source.key);

export function copySourceOf(job: CopyJob): CopySource {
  return { bucket: job.source.bucket, key: job.source.key, versionId: job.source.versionId, etag: job.source.etag };
}

/** Where the source is read: the other endpoint's store for a streamed copy. */
export const sourceStoreOf = (ctx: EngineContext): ObjectStore => ctx.sourceStore ?? ctx.store;

/** A 412 on a request pinned to the source's ETag means it was overwritten: say so, never mix versions. */
export function changedAs(job: CopyJob): (err: unknown) => never {
  return (err) => {
    throw isPreconditionFailed(err) ? new ObjectChangedError(sourceUrl(job), 'copy') : err;
  };
}

/** The source's HEAD (metadata, headers, stored CRC32C), refused if it is no longer the planned version. */
export async function headSource(ctx: EngineContext, job: CopyJob): Promise<ObjectInfo> {
  const head = await sourceStoreOf(ctx).head(job.source.bucket, job.source.key, ctx.signal, job.source.versionId);
  if (!head || head.etag !== job.source.etag) throw new ObjectChangedError(sourceUrl(job), 'copy');
  return head;
}

/**
 * What the copy writes besides the bytes: the source's metadata and headers (COPY), or the
 * command line's (REPLACE); the source's tags either way (as S3's CopyObject); the run's storage
 * class, ACL and encryption. REPLACE keeps the source's recorded `mtime`: it is s3xfer's
 * bookkeeping (`-u`, the mtime a download restores), not the user's.
 */
export function metaFor(ctx: EngineContext, job: CopyJob, head: ObjectInfo, tags?: Record<string, string>): ObjectMeta {
  const asked = ctx.object?.settings;
  const settings = { storageClass: asked?.storageClass, acl: asked?.acl, sse: asked?.sse, tagging: taggingOf(tags) };
  if (!job.replace) return { metadata: head.metadata ?? {}, settings: { ...settings, headers: head.headers } };
  const mtime = head.metadata?.mtime;
  return { metadata: { ...job.replace.metadata, ...(mtime !== undefined ? { mtime } : {}) }, settings: { ...settings, headers: job.replace.settings.headers } };
}

/** Tags as S3 takes them on PUT and CreateMultipartUpload (`x-amz-tagging`): a URL query string. */
function taggingOf(tags: Record<string, string> | undefined): string | undefined {
  return tags && Object.keys(tags).length > 0 ? new URLSearchParams(tags).toString() : undefined;
}

/**
 * The source's tags, for copies that write a new object themselves (multipart, streamed; a
 * CopyObject carries them on its own). Credentials that may not read tags (a least-privilege
 * policy) or a server without tagging: the copy goes on without them, and says so.
 */
export async function sourceTags(ctx: EngineContext, job: CopyJob): Promise<Record<string, string> | undefined> {
  try {
    return await sourceStoreOf(ctx).tags(job.source.bucket, job.source.key, ctx.signal, job.source.versionId);
  } catch (err) {
    const code = (err as { name?: string; Code?: string }).Code ?? (err as Error).name;
    if (code !== 'AccessDenied' && code !== 'NotImplemented' && code !== 'MethodNotAllowed') throw err;
    ctx.emit({ type: 'warning', message: `${sourceUrl(job)}: its tags could not be read (${code}); copied without them` });
    return undefined;
  }
}

/** A multipart copy, whichever way its parts are made: the target from the job, the result as a transfer's. */
export async function multipartCopy(
  ctx: EngineContext,
  job: CopyJob,
  how: { meta: ObjectMeta; checksums: boolean; parts: PartSource<Part> },
  session: UploadSession | undefined,
): Promise<UploadResult> {
  const partSize = job.partSize!;
  const partCount = splitParts(job.source.size, partSize).length;
  const target = { id: job.id, bucket: job.bucket, key: job.key, metadata: how.meta.metadata, settings: how.meta.settings, checksums: how.checksums, partSize, partCount, name: sourceUrl(job) };
  const out = await uploadMultipart(ctx, target, how.parts, session).catch(changedAs(job));
  return {
    bytesSent: job.source.size - out.bytesSkipped,
    resumed: out.resumedParts > 0 ? { partsDone: out.resumedParts, partsTotal: out.parts, bytesSkipped: out.bytesSkipped } : undefined,
  };
}
