/**
 * `-u/--update` decisions: pure functions, table-tested. Times compare in whole
 * seconds, S3's LastModified resolution.
 */
export interface Decision {
  copy: boolean;
  reason: string;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Within one second the times cannot tell which side is newer (S3 keeps whole
 * seconds): a file rewritten in the second it was last copied in has the same
 * time. Then a different size says it changed; the same size is taken as the same.
 */
function sameSecondButResized(a: { size?: number | undefined }, b: { size?: number | undefined }): boolean {
  return a.size !== undefined && b.size !== undefined && a.size !== b.size;
}

/**
 * Upload when the object is missing or the file's mtime is newer than the
 * object's LastModified. LastModified, not the recorded `mtime` metadata: the
 * listing gives it, so a single file and a tree decide alike and a tree needs
 * no request per object.
 */
export function decideUpload(
  file: { mtimeMs: number; size?: number | undefined },
  object: { lastModifiedMs: number; size?: number | undefined } | undefined,
): Decision {
  if (!object) return { copy: true, reason: 'missing at destination' };
  const [f, o] = [seconds(file.mtimeMs), seconds(object.lastModifiedMs)];
  if (f > o) return { copy: true, reason: 'source is newer' };
  if (f === o && sameSecondButResized(file, object)) return { copy: true, reason: 'same second, other size' };
  return { copy: false, reason: 'destination is up to date' };
}

/**
 * Download when the file is missing or the object is newer. The object's time
 * is its `mtime` metadata when known (what s3xfer set the file to last time),
 * else LastModified. `needsMetadata` says the listing alone cannot decide:
 * LastModified is newer than the file, but the recorded mtime may not be.
 */
export function decideDownload(
  object: { lastModifiedMs: number; mtimeMs?: number | undefined; size?: number | undefined },
  file: { mtimeMs: number; size?: number | undefined } | undefined,
): Decision & { needsMetadata?: boolean } {
  if (!file) return { copy: true, reason: 'missing at destination' };
  const resized = sameSecondButResized(object, file);
  if (seconds(object.lastModifiedMs) < seconds(file.mtimeMs) || (seconds(object.lastModifiedMs) === seconds(file.mtimeMs) && !resized)) {
    return { copy: false, reason: 'destination is up to date' };
  }
  if (object.mtimeMs === undefined) return { copy: true, reason: 'source is newer', needsMetadata: true };
  const [o, f] = [seconds(object.mtimeMs), seconds(file.mtimeMs)];
  if (o > f) return { copy: true, reason: 'source is newer' };
  if (o === f && resized) return { copy: true, reason: 'same second, other size' };
  return { copy: false, reason: 'destination is up to date' };
}

/** A finished earlier run left this object: same size, and not older than the file (LastModified, as for -u). */
export function decideCompleted(file: { size: number; mtimeMs: number }, object: { size: number; lastModifiedMs: number }): Decision {
  return object.size === file.size && seconds(object.lastModifiedMs) >= seconds(file.mtimeMs)
    ? { copy: false, reason: 'already copied (same size, not older)' }
    : { copy: true, reason: 'copy' };
}

/**
 * A download an earlier run finished: same size, and the file's mtime is the
 * object's (s3xfer sets it so). `needsMetadata` as for decideDownload.
 */
export function decideDownloadCompleted(
  object: { size: number; lastModifiedMs: number; mtimeMs?: number | undefined },
  file: { size: number; mtimeMs: number } | undefined,
): Decision & { needsMetadata?: boolean } {
  if (!file || file.size !== object.size) return { copy: true, reason: 'copy' };
  const done = { copy: false, reason: 'already copied (same size and mtime)' };
  if (object.mtimeMs !== undefined) return seconds(object.mtimeMs) === seconds(file.mtimeMs) ? done : { copy: true, reason: 'copy' };
  return seconds(object.lastModifiedMs) === seconds(file.mtimeMs) ? done : { copy: true, reason: 'copy', needsMetadata: true };
}
