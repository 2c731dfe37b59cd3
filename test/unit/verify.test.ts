// Verifying a download from the CRC32Cs kept on the way: ranges combine into the whole object's,
// chunks into the uploader's parts; the file is read again only when a part ends inside a chunk.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { afterAll, describe, expect, it } from 'vitest';
import { VerificationError } from '../../src/errors.js';
import { compositeCrc32c, uint32Base64 } from '../../src/engine/checksum.js';
import { partCrcsFromChunks, verifyDownload, type Computed } from '../../src/engine/verify.js';
import type { ObjectStore } from '../../src/engine/store.js';

const MiB = 1024 * 1024;
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 's3xfer-verify-'));
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

/** What a download of `bytes` in ranges of `partSize`, chunks of `chunkSize`, keeps. */
function computedFor(bytes: Buffer, partSize: number, chunkSize: number): Computed {
  const rangeCrcs: number[] = [];
  const chunkCrcs: string[][] = [];
  for (let start = 0; start < bytes.length; start += partSize) {
    const range = bytes.subarray(start, Math.min(bytes.length, start + partSize));
    const running: string[] = [];
    for (let end = chunkSize; end < range.length + chunkSize; end += chunkSize) running.push(uint32Base64(crc32c(range.subarray(0, Math.min(end, range.length)))));
    chunkCrcs.push(running);
    rangeCrcs.push(crc32c(range));
  }
  return { rangeCrcs, chunkCrcs, chunkSize, partSize, ranged: true };
}

const partsOf = (bytes: Buffer, part: number) =>
  Array.from({ length: Math.ceil(bytes.length / part) }, (_, i) => crc32c(bytes.subarray(i * part, (i + 1) * part)));

describe('partCrcsFromChunks', () => {
  const bytes = randomBytes(23 * MiB + 100);
  it.each([
    ['5 MiB parts, 8 MiB ranges, 1 MiB chunks', 5 * MiB, 8 * MiB, MiB],
    ['16 MiB parts, 8 MiB ranges, 3 MiB chunks (parts end on range ends)', 16 * MiB, 8 * MiB, 3 * MiB],
    ['one part for the whole object', bytes.length, 8 * MiB, MiB],
    ['parts smaller than ranges and chunks of 512 KiB', 1.5 * MiB, 8 * MiB, 0.5 * MiB],
  ])('%s: the uploader part CRC32Cs, without the bytes', (_what, part, range, chunk) => {
    expect(partCrcsFromChunks(computedFor(bytes, range, chunk), bytes.length, part)).toEqual(partsOf(bytes, part));
  });

  it.each([
    ['a part ending inside a chunk', 5 * MiB + 3, 8 * MiB, MiB],
    ['6 MiB parts over 3 MiB chunks of 8 MiB ranges (12 MiB is mid-chunk)', 6 * MiB, 8 * MiB, 3 * MiB],
  ])('%s: undefined (read the file again)', (_what, part, range, chunk) => {
    expect(partCrcsFromChunks(computedFor(bytes, range, chunk), bytes.length, part)).toBeUndefined();
  });

  it('missing chunks: undefined', () => {
    const c = computedFor(bytes, 8 * MiB, MiB);
    c.chunkCrcs = c.chunkCrcs!.map((r, i) => (i === 1 ? r.slice(0, -1) : r));
    expect(partCrcsFromChunks(c, bytes.length, 5 * MiB)).toBeUndefined();
    expect(partCrcsFromChunks({ ...c, chunkCrcs: undefined }, bytes.length, 5 * MiB)).toBeUndefined();
  });
});

describe('verifyDownload from what the download kept', () => {
  const bytes = randomBytes(21 * MiB + 5);
  const object = { bucket: 'b', key: 'k', size: bytes.length, etag: '"m-5"' };
  const never = new AbortController().signal;
  const storeWith = (crc32cValue: string, uploaderPart: number) =>
    ({ head: async () => ({ key: 'k', size: bytes.length, lastModifiedMs: 0, etag: '"m-5"', crc32c: crc32cValue }), partSize: async () => uploaderPart }) as unknown as ObjectStore;
  /** A file handle that counts reads: the file is `bytes`. */
  async function file(content = bytes) {
    const p = path.join(dir, `f-${Math.random()}`);
    await fs.writeFile(p, content);
    const fh = await fs.open(p, 'r');
    let reads = 0;
    const read = fh.read.bind(fh) as typeof fh.read;
    Object.assign(fh, { read: (...args: Parameters<typeof fh.read>) => (reads++, read(...args)) });
    return { fh, reads: () => reads };
  }
  const composite = (part: number) => compositeCrc32c(partsOf(bytes, part).map(uint32Base64));

  it('a composite CRC32C over 5 MiB parts, downloaded in 8 MiB ranges: checked without reading the file', async () => {
    const f = await file();
    await verifyDownload(f.fh, object, computedFor(bytes, 8 * MiB, MiB), storeWith(composite(5 * MiB), 5 * MiB), never);
    expect(f.reads()).toBe(0);
    await f.fh.close();
  });

  it('a chunk that was not what the server holds: refused, still without reading', async () => {
    const f = await file();
    const bad = Buffer.from(bytes);
    bad[12 * MiB + 7]! ^= 1;
    await expect(verifyDownload(f.fh, object, computedFor(bad, 8 * MiB, MiB), storeWith(composite(5 * MiB), 5 * MiB), never)).rejects.toThrow(VerificationError);
    expect(f.reads()).toBe(0);
    await f.fh.close();
  });

  it('parts that end inside our chunks: the file is read once, and checked', async () => {
    const part = 5 * MiB + 1;
    const good = await file();
    await verifyDownload(good.fh, object, computedFor(bytes, 8 * MiB, MiB), storeWith(composite(part), part), never);
    expect(good.reads()).toBeGreaterThan(0);
    const bad = Buffer.from(bytes);
    bad[3]! ^= 1;
    const damaged = await file(bad);
    await expect(verifyDownload(damaged.fh, object, computedFor(bytes, 8 * MiB, MiB), storeWith(composite(part), part), never)).rejects.toThrow(VerificationError);
    await Promise.all([good.fh.close(), damaged.fh.close()]);
  });

  it('a whole-object CRC32C, downloaded in ranges: the ranges combine, no read', async () => {
    const f = await file();
    const plain = { ...object, etag: `"${'a'.repeat(32)}"` };
    const store = { head: async () => ({ key: 'k', size: bytes.length, lastModifiedMs: 0, etag: plain.etag, crc32c: uint32Base64(crc32c(bytes)) }) } as unknown as ObjectStore;
    await verifyDownload(f.fh, plain, computedFor(bytes, 8 * MiB, MiB), store, never);
    expect(f.reads()).toBe(0);
    const wrong = { head: async () => ({ key: 'k', size: bytes.length, lastModifiedMs: 0, etag: plain.etag, crc32c: uint32Base64(crc32c(bytes) ^ 1) }) } as unknown as ObjectStore;
    await expect(verifyDownload(f.fh, plain, computedFor(bytes, 8 * MiB, MiB), wrong, never)).rejects.toThrow(VerificationError);
    await f.fh.close();
  });
});
