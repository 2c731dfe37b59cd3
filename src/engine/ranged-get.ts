import type fs from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { createHash, type Hash } from 'node:crypto';
import { TransferError, TruncatedBodyError } from '../errors.js';
import { formatS3 } from '../location.js';
import { uint32Base64 } from './checksum.js';
import type { EngineContext } from './context.js';
import { decodeMtime, type DownloadJob, type Part } from './model.js';
import { isDirectBody, pumpReadable } from './body-sink.js';
import { runParts } from './parts.js';
import { throttleSink } from './bandwidth.js';
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
    const buf = await ctx.memory.take(READ_BYTES);
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

/**
 * One GET of what the range still lacks, read into `r.buf` (straight from the
 * socket when the data path can, see http-connection.ts) and written from there.
 */
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
      buffer: r.buf,
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
  const writer = new RangeWriter(t.fh, { ...r, chunkSize: t.chunkSize, onChunk });
  try {
    const sink = throttleSink(ctx.bandwidth, writer.write, r.signal);
    if (isDirectBody(res.body)) await res.body.drainInto(sink);
    else await pumpReadable(res.body, r.buf, sink);
  } finally {
    if (writer.uncommitted) r.onTornChunk();
  }
}

interface ChunkOptions {
  part: Part;
  progress: RangeProgress;
  chunkSize: number;
  md5?: Hash | undefined;
  onChunk: (bytes: number) => void;
}

/**
 * Bytes read per socket read and per positioned write: few large writes beat
 * many small ones, and memory stays flat. Taken from the run's budget before
 * the GET; our connections read into it directly.
 */
const READ_BYTES = 1024 * 1024;

/**
 * The sink of one range's body: each view is written at its place in the file
 * while its CRC32C (and MD5) is computed here, on the main thread. Progress,
 * with the range's running CRC32C, counts only whole chunks, and only once
 * their bytes are written: bytes of a chunk cut short are fetched again.
 */
class RangeWriter {
  /** Bytes of the unfinished chunk already written, and the range's CRC32C up to their end. */
  private chunkBytes = 0;
  private crc: number;
  /** Bytes went into the MD5 beyond the last whole chunk: a retry would hash them again. */
  uncommitted = false;

  constructor(
    private readonly fh: fs.FileHandle,
    private readonly o: ChunkOptions,
  ) {
    this.crc = o.progress.crc;
  }

  readonly write = async (view: Buffer): Promise<void> => {
    const { part, progress, chunkSize } = this.o;
    if (view.length > part.size - progress.bytesDone - this.chunkBytes) throw new TransferError('server sent more bytes than the range asked for');
    this.uncommitted = true;
    // The write runs on the thread pool while this thread computes the checksums.
    const writing = writeAt(this.fh, view, part.offset + progress.bytesDone + this.chunkBytes);
    const ends: { size: number; crc: number }[] = [];
    let done = progress.bytesDone;
    let inChunk = this.chunkBytes;
    let crc = this.crc;
    for (let at = 0; at < view.length; ) {
      const target = Math.min(chunkSize, part.size - done);
      const piece = view.subarray(at, at + Math.min(view.length - at, target - inChunk));
      crc = crc32c(piece, crc);
      this.o.md5?.update(piece);
      at += piece.length;
      inChunk += piece.length;
      if (inChunk === target) {
        ends.push({ size: target, crc });
        done += target;
        inChunk = 0;
      }
    }
    await writing;
    for (const end of ends) {
      progress.crc = end.crc;
      progress.bytesDone += end.size;
      progress.chunkCrcs.push(uint32Base64(end.crc));
      this.o.onChunk(end.size);
    }
    this.chunkBytes = inChunk;
    this.crc = crc;
    this.uncommitted = inChunk > 0;
  };
}

async function writeAt(fh: fs.FileHandle, view: Buffer, position: number): Promise<void> {
  for (let written = 0; written < view.length; ) {
    written += (await fh.write(view, written, view.length - written, position + written)).bytesWritten;
  }
}
