import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { VerificationError } from '../errors.js';
import { formatS3 } from '../location.js';
import { Crc32c, compositeCrc32c, uint32Base64 } from './checksum.js';
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
}

/** What the download computed on the way in, so the file need not be read again. */
export interface Computed {
  /** Hex MD5 of the whole object (single GETs of plain-MD5 objects). */
  md5?: string | undefined;
  /** CRC32C of each of our ranges, in order, and the range size. */
  rangeCrcs: number[];
  partSize: number;
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
 * the uploader's parts). Uses what was computed during the download; reads the
 * file again only when the uploader's parts differ from our ranges.
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
  const head = await store.head(object.bucket, object.key, signal);
  if (head?.etagIsMd5 === false) md5 = undefined;
  const stored = head?.etag === object.etag ? head.crc32c : undefined;
  const composite = stored ? /-(\d+)$/.exec(stored) : null;
  if (composite) {
    const n = Number(composite[1]);
    const uploaderPart = n > 1 ? await store.partSize(object.bucket, object.key, 1, signal) : object.size;
    if (uploaderPart === computed.partSize || (n === 1 && computed.rangeCrcs.length === 1)) {
      if (compositeCrc32c(computed.rangeCrcs.map(uint32Base64)) !== stored) throw fail(url, `CRC32C (${stored})`);
      return;
    }
    return rereadAndCheck(fh, object, { md5, stored, uploaderPart }, url);
  }
  if (stored || md5) return rereadAndCheck(fh, object, { md5, stored, uploaderPart: undefined }, url);
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
