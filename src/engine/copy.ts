import type { EngineContext } from './context.js';
import { changedAs, copySourceOf, headSource, metaFor, multipartCopy, sourceTags, sourceUrl } from './copy-source.js';
import { streamCopy } from './copy-stream.js';
import { splitParts, type CopyJob, type Part } from './model.js';
import type { PartSource, UploadSession } from './multipart.js';
import { retryReporter, withRetry } from './retry.js';
import type { CopySource } from './store.js';
import type { UploadResult } from './upload.js';

/**
 * An object to another key. On one endpoint the server copies it: one
 * CopyObject below the threshold, else a multipart upload whose parts are
 * UploadPartCopy of the source's ranges (objects over 5 GiB too); no bytes pass
 * through s3xfer. From another endpoint or account the bytes stream through
 * (copy-stream.ts). Every request is pinned to the source's ETag, so a source
 * overwritten mid-copy fails the copy instead of mixing two versions.
 */
export async function copyObject(ctx: EngineContext, job: CopyJob, session?: UploadSession): Promise<UploadResult> {
  try {
    return job.sourceEndpoint !== undefined ? await streamCopy(ctx, job, session) : await serverCopy(ctx, job, session);
  } finally {
    await session?.release();
  }
}

async function serverCopy(ctx: EngineContext, job: CopyJob, session?: UploadSession): Promise<UploadResult> {
  const source = copySourceOf(job);
  const name = sourceUrl(job);
  if (job.partSize === undefined) {
    // REPLACE keeps the recorded mtime: the source's metadata is needed (one HEAD); COPY needs none.
    const replace = job.replace ? metaFor(ctx, job, await headSource(ctx, job)) : undefined;
    await withRetry(() => ctx.store.copyObject({ source, bucket: job.bucket, key: job.key, settings: ctx.object?.settings, replace }, ctx.signal), {
      policy: ctx.retry,
      signal: ctx.signal,
      onRetry: retryReporter(ctx, name),
    }).catch(changedAs(job));
    ctx.emit({ type: 'progress', id: job.id, bytes: job.source.size });
    return { bytesSent: job.source.size };
  }
  // CreateMultipartUpload starts empty: the source's metadata and headers are carried over by hand.
  const meta = metaFor(ctx, job, await headSource(ctx, job), await sourceTags(ctx, job));
  return multipartCopy(ctx, job, { meta, checksums: false, parts: copyPartSource(ctx, job, source) }, session);
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
        // Said here, so the checkpoint knows the parts are of another version and drops them.
        .catch(changedAs(job));
      return { partNumber: part.partNumber, size: part.size, etag };
    },
  };
}
