import { crc32c } from '@node-rs/crc32';
import { throttleBody } from './bandwidth.js';
import { TransferError } from '../errors.js';
import { uint32Base64 } from './checksum.js';
import type { EngineContext } from './context.js';
import type { BufferBudget } from './memory.js';
import { MAX_PARTS } from './model.js';
import { uploadMultipart, type PartSource } from './multipart.js';
import { retryReporter, withRetry } from './retry.js';
import type { ObjectSettings } from './store.js';

/** A part read from the stream: its bytes stay in one budget buffer until the part is settled. */
interface BufferedPart {
  partNumber: number;
  buf: Buffer;
  size: number;
}

export interface StreamTarget {
  id: number;
  bucket: string;
  key: string;
  metadata: Record<string, string>;
  settings?: ObjectSettings | undefined;
  partSize: number;
}

/**
 * Standard input (length unknown) to an object, through the same engine as
 * files: parts are read in order into budget buffers, at most `parallel` in
 * flight, each with its CRC32C and our retries (from its buffer: a stream cannot
 * be read again). Less than one part in all is one PUT. Nothing to resume: a
 * failed or interrupted upload is aborted.
 */
export async function uploadStream(ctx: EngineContext, target: StreamTarget, stream: AsyncIterable<Buffer>): Promise<{ size: number }> {
  const parts = readParts(stream, target.partSize, ctx.memory)[Symbol.asyncIterator]();
  const first = await parts.next();
  const second = first.done ? undefined : await parts.next().catch(async (err: unknown) => {
    ctx.memory.release(first.value.buf);
    throw err;
  });
  if (first.done || second?.done) return putWhole(ctx, target, first.done ? undefined : first.value);
  const pulled = [first.value, second!.value];
  let size = 0;
  const source: PartSource<BufferedPart> = {
    parts: () => chain(pulled, parts, ctx.memory),
    send: async (part, uploadId, signal) => {
      const body = part.buf.subarray(0, part.size);
      const crc = uint32Base64(crc32c(body));
      const paced = throttleBody(ctx.bandwidth, body, signal);
      const { etag } = await ctx.store.uploadPart({ bucket: target.bucket, key: target.key, uploadId, partNumber: part.partNumber, body: paced, crc32c: crc }, signal);
      size += part.size;
      return { partNumber: part.partNumber, size: part.size, etag, crc32c: crc };
    },
    settle: (part) => ctx.memory.release(part.buf),
  };
  await uploadMultipart(ctx, { ...target, name: '-' }, source);
  return { size };
}

async function putWhole(ctx: EngineContext, target: StreamTarget, only: BufferedPart | undefined): Promise<{ size: number }> {
  const body = only ? only.buf.subarray(0, only.size) : Buffer.alloc(0);
  try {
    const crc = uint32Base64(crc32c(body));
    const paced = throttleBody(ctx.bandwidth, body, ctx.signal);
    await withRetry(() => ctx.store.put({ bucket: target.bucket, key: target.key, body: paced, crc32c: crc, metadata: target.metadata, settings: target.settings }, ctx.signal), {
      policy: ctx.retry,
      signal: ctx.signal,
      onRetry: retryReporter(ctx, '-'),
    });
  } finally {
    if (only) ctx.memory.release(only.buf);
  }
  ctx.emit({ type: 'progress', id: target.id, bytes: body.length });
  return { size: body.length };
}

/** The parts already read, then the rest of the stream; what is never handed out is released. */
async function* chain(first: BufferedPart[], rest: AsyncIterator<BufferedPart>, memory: BufferBudget): AsyncGenerator<BufferedPart> {
  let handed = 0;
  try {
    while (handed < first.length) yield first[handed++]!;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    for (const part of first.slice(handed)) memory.release(part.buf);
    await rest.return?.();
  }
}

/** Fill part-sized budget buffers from the stream, in order; the last part may be shorter. */
async function* readParts(stream: AsyncIterable<Buffer>, partSize: number, memory: BufferBudget): AsyncGenerator<BufferedPart> {
  let part: BufferedPart | undefined;
  let partNumber = 1;
  try {
    for await (const data of stream) {
      for (let at = 0; at < data.length; ) {
        part ??= await newPart(memory, partSize, partNumber++);
        const n = data.copy(part.buf, part.size, at);
        part.size += n;
        at += n;
        if (part.size === partSize) {
          // Handed over: from here the consumer releases it (runParts' settle).
          const full = part;
          part = undefined;
          yield full;
        }
      }
    }
    if (part) {
      const last = part;
      part = undefined;
      yield last;
    }
  } finally {
    if (part) memory.release(part.buf);
  }
}

async function newPart(memory: BufferBudget, partSize: number, partNumber: number): Promise<BufferedPart> {
  if (partNumber > MAX_PARTS) {
    throw new TransferError(`standard input is larger than ${MAX_PARTS} parts of ${partSize} bytes: pass a larger --part-size`);
  }
  return { partNumber, buf: await memory.take(partSize), size: 0 };
}
