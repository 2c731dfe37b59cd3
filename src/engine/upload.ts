import fs from 'node:fs/promises';
import pLimit from 'p-limit';
import { anySignal } from './signals.js';
import { isAbort } from '../errors.js';
import { splitParts, type Part } from '../plan/part-size.js';
import { formatS3 } from '../location.js';
import { compositeCrc32c, crc32cBase64 } from './checksum.js';
import type { EngineContext } from './context.js';
import { SuspectObjectError, assertUnchanged } from './local-file.js';
import { sendFileRange } from './file-body.js';
import { encodeMtime } from './s3-store.js';
import { retryReporter, withRetry } from './retry.js';
import { fsPath } from '../local-path.js';
import type { PartInfo } from './store.js';

export interface UploadJob {
  id: number;
  path: string;
  size: number;
  mtimeMs: number;
  bucket: string;
  key: string;
  /** Multipart when set; single PUT otherwise. */
  partSize?: number | undefined;
}

export interface UploadResult {
  bytesSent: number;
  resumed?: { partsDone: number; partsTotal: number; bytesSkipped: number } | undefined;
}

/** Where a multipart upload stands; what a checkpoint saves. */
export interface MultipartState {
  uploadId: string;
  partSize: number;
  done: Map<number, PartInfo>;
}

/**
 * Hooks a checkpoint provides. Without them, an upload that fails is aborted on
 * the server (as aws-cli does), so no parts are left behind.
 */
export interface UploadSession {
  /** An upload to resume (already reconciled with the server), or undefined to start one. */
  resume(signal: AbortSignal): Promise<MultipartState | undefined>;
  started(state: MultipartState): Promise<void>;
  partDone(state: MultipartState): void;
  /** Called when the upload stops without completing; return true to keep the server-side upload. */
  keepOnFailure(state: MultipartState, cause: unknown): Promise<boolean>;
  completed(): Promise<void>;
  /** Called just before CreateMultipartUpload: record the intent, so no upload exists that nothing knows. */
  beforeCreate(): Promise<void>;
  /** The transfer is over, whatever happened: let other runs have it. */
  release(): Promise<void>;
}

export async function uploadFile(ctx: EngineContext, job: UploadJob, session?: UploadSession): Promise<UploadResult> {
  const fh = await fs.open(fsPath(job.path), 'r');
  try {
    await assertUnchanged(fh, job, job.path);
    const metadata = { mtime: encodeMtime(job.mtimeMs) };
    if (job.partSize === undefined) return await putSingle(ctx, job, fh, metadata);
    return await putMultipart(ctx, job, fh, metadata, session);
  } finally {
    await fh.close();
    await session?.release();
  }
}

async function putSingle(
  ctx: EngineContext,
  job: UploadJob,
  fh: fs.FileHandle,
  metadata: Record<string, string>,
): Promise<UploadResult> {
  const range = { fh, name: job.path, offset: 0, size: job.size };
  await withRetry(
    () =>
      sendFileRange(ctx.memory, range, async (body, crc32c) => {
        // Read whole and unchanged: the object will be one version of the file.
        await assertUnchanged(fh, job, job.path);
        await unlessChanged(fh, job, () => ctx.store.put({ bucket: job.bucket, key: job.key, body, crc32c, metadata }, ctx.signal));
      }),
    { policy: ctx.retry, signal: ctx.signal, onRetry: retryReporter(ctx, job.path) },
  );
  await assertUnchanged(fh, job, job.path);
  ctx.emit({ type: 'progress', id: job.id, bytes: job.size });
  return { bytesSent: job.size };
}

async function putMultipart(
  ctx: EngineContext,
  job: UploadJob,
  fh: fs.FileHandle,
  metadata: Record<string, string>,
  session: UploadSession | undefined,
): Promise<UploadResult> {
  const partSize = job.partSize!;
  const retry = { policy: ctx.retry, signal: ctx.signal, onRetry: retryReporter(ctx, job.path) };
  let state = await session?.resume(ctx.signal);
  const resumedParts = state?.done.size ?? 0;
  if (!state) {
    await session?.beforeCreate();
    const uploadId = await withRetry(
      () => ctx.store.createMultipartUpload({ bucket: job.bucket, key: job.key, metadata }, ctx.signal),
      retry,
    );
    state = { uploadId, partSize, done: new Map() };
    try {
      await session?.started(state);
    } catch (err) {
      // No checkpoint could record it: abort the upload rather than orphan it.
      await settleFailedUpload(ctx, job, state, undefined, err);
      throw err;
    }
  }
  const current = state;
  const parts = splitParts(job.size, partSize);
  const bytesSkipped = [...current.done.values()].reduce((n, p) => n + p.size, 0);
  if (bytesSkipped > 0) ctx.emit({ type: 'progress', id: job.id, bytes: bytesSkipped });

  // First failure stops new parts; in-flight ones are cancelled through `stop`.
  const stop = new AbortController();
  const signal = anySignal(ctx.signal, stop.signal);
  let failure: unknown;
  const limit = pLimit(ctx.parallel);
  const sendPart = async (part: Part) => {
    if (failure !== undefined || signal.aborted) return;
    const range = { fh, name: job.path, offset: part.offset, size: part.size };
    try {
      const { etag, crc32c } = await withRetry(
        () =>
          sendFileRange(ctx.memory, range, async (body, crc32c) => {
            signal.throwIfAborted();
            const uploaded = await unlessChanged(fh, job, () =>
              ctx.store.uploadPart({ bucket: job.bucket, key: job.key, uploadId: current.uploadId, partNumber: part.partNumber, body, crc32c }, signal),
            );
            return { etag: uploaded.etag, crc32c };
          }),
        { ...retry, signal },
      );
      current.done.set(part.partNumber, { partNumber: part.partNumber, size: part.size, etag, crc32c });
      session?.partDone(current);
      ctx.emit({ type: 'progress', id: job.id, bytes: part.size });
    } catch (err) {
      if (failure === undefined) failure = err;
      stop.abort();
    }
  };

  try {
    await Promise.all(parts.filter((p) => !current.done.has(p.partNumber)).map((p) => limit(() => sendPart(p))));
    if (failure !== undefined) throw ctx.signal.aborted && !isAbort(failure) ? ctx.signal.reason : failure;
    ctx.signal.throwIfAborted();
    await assertUnchanged(fh, job, job.path);
    const ordered = parts.map((p) => current.done.get(p.partNumber)!);
    const expected = compositeCrc32c(ordered.map((p) => p.crc32c!));
    const out = await withRetry(async (attempt) => {
      try {
        return await ctx.store.completeMultipartUpload(
          { bucket: job.bucket, key: job.key, uploadId: current.uploadId, parts: ordered },
          ctx.signal,
        );
      } catch (err) {
        // A retry after a lost reply finds the upload already completed: the object tells.
        if (attempt > 1 && (err as { name?: string }).name === 'NoSuchUpload') {
          const head = await ctx.store.head(job.bucket, job.key, ctx.signal);
          if (head?.size === job.size && head.crc32c === expected) return { etag: head.etag, crc32c: head.crc32c };
        }
        throw err;
      }
    }, retry);
    if (out.crc32c && out.crc32c !== expected) {
      throw new SuspectObjectError(
        `${formatS3(job.bucket, job.key)}: server checksum ${out.crc32c} differs from the local ${expected}; the object is suspect, upload it again`,
      );
    }
  } catch (err) {
    await settleFailedUpload(ctx, job, current, session, err);
    throw err;
  }
  // The object is published: a checkpoint that cannot be removed is a warning, not a failure.
  await session?.completed().catch((err: unknown) =>
    ctx.emit({ type: 'warning', message: `${job.path} was uploaded, but its checkpoint could not be removed: ${(err as Error).message}` }),
  );
  return {
    bytesSent: job.size - bytesSkipped,
    resumed: resumedParts > 0 ? { partsDone: resumedParts, partsTotal: parts.length, bytesSkipped } : undefined,
  };
}

/** Keep the upload for a resume when a checkpoint wants it; otherwise abort it so no parts are orphaned. */
async function settleFailedUpload(
  ctx: EngineContext,
  job: UploadJob,
  state: MultipartState,
  session: UploadSession | undefined,
  cause: unknown,
): Promise<void> {
  const keep = session ? await session.keepOnFailure(state, cause).catch(() => false) : false;
  if (keep) return;
  try {
    // The run's signal may be aborted already: the cleanup gets its own deadline.
    await ctx.store.abortMultipartUpload(job.bucket, job.key, state.uploadId, AbortSignal.timeout(10_000));
  } catch (err) {
    ctx.emit({
      type: 'warning',
      message: `could not abort upload ${state.uploadId} of ${formatS3(job.bucket, job.key)}: ${err instanceof Error ? err.message : String(err)}; remove it with 's3xfer uploads abort'`,
    });
  }
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
