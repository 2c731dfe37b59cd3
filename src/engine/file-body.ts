import type { FileHandle } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { uint32Base64 } from './checksum.js';
import { readFull } from './local-file.js';
import type { BufferBudget } from './memory.js';

/**
 * A request body read from a file. Up to BUFFERED_MAX it is read once into one
 * buffer from the run's budget (the fast, common case: default parts are 8 MiB).
 * Larger bodies (a big --part-size, a single PUT under a high
 * --bigfile-threshold) would hold hundreds of MiB: they are read twice through
 * one 1 MiB buffer instead, first for the CRC32C the headers must carry, then
 * for the bytes themselves. Memory stays flat whatever the flags.
 */
export const BUFFERED_MAX = 16 * 1024 * 1024;
const PIECE = 1024 * 1024;

/** Bytes produced piece by piece; a piece may be reused once the consumer asks for the next one. */
export interface StreamedBody {
  size: number;
  pieces(): AsyncIterable<Buffer>;
}
export type RequestBody = Buffer | StreamedBody;

export const bodySize = (body: RequestBody) => (Buffer.isBuffer(body) ? body.length : body.size);

interface FileRange {
  fh: FileHandle;
  /** For messages when the file shrinks under us. */
  name: string;
  offset: number;
  size: number;
}

/** Read `range` as a body (with its CRC32C) and hand it to `send`; buffers go back to the budget after. */
export async function sendFileRange<T>(memory: BufferBudget, range: FileRange, send: (body: RequestBody, crc32c: string) => Promise<T>): Promise<T> {
  if (range.size <= BUFFERED_MAX) {
    const buf = await memory.take(range.size);
    try {
      const body = await readFull(range.fh, buf, range.offset, range.name);
      return await send(body, uint32Base64(crc32c(body)));
    } finally {
      memory.release(buf);
    }
  }
  let crc = 0;
  for await (const piece of readPieces(memory, range)) crc = crc32c(piece, crc);
  return send({ size: range.size, pieces: () => readPieces(memory, range) }, uint32Base64(crc));
}

async function* readPieces(memory: BufferBudget, range: FileRange): AsyncGenerator<Buffer> {
  const buf = await memory.take(Math.min(PIECE, range.size));
  try {
    for (let done = 0; done < range.size; ) {
      const n = Math.min(buf.length, range.size - done);
      yield await readFull(range.fh, buf.subarray(0, n), range.offset + done, range.name);
      done += n;
    }
  } finally {
    memory.release(buf);
  }
}
