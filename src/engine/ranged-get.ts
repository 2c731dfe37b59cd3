import type fs from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { createHash, type Hash } from 'node:crypto';
import { TransferError, TruncatedBodyError } from '../errors.js';
import { formatS3 } from '../location.js';
import { uint32Base64 } from './checksum.js';
import type { EngineContext } from './context.js';
import { decodeMtime, type DownloadJob, type Part } from './model.js';
import { runParts } from './parts.js';
import { retryReporter } from './retry.js';
import { md5FromEtag } from './verify.js';

/** How far each range got: a prefix of whole chunks, with the range's CRC32C at each chunk's end. */
export interface RangeProgress {
  bytesDone: number;
  /** The running CRC32C of the range after each whole chunk: checks the temp file on resume. */
  chunkCrcs: string[];
  /** CRC32C of the range's bytes so far: verifies the object without reading the file again. */
  crc: number;
}

/** What the GETs told and computed on the way, for verification and the file's mtime. */
export interface Fetched {
  metadataMtime?: number | undefined;
  storedFromGet?: string | undefined;
  etagIsMd5?: boolean | undefined;
  /** Hex MD5 of the whole object, when one GET carried it in order and whole. */
  md5?: string | undefined;
  bytesSent: number;
}

export interface RangeTarget {
  job: DownloadJob;
  fh: fs.FileHandle;
  parts: Part[];
  ranges: Map<number, RangeProgress>;
  chunkSize: number;
  /** A checkpoint starts from scratch: the MD5 can be computed on the way (one GET only). */
  fresh: boolean;
  /** A whole chunk reached the file: save progress, count bytes. */
  onChunk: (bytes: number) => void;
}

/**
 * The part source of a download: each part is a ranged GET (one plain GET for
 * a small object) written into the temp file at its offset. A retry continues
 * after the last whole chunk written, not from the range's start.
 */
export async function fetchRanges(ctx: EngineContext, t: RangeTarget): Promise<Fetched> {
  const { job } = t;
  const url = formatS3(job.bucket, job.key);
  const ranged = job.partSize !== undefined;
  const out: Fetched = { bytesSent: 0 };
  // One GET streams in order: its MD5 can be computed on the way, when the ETag is one.
  const md5 = !ranged && md5FromEtag(job.etag) && t.fresh ? createHash('md5') : undefined;
  let md5Torn = false;
  const todo = t.parts.filter((p) => {
    const progress = t.ranges.get(p.partNumber) ?? { bytesDone: 0, chunkCrcs: [], crc: 0 };
    t.ranges.set(p.partNumber, progress);
    return progress.bytesDone < p.size || p.size === 0;
  });
  await runParts(todo, { parallel: ctx.parallel, signal: ctx.signal, retry: { policy: ctx.retry, onRetry: retryReporter(ctx, url) } }, async (part, signal) => {
    const progress = t.ranges.get(part.partNumber)!;
    // The buffer first, the request second: a response must never wait for memory (it would stall).
    const buf = await ctx.memory.take(Math.max(1, Math.min(WRITE_BYTES, t.chunkSize, part.size - progress.bytesDone)));
    try {
      await fetchRange(ctx, t, { part, progress, buf, signal, md5, onTornChunk: () => (md5Torn = true) }, out);
    } finally {
      ctx.memory.release(buf);
    }
    if (progress.bytesDone !== part.size) throw new TruncatedBodyError(`${url}: connection ended early`);
  });
  out.md5 = md5Torn ? undefined : md5?.digest('hex');
  return out;
}

interface OneRange {
  part: Part;
  progress: RangeProgress;
  buf: Buffer;
  signal: AbortSignal;
  md5: Hash | undefined;
  onTornChunk: () => void;
}

/** One GET of what the range still lacks, written into the file through `r.buf`. */
async function fetchRange(ctx: EngineContext, t: RangeTarget, r: OneRange, out: Fetched): Promise<void> {
  const { job } = t;
  const ranged = job.partSize !== undefined;
  const start = r.part.offset + r.progress.bytesDone;
  const res = await ctx.store.get(
    {
      bucket: job.bucket,
      key: job.key,
      range: ranged || start > 0 ? { start, end: r.part.offset + r.part.size - 1 } : undefined,
      ifMatch: job.etag || undefined,
      versionId: job.versionId,
      checksumMode: !ranged,
    },
    r.signal,
  );
  out.metadataMtime ??= decodeMtime(res.metadata.mtime);
  out.storedFromGet ??= res.checksumCRC32C;
  out.etagIsMd5 ??= res.etagIsMd5;
  const onChunk = (n: number) => {
    out.bytesSent += n;
    t.onChunk(n);
  };
  await writeChunks(res.body, t.fh, { ...r, chunkSize: t.chunkSize, onChunk });
}

interface ChunkOptions {
  part: Part;
  progress: RangeProgress;
  chunkSize: number;
  /** From the run's budget, taken before the request was sent. */
  buf: Buffer;
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
  const { part, progress, chunkSize, buf } = opts;
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
    if (chunkBytes > 0 || filled > 0) opts.onTornChunk();
  }
}

