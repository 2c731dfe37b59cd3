import { ObjectChangedError } from '../errors.js';
import { formatS3 } from '../location.js';
import type { EngineContext } from './context.js';
import { splitParts, type CopyJob, type Part } from './model.js';
import { uploadMultipart, type PartSource, type UploadSession } from './multipart.js';
import { retryReporter, withRetry } from './retry.js';
import { isPreconditionFailed } from './s3-errors.js';
import type { CopySource, ObjectHeaders, ObjectSettings } from './store.js';
import type { UploadResult } from './upload.js';

/**
 * An object to another key, copied by the server: one CopyObject below the
 * threshold, else a multipart upload whose parts are UploadPartCopy of the
 * source's ranges (objects over 5 GiB too). Every request is pinned to the
 * source's ETag, so a source overwritten mid-copy fails the copy instead of
 * mixing two versions. No bytes pass through s3xfer.
 */
export async function copyObject(ctx: EngineContext, job: CopyJob, session?: UploadSession): Promise<UploadResult> {
  const from = formatS3(job.source.bucket, job.source.key);
  const source: CopySource = { bucket: job.source.bucket, key: job.source.key, versionId: job.source.versionId, etag: job.source.etag };
  const changed = (err: unknown) => {
    throw isPreconditionFailed(err) ? new ObjectChangedError(from, 'copy') : err;
  };
  try {
    if (job.partSize === undefined) {
      await withRetry(() => ctx.store.copyObject({ source, bucket: job.bucket, key: job.key, settings: ctx.object?.settings }, ctx.signal), {
        policy: ctx.retry,
        signal: ctx.signal,
        onRetry: retryReporter(ctx, from),
      }).catch(changed);
      ctx.emit({ type: 'progress', id: job.id, bytes: job.source.size });
      return { bytesSent: job.source.size };
    }
    // CreateMultipartUpload starts empty: the source's metadata and headers are carried over by hand.
    const head = await ctx.store.head(source.bucket, source.key, ctx.signal, source.versionId);
    if (!head || head.etag !== source.etag) throw new ObjectChangedError(from, 'copy');
    const partCount = splitParts(job.source.size, job.partSize).length;
    const target = { id: job.id, bucket: job.bucket, key: job.key, metadata: head.metadata ?? {}, settings: copySettings(ctx, head.headers), checksums: false, partSize: job.partSize, partCount, name: from };
    const out = await uploadMultipart(ctx, target, copyPartSource(ctx, job, source), session).catch(changed);
    return {
      bytesSent: job.source.size - out.bytesSkipped,
      resumed: out.resumedParts > 0 ? { partsDone: out.resumedParts, partsTotal: out.parts, bytesSkipped: out.bytesSkipped } : undefined,
    };
  } finally {
    await session?.release();
  }
}

/** Parts of the source as byte ranges, each copied by the server (UploadPartCopy) on its own. */
function copyPartSource(ctx: EngineContext, job: CopyJob, source: CopySource): PartSource<Part> {
  const parts = splitParts(job.source.size, job.partSize!);
  return {
    parts: (done) => parts.filter((p) => !done.has(p.partNumber)),
    send: async (part, uploadId, signal) => {
      const range = { start: part.offset, end: part.offset + part.size - 1 };
      const { etag } = await ctx.store
        .uploadPartCopy({ source, bucket: job.bucket, key: job.key, uploadId, partNumber: part.partNumber, range }, signal)
        .catch((err: unknown) => {
          // Said here, so the checkpoint knows the parts are of another version and drops them.
          throw isPreconditionFailed(err) ? new ObjectChangedError(formatS3(source.bucket, source.key), 'copy') : err;
        });
      return { partNumber: part.partNumber, size: part.size, etag };
    },
  };
}

/** The source's headers (aws-cli's --metadata-directive COPY); storage class, ACL and encryption as asked. */
function copySettings(ctx: EngineContext, headers: ObjectHeaders | undefined): ObjectSettings {
  const asked = ctx.object?.settings;
  return { headers, storageClass: asked?.storageClass, acl: asked?.acl, sse: asked?.sse };
}
