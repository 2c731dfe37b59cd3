import fs from 'node:fs/promises';
import { encodeMtime, splitParts, type Part, type UploadJob } from './model.js';
import type { EngineContext } from './context.js';
import { assertUnchanged } from './local-file.js';
import { sendFileRange } from './file-body.js';
import { throttleBody } from './bandwidth.js';
import { retryReporter, withRetry } from './retry.js';
import { fsPath } from '../local-path.js';
import { uploadMultipart, type PartSource, type UploadSession } from './multipart.js';
import { metadataFor, NO_OBJECT_OPTIONS, settingsFor } from './object-settings.js';
import type { ObjectSettings } from './store.js';

export type { MultipartState, UploadSession } from './multipart.js';

export interface UploadResult {
  bytesSent: number;
  resumed?: { partsDone: number; partsTotal: number; bytesSkipped: number } | undefined;
}

/** A local file to an object: one PUT below the threshold, else multipart from parts read by position (resumable). */
export async function uploadFile(ctx: EngineContext, job: UploadJob, session?: UploadSession): Promise<UploadResult> {
  const fh = await fs.open(fsPath(job.path), 'r');
  try {
    // Opened by its path just now: whether the path still names it is asked after the read.
    await assertUnchanged(fh, job, job.path, { byPath: false });
    const object = ctx.object ?? NO_OBJECT_OPTIONS;
    const metadata = metadataFor(object, { mtime: encodeMtime(job.mtimeMs) });
    const settings = settingsFor(object, job.key);
    if (job.partSize === undefined) return await putSingle(ctx, job, fh, { metadata, settings });
    const partCount = splitParts(job.size, job.partSize).length;
    const target = { id: job.id, bucket: job.bucket, key: job.key, metadata, settings, partSize: job.partSize, partCount, name: job.path };
    const out = await uploadMultipart(ctx, target, filePartSource(ctx, job, fh), session);
    return {
      bytesSent: job.size - out.bytesSkipped,
      resumed: out.resumedParts > 0 ? { partsDone: out.resumedParts, partsTotal: out.parts, bytesSkipped: out.bytesSkipped } : undefined,
    };
  } finally {
    await fh.close();
    await session?.release();
  }
}

async function putSingle(
  ctx: EngineContext,
  job: UploadJob,
  fh: fs.FileHandle,
  { metadata, settings }: { metadata: Record<string, string>; settings: ObjectSettings },
): Promise<UploadResult> {
  const range = { fh, name: job.path, offset: 0, size: job.size };
  let heldWhole = false;
  await withRetry(
    () =>
      sendFileRange(ctx.memory, range, async (body, crc32c) => {
        // Read whole and unchanged: the object will be one version of the file.
        await assertUnchanged(fh, job, job.path);
        heldWhole = Buffer.isBuffer(body);
        await unlessChanged(fh, job, () => ctx.store.put({ bucket: job.bucket, key: job.key, body: throttleBody(ctx.bandwidth, body, ctx.signal), crc32c, metadata, settings }, ctx.signal));
      }),
    { policy: ctx.retry, signal: ctx.signal, onRetry: retryReporter(ctx, job.path) },
  );
  // A body over 16 MiB is read a second time while it is sent: check the file once more after. One held
  // in memory was checked after its only read; what it sent cannot change.
  if (!heldWhole) await assertUnchanged(fh, job, job.path);
  ctx.emit({ type: 'progress', id: job.id, bytes: job.size });
  return { bytesSent: job.size };
}

/** Parts of a file read by position: any part can be (re)sent at any time, so uploads resume. */
function filePartSource(ctx: EngineContext, job: UploadJob, fh: fs.FileHandle): PartSource<Part> {
  const parts = splitParts(job.size, job.partSize!);
  return {
    parts: (done) => parts.filter((p) => !done.has(p.partNumber)),
    send: (part, uploadId, signal) =>
      sendFileRange(ctx.memory, { fh, name: job.path, offset: part.offset, size: part.size }, async (body, crc32c) => {
        signal.throwIfAborted();
        const { partNumber } = part;
        const paced = throttleBody(ctx.bandwidth, body, signal);
        const { etag } = await unlessChanged(fh, job, () => ctx.store.uploadPart({ bucket: job.bucket, key: job.key, uploadId, partNumber, body: paced, crc32c }, signal));
        return { partNumber, size: part.size, etag, crc32c };
      }),
    // Never publish an object made of two versions of the file.
    beforeComplete: () => assertUnchanged(fh, job, job.path),
  };
}

/** A body the server refused (BadDigest) may be a file that changed between our two reads: say so, never retry it. */
async function unlessChanged<T>(fh: fs.FileHandle, job: UploadJob, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    await assertUnchanged(fh, job, job.path);
    throw err;
  }
}
