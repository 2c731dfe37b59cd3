import fs from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
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
import { fsPath } from '../local-path.js';
import { tempPathFor } from '../temp-name.js';
import type { BufferBudget } from './memory.js';

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
  /** The destination directory the user named: nothing is written outside it, no link below it is followed. */
  root: string;
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
  /** The transfer is over, whatever happened: let other runs have it. */
  release(): Promise<void>;
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
  try {
    return await fetchToFile(ctx, job, session);
  } finally {
    await session?.release();
  }
}

async function fetchToFile(ctx: EngineContext, job: DownloadJob, session?: DownloadSession): Promise<{ bytesSent: number }> {
  const url = formatS3(job.bucket, job.key);
  const dir = path.dirname(job.path);
  await ctx.destination.ensureDir(job.root, dir);
  const ranged = job.partSize !== undefined;
  const parts = ranged ? splitParts(job.size, job.partSize!) : [{ partNumber: 1, offset: 0, size: job.size }];
  let state = await session?.resume(ctx.signal);
  const fresh = !state;
  state ??= { tempPath: tempPathFor(job.path), partSize: job.partSize ?? job.size, chunkSize: job.chunkSize, ranges: new Map() };
  const current = state;
  await ctx.destination.removeStaleTemps(job.path, current.tempPath);
  // Checked at the moment of writing: a link planted since the plan must not lead outside the root.
  await ctx.destination.assertInside(job.root, dir);
  // A new temp file is created exclusively and a resumed one never through a link.
  const fh = await fs.open(
    fsPath(current.tempPath),
    fresh ? fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL : fsc.O_RDWR | fsc.O_NOFOLLOW,
    0o666,
  );
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
    let md5Torn = false;
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
              memory: ctx.memory,
              md5,
              onTornChunk: () => (md5Torn = true),
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
        md5: md5Torn ? undefined : md5?.digest('hex'),
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
    await fs.rename(fsPath(current.tempPath), fsPath(job.path));
    const mtime = new Date(metadataMtime ?? job.mtimeMs ?? job.lastModifiedMs);
    await fs.utimes(fsPath(job.path), mtime, mtime);
  } catch (err) {
    if (!closed) await fh.close().catch(() => {});
    const keep = session ? await session.keepOnFailure(current, err).catch(() => false) : false;
    if (!keep) await fs.rm(fsPath(current.tempPath), { force: true });
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
  memory: BufferBudget;
  md5?: Hash | undefined;
  onChunk: (bytes: number) => void;
  /** Bytes of an unfinished chunk went into the MD5 and will be fetched again: the MD5 is void. */
  onTornChunk: () => void;
}

/** Bytes gathered per positioned write: few large writes beat one per socket read, and memory stays flat. */
const WRITE_BYTES = 1024 * 1024;

/**
 * Stream a range's body into `fh` through one buffer from the run's budget,
 * written whenever it fills or a chunk ends. Progress counts, with the range's
 * CRC32C, only at whole chunks: bytes of a chunk cut short are fetched again.
 * A body that stops sending is cut by the transport's inactivity timeout.
 */
async function writeChunks(body: AsyncIterable<Buffer>, fh: fs.FileHandle, opts: ChunkOptions): Promise<void> {
  const { part, progress, chunkSize } = opts;
  const remaining = part.size - progress.bytesDone;
  const buf = await opts.memory.take(Math.max(1, Math.min(WRITE_BYTES, chunkSize, remaining)));
  let filled = 0;
  // Bytes of the current, unfinished chunk already written, and their running CRC.
  let chunkBytes = 0;
  let crc = progress.crc;
  const chunkTarget = () => Math.min(chunkSize, part.size - progress.bytesDone);
  const flush = async () => {
    const pos = part.offset + progress.bytesDone + chunkBytes;
    for (let written = 0; written < filled; ) written += (await fh.write(buf, written, filled - written, pos + written)).bytesWritten;
    const view = buf.subarray(0, filled);
    crc = crc32c(view, crc);
    opts.md5?.update(view);
    chunkBytes += filled;
    filled = 0;
    if (chunkBytes === chunkTarget()) {
      progress.crc = crc;
      progress.bytesDone += chunkBytes;
      progress.chunkCrcs.push(uint32Base64(crc));
      opts.onChunk(chunkBytes);
      chunkBytes = 0;
    }
  };
  try {
    for await (const data of body) {
      let at = 0;
      while (at < data.length) {
        const room = Math.min(buf.length - filled, chunkTarget() - chunkBytes - filled);
        if (room <= 0) throw new TransferError('server sent more bytes than the range asked for');
        const n = data.copy(buf, filled, at, at + Math.min(room, data.length - at));
        filled += n;
        at += n;
        if (filled === buf.length || chunkBytes + filled === chunkTarget()) await flush();
      }
    }
    if (filled > 0) await flush();
  } finally {
    opts.memory.release(buf);
    if (chunkBytes > 0 || filled > 0) opts.onTornChunk();
  }
}

function translateGetError(err: unknown, url: string): unknown {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === 412) return new ObjectChangedError(url);
  return err;
}
