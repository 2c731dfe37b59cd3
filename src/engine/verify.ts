import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { VerificationError } from '../errors.js';
import { formatS3 } from '../location.js';
import { Crc32c, base64Uint32, compositeCrc32c, crc32cCombine, crc32cTail, uint32Base64 } from './checksum.js';
import type { ObjectStore } from './store.js';

const BLOCK = 8 * 1024 * 1024;


/** A plain MD5 ETag (single-part, not SSE-KMS/C): 32 hex digits in quotes. */
export function md5FromEtag(etag: string): string | undefined {
  const m = /^"?([0-9a-f]{32})"?$/i.exec(etag);
  return m ? m[1]!.toLowerCase() : undefined;
}

export interface ObjectRef {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** The version downloaded (--version-id, or the one the plan saw on a versioned bucket). */
  versionId?: string | undefined;
}

/** What the download computed on the way in, so the file need not be read again. */
export interface Computed {
  /** Hex MD5 of the whole object (single GETs of plain-MD5 objects). */
  md5?: string | undefined;
  /** CRC32C of each of our ranges, in order, and the range size. */
  rangeCrcs: number[];
  partSize: number;
  /** Each range's running CRC32C at the end of each of its whole chunks of `chunkSize` bytes. */
  chunkCrcs?: readonly (readonly string[])[] | undefined;
  chunkSize?: number | undefined;
  /** The stored checksum a full GET returned, if any. */
  storedFromGet?: string | undefined;
  /** False when the GET said the object is SSE-KMS / SSE-C encrypted. */
  etagIsMd5?: boolean | undefined;
  ranged: boolean;
}

const fail = (url: string, what: string) =>
  new VerificationError(`${url}: downloaded bytes do not match the object's ${what}; rerun to fetch it again`);

/**
 * Check a downloaded file against what the server knows of the object: the MD5
 * of a single-part ETag, and the stored CRC32C (whole-object, or composite over
 * the uploader's parts). Uses what was computed during the download (CRC32Cs
 * combine: ranges into the whole, chunks into the uploader's parts); reads the
 * file again only for an MD5 no single GET computed, or when a part of the
 * uploader's ends inside one of our chunks.
 */
export async function verifyDownload(fh: FileHandle, object: ObjectRef, computed: Computed, store: ObjectStore, signal: AbortSignal): Promise<void> {
  const url = formatS3(object.bucket, object.key);
  let md5 = computed.etagIsMd5 === false ? undefined : md5FromEtag(object.etag);
  if (!computed.ranged) {
    if (md5 && computed.md5 !== undefined && computed.md5 !== md5) throw fail(url, 'MD5 (ETag)');
    const stored = computed.storedFromGet;
    if (stored && !stored.includes('-') && uint32Base64(computed.rangeCrcs[0] ?? 0) !== stored) throw fail(url, `CRC32C (${stored})`);
    // No MD5 on the way (a resumed or retried GET) and no stored CRC32C: read the file once.
    if (md5 && computed.md5 === undefined && !stored) return rereadAndCheck(fh, object, { md5, stored: undefined, uploaderPart: undefined }, url);
    // A composite checksum needs the uploader's part boundaries: handled below, as for ranges.
    if (!stored?.includes('-')) return;
    md5 = undefined;
  }
  const head = await store.head(object.bucket, object.key, signal, object.versionId);
  if (head?.etagIsMd5 === false) md5 = undefined;
  const stored = head?.etag === object.etag ? head.crc32c : undefined;
  const composite = stored ? /-(\d+)$/.exec(stored) : null;
  if (composite) {
    const n = Number(composite[1]);
    const uploaderPart = n > 1 ? await store.partSize(object.bucket, object.key, 1, signal, object.versionId) : object.size;
    const sameParts = uploaderPart === computed.partSize || (n === 1 && computed.rangeCrcs.length === 1);
    const parts = sameParts ? computed.rangeCrcs : partCrcsFromChunks(computed, object.size, uploaderPart);
    if (!parts) return rereadAndCheck(fh, object, { md5, stored, uploaderPart }, url);
    if (compositeCrc32c(parts.map(uint32Base64)) !== stored) throw fail(url, `CRC32C (${stored})`);
    return;
  }
  // A whole-object CRC32C is checked on its own, as for a single GET: the MD5 would cost a re-read.
  if (stored) {
    const whole = computed.rangeCrcs.reduce((crc, range, i) => crc32cCombine(crc, range, Math.min(computed.partSize, object.size - i * computed.partSize)), 0);
    if (uint32Base64(whole) !== stored) throw fail(url, `CRC32C (${stored})`);
    return;
  }
  if (md5) return rereadAndCheck(fh, object, { md5, stored: undefined, uploaderPart: undefined }, url);
}

/**
 * The CRC32C of each of the uploader's parts, from the running CRC32Cs our
 * ranges kept at each whole chunk: a chunk's own CRC comes from two running
 * ones, parts combine from their chunks. Undefined when a part ends inside a
 * chunk (or the chunks are not all there): the file must be read again.
 */
export function partCrcsFromChunks(c: Computed, size: number, uploaderPart: number): number[] | undefined {
  const { chunkCrcs, chunkSize, partSize } = c;
  if (!chunkCrcs || !chunkSize || uploaderPart <= 0 || chunkCrcs.length !== Math.ceil(size / partSize)) return undefined;
  const parts: number[] = [];
  let crc = 0;
  let inPart = 0;
  for (const [r, running] of chunkCrcs.entries()) {
    const rangeSize = Math.min(partSize, size - r * partSize);
    if (running.length !== Math.ceil(rangeSize / chunkSize)) return undefined;
    let before = 0;
    for (const [i, value] of running.entries()) {
      const length = Math.min(chunkSize, rangeSize - i * chunkSize);
      const after = base64Uint32(value);
      if (inPart + length > uploaderPart) return undefined;
      crc = crc32cCombine(crc, crc32cTail(after, before, length), length);
      before = after;
      inPart += length;
      if (inPart === uploaderPart) {
        parts.push(crc);
        crc = 0;
        inPart = 0;
      }
    }
  }
  if (inPart > 0) parts.push(crc);
  return parts;
}

/** Read the file once, computing what the server's checksum needs. */
async function rereadAndCheck(
  fh: FileHandle,
  object: ObjectRef,
  want: { md5: string | undefined; stored: string | undefined; uploaderPart: number | undefined },
  url: string,
): Promise<void> {
  const hash = want.md5 ? createHash('md5') : undefined;
  const whole = new Crc32c();
  const partCrcs: string[] = [];
  let part = new Crc32c();
  let inPart = 0;
  const buf = Buffer.allocUnsafe(Math.min(BLOCK, Math.max(object.size, 1)));
  for (let pos = 0; pos < object.size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, object.size - pos), pos);
    if (bytesRead === 0) break;
    let chunk = buf.subarray(0, bytesRead);
    hash?.update(chunk);
    whole.update(chunk);
    // Split at the uploader's part boundaries for a composite checksum.
    while (want.uploaderPart && chunk.length > 0) {
      const take = Math.min(chunk.length, want.uploaderPart - inPart);
      part.update(chunk.subarray(0, take));
      inPart += take;
      chunk = chunk.subarray(take);
      if (inPart === want.uploaderPart) {
        partCrcs.push(part.base64());
        part = new Crc32c();
        inPart = 0;
      }
    }
    pos += bytesRead;
  }
  if (inPart > 0) partCrcs.push(part.base64());
  if (want.md5 && hash!.digest('hex') !== want.md5) throw fail(url, 'MD5 (ETag)');
  if (want.stored) {
    const local = want.uploaderPart ? compositeCrc32c(partCrcs) : whole.base64();
    if (local !== want.stored) throw fail(url, `CRC32C (${want.stored})`);
  }
}
