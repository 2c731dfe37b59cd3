import { createHash, type Hash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { ObjectChangedError, OutputClosedError, TransferError, TruncatedBodyError, VerificationError } from '../errors.js';
import { formatS3 } from '../location.js';
import type { EngineContext } from './context.js';
import type { StdoutJob } from './model.js';
import { isDirectBody, pumpReadable, type BodySink } from './body-sink.js';
import { throttleSink } from './bandwidth.js';
import { retryReporter, withRetry } from './retry.js';
import { isPreconditionFailed } from './s3-errors.js';
import { compositeCrc32c, uint32Base64 } from './checksum.js';
import { md5FromEtag, partCrcsFromChunks } from './verify.js';

const MiB = 1024 * 1024;

/**
 * What the stream computed on the way: bytes can only be checked as they pass,
 * never read again. One checksum, chosen before the first byte: the MD5 when the
 * ETag is one, else the CRC32C (both cost 0.4 s more CPU per 256 MiB here).
 */
class Running {
  offset = 0;
  crc = 0;
  /** The running CRC32C at each whole MiB: gives the uploader's part CRCs for a composite checksum. */
  readonly chunkCrcs: string[] = [];
  private inChunk = 0;
  md5: Hash | undefined;
  /** Set by the first whole GET's head: which checksum the bytes need. */
  chosen = false;

  add(view: Buffer): void {
    this.offset += view.length;
    if (this.md5) return void this.md5.update(view);
    for (let at = 0; at < view.length; ) {
      const piece = view.subarray(at, at + MiB - this.inChunk);
      this.crc = crc32c(piece, this.crc);
      at += piece.length;
      this.inChunk += piece.length;
      if (this.inChunk === MiB) {
        this.chunkCrcs.push(uint32Base64(this.crc));
        this.inChunk = 0;
      }
    }
  }
}

/**
 * `cp s3://b/key -`: one GET, its body written to standard output in order as
 * it arrives (through one 1 MiB budget buffer: memory stays flat). A GET that
 * fails is retried from the byte where the output stopped (a ranged GET pinned
 * with If-Match: never two versions spliced). Nothing is kept across runs: no
 * temp file, no checkpoint. The bytes are checked as they pass (MD5 ETag or
 * CRC32C); a mismatch can only be reported, after the fact (exit 1).
 */
export async function downloadToStdout(ctx: EngineContext, job: StdoutJob, out: NodeJS.WritableStream): Promise<{ bytesSent: number }> {
  const url = formatS3(job.bucket, job.key);
  const seen = new Running();
  const told: { stored?: string | undefined; etagIsMd5?: boolean | undefined } = {};
  const buf = await ctx.memory.take(MiB);
  const sink: BodySink = async (view) => {
    if (view.length > job.size - seen.offset) throw new TransferError(`${url}: the server sent more bytes than the object holds`);
    await writeOut(out, view);
    seen.add(view);
    ctx.emit({ type: 'progress', id: job.id, bytes: view.length });
  };
  const paced = throttleSink(ctx.bandwidth, sink, ctx.signal);
  try {
    await withRetry(
      async () => {
        const whole = seen.offset === 0;
        const res = await ctx.store.get(
          {
            bucket: job.bucket,
            key: job.key,
            range: whole ? undefined : { start: seen.offset, end: job.size - 1 },
            ifMatch: job.etag || undefined,
            versionId: job.versionId,
            checksumMode: whole,
            buffer: buf,
          },
          ctx.signal,
        );
        // Only a whole GET carries the stored checksum, and says whether the ETag is an MD5.
        if (whole) Object.assign(told, { stored: res.checksumCRC32C, etagIsMd5: res.etagIsMd5 });
        if (!seen.chosen) {
          seen.chosen = true;
          if (told.etagIsMd5 !== false && md5FromEtag(job.etag)) seen.md5 = createHash('md5');
        }
        if (isDirectBody(res.body)) await res.body.drainInto(paced);
        else await pumpReadable(res.body, buf, paced);
        if (seen.offset !== job.size) throw new TruncatedBodyError(`${url}: connection ended at byte ${seen.offset} of ${job.size}`);
      },
      { policy: ctx.retry, signal: ctx.signal, onRetry: retryReporter(ctx, url) },
    );
  } catch (err) {
    throw isPreconditionFailed(err) ? new ObjectChangedError(url) : err;
  } finally {
    ctx.memory.release(buf);
  }
  await verifyStream(ctx, job, seen, told);
  return { bytesSent: seen.offset };
}

/** One write, resolved once the view is handed to the system (its buffer is then reused). */
function writeOut(out: NodeJS.WritableStream, view: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      out.write(view, (err) => (err ? reject(new OutputClosedError(`standard output was closed (${(err as NodeJS.ErrnoException).code ?? err.message})`)) : resolve()));
    } catch (err) {
      reject(new OutputClosedError(`standard output was closed (${(err as Error).message})`));
    }
  });
}

async function verifyStream(ctx: EngineContext, job: StdoutJob, seen: Running, told: { stored?: string | undefined; etagIsMd5?: boolean | undefined }): Promise<void> {
  const url = formatS3(job.bucket, job.key);
  const fail = (what: string) =>
    new VerificationError(`${url}: the bytes written to standard output do not match the object's ${what}: discard them and run again`);
  if (seen.md5) {
    if (seen.md5.digest('hex') !== md5FromEtag(job.etag)) throw fail('MD5 (ETag)');
    return;
  }
  const stored = told.stored;
  if (!stored) return;
  const composite = /-(\d+)$/.exec(stored);
  if (!composite) {
    if (uint32Base64(seen.crc) !== stored) throw fail(`CRC32C (${stored})`);
    return;
  }
  const n = Number(composite[1]);
  const uploaderPart = n > 1 ? await ctx.store.partSize(job.bucket, job.key, 1, ctx.signal, job.versionId) : job.size;
  // The last, shorter chunk counts as a chunk too.
  const chunkCrcs = seen.offset % MiB ? [...seen.chunkCrcs, uint32Base64(seen.crc)] : seen.chunkCrcs;
  const parts = partCrcsFromChunks({ rangeCrcs: [seen.crc], partSize: job.size, chunkCrcs: [chunkCrcs], chunkSize: MiB, ranged: false }, job.size, uploaderPart);
  if (!parts) {
    ctx.emit({ type: 'warning', message: `${url}: not verified (its parts of ${uploaderPart} bytes do not end on whole MiB)` });
    return;
  }
  if (compositeCrc32c(parts.map(uint32Base64)) !== stored) throw fail(`CRC32C (${stored})`);
}
