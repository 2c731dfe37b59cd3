import { SuspectObjectError, TransferError } from '../errors.js';
import { formatS3 } from '../location.js';
import { compositeCrc32c } from './checksum.js';
import type { EngineContext } from './context.js';
import { runParts } from './parts.js';
import { retryReporter, withRetry } from './retry.js';
import { isClientError, isNoSuchUpload } from './s3-errors.js';
import type { ObjectSettings, PartInfo } from './store.js';

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
  /** Called just before CreateMultipartUpload: record the intent, so no upload exists that nothing knows. */
  beforeCreate(): Promise<void>;
  /** CreateMultipartUpload was refused by the server (4xx): no upload was made. */
  createFailed(): Promise<void>;
  started(state: MultipartState): Promise<void>;
  partDone(state: MultipartState): void;
  /** Called when the upload stops without completing; return true to keep the server-side upload. */
  keepOnFailure(state: MultipartState, cause: unknown): Promise<boolean>;
  completed(): Promise<void>;
  /** The transfer is over, whatever happened: let other runs have it. */
  release(): Promise<void>;
}

/** Where the parts' bytes come from: a file read by position, a stream read as it goes, … */
export interface PartSource<P> {
  /** The parts still to send (those not in `done`), pulled as they are needed. */
  parts(done: ReadonlyMap<number, PartInfo>): Iterable<P> | AsyncIterable<P>;
  /** Read `part` and upload it; called again (re-reading its bytes) on a retry. */
  send(part: P, uploadId: string, signal: AbortSignal): Promise<PartInfo>;
  /** Frees what a pulled part holds, sent or not. */
  settle?: ((part: P) => void) | undefined;
  /** Just before completing, with every part (sent now or before): the source must still be what was sent. */
  beforeComplete?: ((done: ReadonlyMap<number, PartInfo>) => Promise<void>) | undefined;
}

export interface MultipartTarget {
  /** Transfer id, for progress events. */
  id: number;
  bucket: string;
  key: string;
  metadata: Record<string, string>;
  partSize: number;
  /** Headers, storage class, tags, encryption to set (a copy carries the source's headers over). */
  settings?: ObjectSettings | undefined;
  /** Parts carry CRC32Cs and the object a composite one, compared with ours (not for server-side copies). */
  checksums?: boolean | undefined;
  /** How many parts the object has, when known in advance (a file; not a stream). */
  partCount?: number | undefined;
  /** The source, for messages: a local path or '-'. */
  name: string;
}

export interface MultipartResult {
  parts: number;
  resumedParts: number;
  bytesSkipped: number;
}

/**
 * The multipart upload protocol, whatever the part source: resume (or record
 * the intent and create), send the missing parts through the one scheduler,
 * complete and compare the server's composite CRC32C with ours; on failure keep
 * the upload for a checkpoint or abort it.
 */
export async function uploadMultipart<P>(ctx: EngineContext, target: MultipartTarget, source: PartSource<P>, session?: UploadSession): Promise<MultipartResult> {
  const state = await openUpload(ctx, target, session);
  const resumedParts = state.done.size;
  const bytesSkipped = [...state.done.values()].reduce((n, p) => n + p.size, 0);
  if (bytesSkipped > 0) ctx.emit({ type: 'progress', id: target.id, bytes: bytesSkipped });
  try {
    await runParts(
      source.parts(state.done),
      { parallel: ctx.parallel, signal: ctx.signal, retry: { policy: ctx.retry, onRetry: retryReporter(ctx, target.name) }, settle: source.settle },
      async (part, signal) => {
        const info = await source.send(part, state.uploadId, signal);
        state.done.set(info.partNumber, info);
        session?.partDone(state);
        ctx.emit({ type: 'progress', id: target.id, bytes: info.size });
      },
    );
    await source.beforeComplete?.(state.done);
    await completeUpload(ctx, target, state);
  } catch (err) {
    await settleFailedUpload(ctx, target, state, session, err);
    throw err;
  }
  // The object is published: a checkpoint that cannot be removed is a warning, not a failure.
  await session?.completed().catch((err: unknown) =>
    ctx.emit({ type: 'warning', message: `${target.name} was uploaded, but its checkpoint could not be removed: ${(err as Error).message}` }),
  );
  return { parts: state.done.size, resumedParts, bytesSkipped };
}

async function openUpload(ctx: EngineContext, target: MultipartTarget, session: UploadSession | undefined): Promise<MultipartState> {
  const resumed = await session?.resume(ctx.signal);
  if (resumed) return resumed;
  await session?.beforeCreate();
  const uploadId = await withRetry(
    () =>
      ctx.store.createMultipartUpload(
        { bucket: target.bucket, key: target.key, metadata: target.metadata, settings: target.settings, checksums: target.checksums },
        ctx.signal,
      ),
    { policy: ctx.retry, signal: ctx.signal, onRetry: retryReporter(ctx, target.name) },
  ).catch(async (err: unknown) => {
    // A 4xx answer is definite: nothing was created. After a network fault it may have been: the intent stays.
    if (isClientError(err)) await session?.createFailed();
    throw err;
  });
  const state: MultipartState = { uploadId, partSize: target.partSize, done: new Map() };
  try {
    await session?.started(state);
  } catch (err) {
    // No checkpoint could record it: abort the upload rather than orphan it.
    await settleFailedUpload(ctx, target, state, undefined, err);
    throw err;
  }
  return state;
}

async function completeUpload(ctx: EngineContext, target: MultipartTarget, state: MultipartState): Promise<void> {
  const ordered = [...state.done.values()].sort((a, b) => a.partNumber - b.partNumber);
  if (ordered.some((p, i) => p.partNumber !== i + 1) || (target.partCount !== undefined && ordered.length !== target.partCount)) {
    throw new TransferError(`${target.name}: ${ordered.length} parts ready, not the ${target.partCount ?? 'consecutive'} parts the object needs; rerun to upload it again`);
  }
  // Copied parts have no CRC32C of ours: their bytes never passed through us (size is checked instead).
  const expected = ordered.every((p) => p.crc32c) ? compositeCrc32c(ordered.map((p) => p.crc32c!)) : undefined;
  const size = ordered.reduce((n, p) => n + p.size, 0);
  const out = await withRetry(
    async (attempt) => {
      try {
        return await ctx.store.completeMultipartUpload({ bucket: target.bucket, key: target.key, uploadId: state.uploadId, parts: ordered }, ctx.signal);
      } catch (err) {
        // A retry after a lost reply finds the upload already completed: the object tells.
        if (attempt > 1 && isNoSuchUpload(err)) {
          const head = await ctx.store.head(target.bucket, target.key, ctx.signal);
          if (head?.size === size && (expected === undefined || head.crc32c === expected)) return { etag: head.etag, crc32c: head.crc32c };
        }
        throw err;
      }
    },
    { policy: ctx.retry, signal: ctx.signal, onRetry: retryReporter(ctx, target.name) },
  );
  if (expected !== undefined && out.crc32c && out.crc32c !== expected) {
    throw new SuspectObjectError(
      `${formatS3(target.bucket, target.key)}: server checksum ${out.crc32c} differs from the local ${expected}; the object is suspect, upload it again`,
    );
  }
}

/** Keep the upload for a resume when a checkpoint wants it; otherwise abort it so no parts are orphaned. */
async function settleFailedUpload(
  ctx: EngineContext,
  target: MultipartTarget,
  state: MultipartState,
  session: UploadSession | undefined,
  cause: unknown,
): Promise<void> {
  const keep = session ? await session.keepOnFailure(state, cause).catch(() => false) : false;
  if (keep) return;
  try {
    // The run's signal may be aborted already: the cleanup gets its own deadline.
    await ctx.store.abortMultipartUpload(target.bucket, target.key, state.uploadId, AbortSignal.timeout(10_000));
  } catch (err) {
    ctx.emit({
      type: 'warning',
      message: `could not abort upload ${state.uploadId} of ${formatS3(target.bucket, target.key)}: ${err instanceof Error ? err.message : String(err)}; remove it with 's3xfer uploads abort'`,
    });
  }
}
