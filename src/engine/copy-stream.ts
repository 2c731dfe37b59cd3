import { createHash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { TransferError, TruncatedBodyError, VerificationError } from '../errors.js';
import { formatS3 } from '../location.js';
import { base64Uint32, compositeCrc32c, crc32cCombine, uint32Base64 } from './checksum.js';
import type { EngineContext } from './context.js';
import { changedAs, headSource, metaFor, multipartCopy, sourceStoreOf, sourceTags, sourceUrl } from './copy-source.js';
import { BUFFERED_MAX, type RequestBody } from './file-body.js';
import { throttleBody } from './bandwidth.js';
import { isDirectBody, pumpReadable } from './body-sink.js';
import { splitParts, type CopyJob, type Part } from './model.js';
import type { PartSource, UploadSession } from './multipart.js';
import { retryReporter, withRetry } from './retry.js';
import type { ObjectInfo, PartInfo } from './store.js';
import type { UploadResult } from './upload.js';
import { md5FromEtag } from './verify.js';

/** Bytes per socket read when a range is read into a budget buffer (as for downloads). */
const READ_BYTES = 1024 * 1024;

/**
 * The read area at the end of a budget buffer, the same Buffer object every time the budget hands
 * that buffer out again: our GET connections are kept per buffer object (http-connection.ts), so a
 * fresh subarray per range would open a new connection for every range.
 */
const readAreas = new WeakMap<Buffer, Buffer>();
function readAreaOf(buf: Buffer): Buffer {
  let area = readAreas.get(buf);
  if (!area) readAreas.set(buf, (area = buf.subarray(buf.length - READ_BYTES)));
  return area;
}

/**
 * An object from another endpoint or account, its bytes streamed through us:
 * below the threshold one GET into one PUT, above it ranged GETs into
 * UploadParts through the one scheduler (resumable like an upload). Every GET
 * is pinned to the source's ETag (If-Match), so an overwritten source fails the
 * copy instead of mixing two versions; memory comes from the run's budget.
 */
export async function streamCopy(ctx: EngineContext, job: CopyJob, session?: UploadSession): Promise<UploadResult> {
  const head = await headSource(ctx, job);
  const meta = metaFor(ctx, job, head, await sourceTags(ctx, job));
  const name = sourceUrl(job);
  if (job.partSize === undefined) {
    await withRetry(
      () =>
        sendRemoteRange(ctx, job, { offset: 0, size: job.source.size, whole: head }, async (body, crc) => {
          // --bwlimit paces what we send; the GETs, read ahead of it one part at a time, follow.
          const paced = throttleBody(ctx.bandwidth, body, ctx.signal);
          await ctx.store.put({ bucket: job.bucket, key: job.key, body: paced, crc32c: crc, metadata: meta.metadata, settings: meta.settings }, ctx.signal);
        }),
      { policy: ctx.retry, signal: ctx.signal, onRetry: retryReporter(ctx, name) },
    ).catch(changedAs(job));
    ctx.emit({ type: 'progress', id: job.id, bytes: job.source.size });
    return { bytesSent: job.source.size };
  }
  return multipartCopy(ctx, job, { meta, checksums: true, parts: remotePartSource(ctx, job, head) }, session);
}

/** Parts of the remote source: each a ranged GET into a budget buffer, then an UploadPart with its CRC32C. */
function remotePartSource(ctx: EngineContext, job: CopyJob, head: ObjectInfo): PartSource<Part> {
  const parts = splitParts(job.source.size, job.partSize!);
  return {
    parts: (done) => parts.filter((p) => !done.has(p.partNumber)),
    send: (part, uploadId, signal) =>
      sendRemoteRange(ctx, job, { offset: part.offset, size: part.size }, async (body, crc) => {
        signal.throwIfAborted();
        const paced = throttleBody(ctx.bandwidth, body, signal);
        const { etag } = await ctx.store.uploadPart({ bucket: job.bucket, key: job.key, uploadId, partNumber: part.partNumber, body: paced, crc32c: crc }, signal);
        return { partNumber: part.partNumber, size: part.size, etag, crc32c: crc };
      }, signal).catch(changedAs(job)), // said here, so the checkpoint drops parts of another version
    // Nothing is published unless the parts' CRC32Cs make the source's stored one (when it has one).
    beforeComplete: (done) => verifyParts(ctx, job, head, done),
  };
}

interface RemoteRange {
  offset: number;
  size: number;
  /** The whole object in one GET (a single copy): checked against its stored CRC32C or MD5 ETag before it is sent. */
  whole?: ObjectInfo | undefined;
}

/**
 * Read a range of the source as a request body with its CRC32C, and hand it to
 * `send`. Up to BUFFERED_MAX it is read once into one budget buffer; larger
 * ones (a big --part-size or --bigfile-threshold) are read twice as a stream,
 * once for the CRC32C the request must carry, once to send: memory stays flat.
 * (Once, when it is the whole object and the source stores its CRC32C.)
 */
async function sendRemoteRange<T>(ctx: EngineContext, job: CopyJob, r: RemoteRange, send: (body: RequestBody, crc: string) => Promise<T>, signal = ctx.signal): Promise<T> {
  const md5 = r.whole && r.whole.etagIsMd5 !== false ? md5FromEtag(r.whole.etag) : undefined;
  if (r.size <= BUFFERED_MAX) {
    // The buffer first, the request second: a response must never wait for memory.
    const buf = await ctx.memory.take(r.size + READ_BYTES);
    try {
      const body = buf.subarray(0, r.size);
      await readRange(ctx, job, r, readAreaOf(buf), signal, body);
      const crc = crc32c(body);
      checkWhole(job, r.whole, crc, md5 ? () => createHash('md5').update(body).digest('hex') : undefined);
      return await send(body, uint32Base64(crc));
    } finally {
      ctx.memory.release(buf);
    }
  }
  // The source's own whole-object CRC32C goes in the header as it is: the destination checks the bytes against it.
  const stored = r.whole?.crc32c;
  if (stored && !stored.includes('-')) return send({ size: r.size, pieces: () => streamRange(ctx, job, r, signal) }, stored);
  let crc = 0;
  const hash = md5 ? createHash('md5') : undefined;
  for await (const piece of streamRange(ctx, job, r, signal)) {
    crc = crc32c(piece, crc);
    hash?.update(piece);
  }
  checkWhole(job, r.whole, crc, hash ? () => hash.digest('hex') : undefined);
  return send({ size: r.size, pieces: () => streamRange(ctx, job, r, signal) }, uint32Base64(crc));
}

function getInput(job: CopyJob, r: RemoteRange) {
  return {
    bucket: job.source.bucket,
    key: job.source.key,
    // A single copy GETs the whole object (an empty one has no range to ask for).
    range: r.whole ? undefined : { start: r.offset, end: r.offset + r.size - 1 },
    ifMatch: job.source.etag,
    versionId: job.source.versionId,
  };
}

/** One GET of the range into `into`, through `readBuf` (our connections read into it); exactly its size. */
async function readRange(ctx: EngineContext, job: CopyJob, r: RemoteRange, readBuf: Buffer, signal: AbortSignal, into: Buffer): Promise<void> {
  const res = await sourceStoreOf(ctx).get({ ...getInput(job, r), buffer: readBuf }, signal);
  let filled = 0;
  const sink = (view: Buffer) => {
    if (view.length > into.length - filled) throw new TransferError(`${sourceUrl(job)}: the server sent more bytes than the range asked for`);
    filled += view.copy(into, filled);
  };
  if (isDirectBody(res.body)) await res.body.drainInto(sink);
  else await pumpReadable(res.body, readBuf, sink);
  if (filled !== into.length) throw new TruncatedBodyError(`${sourceUrl(job)}: connection ended early`);
}

/** The range as a stream of pieces (node:http's own buffers): for ranges too large to hold. */
async function* streamRange(ctx: EngineContext, job: CopyJob, r: RemoteRange, signal: AbortSignal): AsyncGenerator<Buffer> {
  const res = await sourceStoreOf(ctx).get(getInput(job, r), signal);
  let got = 0;
  for await (const piece of res.body as AsyncIterable<Buffer>) {
    got += piece.length;
    if (got > r.size) throw new TransferError(`${sourceUrl(job)}: the server sent more bytes than the range asked for`);
    yield piece;
  }
  if (got !== r.size) throw new TruncatedBodyError(`${sourceUrl(job)}: connection ended early`);
}

const mismatch = (job: CopyJob, what: string) =>
  new VerificationError(`${sourceUrl(job)}: the bytes read do not match the source's ${what}; nothing was written to ${formatS3(job.bucket, job.key)}, rerun to copy it again`);

/** A single copy's bytes against the source's stored whole-object CRC32C, else its MD5 ETag. */
function checkWhole(job: CopyJob, whole: ObjectInfo | undefined, crc: number, md5: (() => string) | undefined): void {
  if (!whole) return;
  const stored = whole.crc32c;
  if (stored && !stored.includes('-')) {
    if (uint32Base64(crc) !== stored) throw mismatch(job, `CRC32C (${stored})`);
    return;
  }
  const want = whole.etagIsMd5 === false ? undefined : md5FromEtag(whole.etag);
  if (want && md5 && md5() !== want) throw mismatch(job, 'MD5 (ETag)');
}

/**
 * Before completing: the parts' CRC32Cs (ours, or the server's for parts sent
 * before a resume) against the source's stored checksum, when it has one we
 * can rebuild: whole-object always, composite when its parts are ours in size.
 */
async function verifyParts(ctx: EngineContext, job: CopyJob, head: ObjectInfo, done: ReadonlyMap<number, PartInfo>): Promise<void> {
  const stored = head.crc32c;
  const parts = [...done.values()].sort((a, b) => a.partNumber - b.partNumber);
  if (!stored || parts.some((p) => !p.crc32c)) return;
  const composite = /-(\d+)$/.exec(stored);
  if (!composite) {
    const whole = parts.reduce((crc, p) => crc32cCombine(crc, base64Uint32(p.crc32c!), p.size), 0);
    if (uint32Base64(whole) !== stored) throw mismatch(job, `CRC32C (${stored})`);
    return;
  }
  if (Number(composite[1]) !== parts.length) return;
  const theirPart = parts.length > 1 ? await sourceStoreOf(ctx).partSize(job.source.bucket, job.source.key, 1, ctx.signal, job.source.versionId) : job.source.size;
  if (theirPart !== job.partSize && parts.length > 1) return;
  if (compositeCrc32c(parts.map((p) => p.crc32c!)) !== stored) throw mismatch(job, `CRC32C (${stored})`);
}
