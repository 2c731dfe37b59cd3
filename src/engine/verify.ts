import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { TransferError } from '../errors.js';
import { formatS3 } from '../location.js';
import { Crc32c, compositeCrc32c } from './checksum.js';
import type { ObjectStore } from './store.js';

const BLOCK = 8 * 1024 * 1024;

/** The bytes fetched are not the object's: keeping them for a resume would only fail again. */
export class VerificationError extends TransferError {}

/** A plain MD5 ETag (single-part, not SSE-KMS/C): 32 hex digits in quotes. */
export function md5FromEtag(etag: string): string | undefined {
  const m = /^"?([0-9a-f]{32})"?$/i.exec(etag);
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * Check a downloaded file against what the server knows of the object: the
 * MD5 in a single-part ETag, and the stored CRC32C (whole-object, or composite
 * over the uploader's parts). Reads the file once; the page cache makes it cheap.
 */
export async function verifyDownload(
  fh: FileHandle,
  object: { bucket: string; key: string; size: number; etag: string },
  store: ObjectStore,
  signal: AbortSignal,
): Promise<void> {
  const url = formatS3(object.bucket, object.key);
  const md5 = md5FromEtag(object.etag);
  const head = await store.head(object.bucket, object.key, signal);
  const stored = head?.etag === object.etag ? head.crc32c : undefined;
  const composite = stored ? /-(\d+)$/.exec(stored) : null;
  const parts = composite ? Number(composite[1]) : 0;
  const uploaderPartSize = !composite ? undefined : parts > 1 ? await store.partSize(object.bucket, object.key, 1, signal) : Math.max(object.size, 1);
  if (!md5 && !stored) return;

  const hash = md5 ? createHash('md5') : undefined;
  const whole = new Crc32c();
  const partCrcs: string[] = [];
  let part = new Crc32c();
  let inPart = 0;
  const buf = Buffer.allocUnsafe(BLOCK);
  for (let pos = 0; pos < object.size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(BLOCK, object.size - pos), pos);
    if (bytesRead === 0) break;
    let chunk = buf.subarray(0, bytesRead);
    hash?.update(chunk);
    whole.update(chunk);
    // Split at the uploader's part boundaries for a composite checksum.
    while (uploaderPartSize && chunk.length > 0) {
      const take = Math.min(chunk.length, uploaderPartSize - inPart);
      part.update(chunk.subarray(0, take));
      inPart += take;
      chunk = chunk.subarray(take);
      if (inPart === uploaderPartSize) {
        partCrcs.push(part.base64());
        part = new Crc32c();
        inPart = 0;
      }
    }
    pos += bytesRead;
  }
  if (inPart > 0) partCrcs.push(part.base64());

  if (md5 && hash!.digest('hex') !== md5) {
    throw new VerificationError(`${url}: downloaded bytes do not match the object's MD5 (ETag); rerun to fetch it again`);
  }
  if (stored) {
    const local = composite ? compositeCrc32c(partCrcs) : whole.base64();
    if (local !== stored) {
      throw new VerificationError(`${url}: downloaded bytes do not match the object's CRC32C (${stored}); rerun to fetch it again`);
    }
  }
}
