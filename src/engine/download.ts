import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { anySignal } from './signals.js';
import { TransferError } from '../errors.js';
import { formatS3 } from '../location.js';
import { splitParts, type Part } from '../plan/part-size.js';
import { crc32c } from '@node-rs/crc32';
import { createHash, type Hash } from 'node:crypto';
import { uint32Base64 } from './checksum.js';
import type { EngineContext } from './context.js';
import { decodeMtime } from './s3-store.js';
import { retryReporter, withRetry } from './retry.js';
import { md5FromEtag, verifyDownload } from './verify.js';

export interface DownloadJob {
  id: number;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  lastModifiedMs: number;
  mtimeMs?: number | undefined;
  versionId?: string | undefined;
  path: string;
  /** Parallel ranged GETs of this size when set; one GET otherwise. */
  partSize?: number | undefined;
  /** Progress is kept (and resumable) in chunks of this size within each range. */
  chunkSize: number;
}

/** How far each range got: a prefix of whole chunks, with the range's CRC32C at each chunk's end. */
export interface RangeProgress {
  bytesDone: number;
  /** The running CRC32C of the range after each whole chunk: checks the temp file on resume. */
  chunkCrcs: string[];
  /** CRC32C of the range's bytes so far: verifies the object without reading the file again. */
  crc: number;
}

/** Where a download stands; what a `.dcp` checkpoint saves. */
export interface DownloadState {
  tempPath: string;
  partSize: number;
  chunkSize: number;
  /** By part number; parts not yet started are absent. */
  ranges: Map<number, RangeProgress>;
}

/** Hooks a checkpoint provides; without them a failed download removes its temp file. */
export interface DownloadSession {
  /** Progress to resume (the temp file already checked against it), or undefined to start afresh. */
  resume(signal: AbortSignal): Promise<DownloadState | undefined>;
  started(state: DownloadState): Promise<void>;
  chunkDone(state: DownloadState): void;
  /** The download stopped; true keeps the temp file for a rerun. */
  keepOnFailure(state: DownloadState, err: unknown): Promise<boolean>;
  completed(): Promise<void>;
}

/** Hidden, in the destination directory: same filesystem, so the final rename is atomic. */
export function tempPathFor(dest: string): string {
  // Unique per process and call; crypto-grade randomness is not needed (and costs a syscall per file).
  const unique = `${process.pid.toString(16)}${Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0')}`;
  return path.join(path.dirname(dest), `.${path.basename(dest)}.s3xfer-${unique}.part`);
}

export class TruncatedBodyError extends Error {
  override name = 'TruncatedBodyError';
  readonly code = 'ECONNRESET';
}

export class ObjectChangedError extends TransferError {
  constructor(url: string) {
    super(`${url} changed on the server during the download; rerun to fetch the new version`);
  }
}

/**
 * Fetch an object into a temp file and rename it into place when complete and
 * verified: the destination path never holds a partial file.
 */
export async function downloadObject(ctx: EngineContext, job: DownloadJob, session?: DownloadSession): Promise<{ bytesSent: number }> {
  const url = formatS3(job.bucket, job.key);
  await ctx.ensureDir(path.dirname(job.path));
  const ranged = job.partSize !== undefined;
  const parts = ranged ? splitParts(job.size, job.partSize!) : [{ partNumber: 1, offset: 0, size: job.size }];
  let state = await session?.resume(ctx.signal);
  const fresh = !state;
  state ??= { tempPath: tempPathFor(job.path), partSize: job.partSize ?? job.size, chunkSize: job.chunkSize, ranges: new Map() };
  const current = state;
  const fh = await fs.open(current.tempPath, fresh ? 'w+' : 'r+');
  let closed = false;
  let bytesSent = 0;
  try {
    if (fresh) {
      await session?.started(current);
    } else {
      const already = [...current.ranges.values()].reduce((n, r) => n + r.bytesDone, 0);
      ctx.emit({ type: 'progress', id: job.id, bytes: already });
    }
    let metadataMtime: number | undefined;
    let storedFromGet: string | undefined;
    let etagIsMd5: boolean | undefined;
    // One GET streams in order: its MD5 can be computed on the way, when the ETag is one.
    const md5 = !ranged && md5FromEtag(job.etag) && fresh ? createHash('md5') : undefined;
    const stop = new AbortController();
    const signal = anySignal(ctx.signal, stop.signal);
    let failure: unknown;
    const limit = pLimit(ctx.parallel);
    const fetchPart = async (part: Part) => {
      if (failure !== undefined || signal.aborted) return;
      const progress = current.ranges.get(part.partNumber) ?? { bytesDone: 0, chunkCrcs: [], crc: 0 };
      current.ranges.set(part.partNumber, progress);
      if (progress.bytesDone === part.size && part.size > 0) return;
      try {
        // A cut connection resumes from the last whole chunk written, not from the range's start.
        await withRetry(
          async () => {
            const start = part.offset + progress.bytesDone;
            const end = part.offset + part.size - 1;
            const out = await ctx.store.get(
              {
                bucket: job.bucket,
                key: job.key,
                range: ranged || start > 0 ? { start, end } : undefined,
                ifMatch: job.etag || undefined,
                versionId: job.versionId,
                checksumMode: !ranged,
              },
              signal,
            );
            metadataMtime ??= decodeMtime(out.metadata.mtime);
            storedFromGet ??= out.checksumCRC32C;
            etagIsMd5 ??= out.etagIsMd5;
            await writeChunks(out.body, fh, {
              part,
              progress,
              chunkSize: current.chunkSize,
              md5,
              onChunk: (n) => {
                bytesSent += n;
                session?.chunkDone(current);
                ctx.emit({ type: 'progress', id: job.id, bytes: n });
              },
            });
            if (progress.bytesDone !== part.size) throw new TruncatedBodyError(`${url}: connection ended early`);
          },
          { policy: ctx.retry, signal, onRetry: retryReporter(ctx, url) },
        );
      } catch (err) {
        if (failure === undefined) failure = err;
        stop.abort();
      }
    };
    await Promise.all(parts.map((p) => limit(() => fetchPart(p))));
    if (failure !== undefined) throw translateGetError(failure, url);
    ctx.signal.throwIfAborted();
    // Every range ended exactly at its end (checked as each finished): the file holds job.size bytes.
    const got = parts.reduce((n, p) => n + (current.ranges.get(p.partNumber)?.bytesDone ?? 0), 0);
    if (got !== job.size) throw new TransferError(`${url}: got ${got} bytes, expected ${job.size}; rerun to fetch it again`);
    await verifyDownload(
      fh,
      job,
      {
        md5: md5?.digest('hex'),
        rangeCrcs: parts.map((p) => current.ranges.get(p.partNumber)?.crc ?? 0),
        partSize: current.partSize,
        storedFromGet,
        etagIsMd5,
        ranged,
      },
      ctx.store,
      ctx.signal,
    );
    if (ctx.fsync) await fh.sync();
    await fh.close();
    closed = true;
    await fs.rename(current.tempPath, job.path);
    const mtime = new Date(metadataMtime ?? job.mtimeMs ?? job.lastModifiedMs);
    await fs.utimes(job.path, mtime, mtime);
  } catch (err) {
    if (!closed) await fh.close().catch(() => {});
    const keep = session ? await session.keepOnFailure(current, err).catch(() => false) : false;
    if (!keep) await fs.rm(current.tempPath, { force: true });
    throw err;
  }
  // The file is in place: a checkpoint that cannot be removed is a warning, not a failure.
  await session?.completed().catch((err: unknown) =>
    ctx.emit({ type: 'warning', message: `${job.path} was downloaded, but its checkpoint could not be removed: ${(err as Error).message}` }),
  );
  return { bytesSent };
}

interface ChunkOptions {
  part: Part;
  progress: RangeProgress;
  chunkSize: number;
  md5?: Hash | undefined;
  onChunk: (bytes: number) => void;
}

/**
 * Stream a range's body into `fh`, one positioned write per whole chunk (few
 * large writes beat one per socket read). A chunk counts, with its CRC32C, once
 * written; a partial chunk at a cut is dropped and fetched again. A body that
 * stops sending is cut by the transport's inactivity timeout (--stall-timeout).
 */
async function writeChunks(body: AsyncIterable<Buffer>, fh: fs.FileHandle, opts: ChunkOptions): Promise<void> {
  const { part, progress, chunkSize } = opts;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const chunkTarget = () => Math.min(chunkSize, part.size - progress.bytesDone);
  // One positioned writev per chunk: no copying socket reads into one buffer.
  const commit = async () => {
    const pos = part.offset + progress.bytesDone;
    let written = (await fh.writev(pending, pos)).bytesWritten;
    if (written < pendingBytes) {
      const all = Buffer.concat(pending, pendingBytes);
      while (written < pendingBytes) written += (await fh.write(all, written, pendingBytes - written, pos + written)).bytesWritten;
    }
    for (const b of pending) {
      progress.crc = crc32c(b, progress.crc);
      opts.md5?.update(b);
    }
    progress.bytesDone += pendingBytes;
    progress.chunkCrcs.push(uint32Base64(progress.crc));
    opts.onChunk(pendingBytes);
    pending = [];
    pendingBytes = 0;
  };
  for await (const data of body) {
    let chunk = data;
    while (chunk.length > 0) {
      const need = chunkTarget() - pendingBytes;
      if (need <= 0) throw new TransferError('server sent more bytes than the range asked for');
      const take = chunk.length <= need ? chunk : chunk.subarray(0, need);
      pending.push(take);
      pendingBytes += take.length;
      chunk = chunk.subarray(take.length);
      if (pendingBytes === chunkTarget()) await commit();
    }
  }
}

function translateGetError(err: unknown, url: string): unknown {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === 412) return new ObjectChangedError(url);
  return err;
}
