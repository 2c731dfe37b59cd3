import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { TransferError } from '../errors.js';
import { formatS3 } from '../location.js';
import type { EngineContext } from './context.js';
import { decodeMtime } from './s3-store.js';
import { withRetry } from './retry.js';

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
}

/** Positioned writes of at least this much: few large writes beat one per socket chunk. */
const WRITE_BATCH = 1024 * 1024;

/** Hidden, in the destination directory: same filesystem, so the final rename is atomic. */
export function tempPathFor(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.s3xfer-${randomBytes(4).toString('hex')}.part`);
}

export class TruncatedBodyError extends Error {
  override name = 'TruncatedBodyError';
  readonly code = 'ECONNRESET';
}

/**
 * Fetch an object into a temp file and rename it into place when complete and
 * checked: the destination path never holds a partial file.
 */
export async function downloadObject(ctx: EngineContext, job: DownloadJob): Promise<{ bytesSent: number }> {
  const url = formatS3(job.bucket, job.key);
  await fs.mkdir(path.dirname(job.path), { recursive: true });
  const temp = tempPathFor(job.path);
  const fh = await fs.open(temp, 'w');
  let closed = false;
  try {
    let metadataMtime: number | undefined;
    const ranges = splitRanges(job.size, job.partSize ?? Math.max(job.size, 1));
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    let failure: unknown;
    const limit = pLimit(ctx.parallel);
    const fetchRange = async (r: { start: number; end: number }) => {
      if (failure !== undefined || signal.aborted) return;
      try {
        // A cut connection resumes from the last byte written, not from the range's start.
        const cursor = { pos: r.start };
        await withRetry(
          async () => {
            const ranged = job.partSize !== undefined;
            const out = await ctx.store.get(
              {
                bucket: job.bucket,
                key: job.key,
                range: ranged || cursor.pos > 0 ? { start: cursor.pos, end: r.end } : undefined,
                ifMatch: job.etag || undefined,
                versionId: job.versionId,
              },
              signal,
            );
            metadataMtime ??= decodeMtime(out.metadata.mtime);
            await writeBody(out.body, fh, cursor, (n) => ctx.emit({ type: 'progress', id: job.id, bytes: n }));
            if (cursor.pos !== r.end + 1) throw new TruncatedBodyError(`${url}: connection ended early`);
          },
          { policy: ctx.retry, signal, onRetry: (err, attempt, delayMs) => ctx.emit({ type: 'retry', source: url, attempt, delayMs, message: String((err as Error).message) }) },
        );
      } catch (err) {
        if (failure === undefined) failure = err;
        stop.abort();
      }
    };
    await Promise.all(ranges.map((r) => limit(() => fetchRange(r))));
    if (failure !== undefined) throw translateGetError(failure, url);
    ctx.signal.throwIfAborted();
    const st = await fh.stat();
    if (st.size !== job.size) throw new TransferError(`${url}: got ${st.size} bytes, expected ${job.size}; rerun to fetch it again`);
    await fh.sync();
    await fh.close();
    closed = true;
    await fs.rename(temp, job.path);
    const mtime = new Date(metadataMtime ?? job.mtimeMs ?? job.lastModifiedMs);
    await fs.utimes(job.path, mtime, mtime);
    return { bytesSent: job.size };
  } catch (err) {
    if (!closed) await fh.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw err;
  }
}

export function splitRanges(size: number, partSize: number): { start: number; end: number }[] {
  if (size === 0) return [{ start: 0, end: -1 }];
  const ranges: { start: number; end: number }[] = [];
  for (let start = 0; start < size; start += partSize) ranges.push({ start, end: Math.min(size, start + partSize) - 1 });
  return ranges;
}

/**
 * Stream a body to `fh` at `cursor.pos`, batching small socket chunks into
 * large positioned writes. `cursor.pos` advances past every byte written, even
 * when the stream breaks, so a retry continues from there.
 */
async function writeBody(
  body: AsyncIterable<Buffer>,
  fh: fs.FileHandle,
  cursor: { pos: number },
  onBytes: (n: number) => void,
): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    let written = 0;
    while (written < buf.length) {
      written += (await fh.write(buf, written, buf.length - written, cursor.pos + written)).bytesWritten;
    }
    cursor.pos += buf.length;
    onBytes(buf.length);
    pending = [];
    pendingBytes = 0;
  };
  try {
    for await (const chunk of body) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_BATCH) await flush();
    }
  } finally {
    // Keep what arrived before a cut: the retry continues after it.
    await flush();
  }
}

function translateGetError(err: unknown, url: string): unknown {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === 412) return new TransferError(`${url} changed on the server during the download; rerun to fetch the new version`);
  return err;
}
