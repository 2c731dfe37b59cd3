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
 * Upload when the object is missing or the file's mtime is newer than the
 * object's LastModified. LastModified, not the recorded `mtime` metadata: the
 * listing gives it, so a single file and a tree decide alike and a tree needs
 * no request per object.
 */
export function decideUpload(file: { mtimeMs: number }, object: { lastModifiedMs: number } | undefined): Decision {
  if (!object) return { copy: true, reason: 'missing at destination' };
  return seconds(file.mtimeMs) > seconds(object.lastModifiedMs)
    ? { copy: true, reason: 'source is newer' }
    : { copy: false, reason: 'destination is up to date' };
}

/**
 * Download when the file is missing or the object is newer. The object's time
 * is its `mtime` metadata when known (what s3xfer set the file to last time),
 * else LastModified. `needsMetadata` says the listing alone cannot decide:
 * LastModified is newer than the file, but the recorded mtime may not be.
 */
export function decideDownload(
  object: { lastModifiedMs: number; mtimeMs?: number | undefined },
  file: { mtimeMs: number } | undefined,
): Decision & { needsMetadata?: boolean } {
  if (!file) return { copy: true, reason: 'missing at destination' };
  if (seconds(object.lastModifiedMs) <= seconds(file.mtimeMs)) {
    return { copy: false, reason: 'destination is up to date' };
  }
  if (object.mtimeMs === undefined) return { copy: true, reason: 'source is newer', needsMetadata: true };
  return seconds(object.mtimeMs) > seconds(file.mtimeMs)
    ? { copy: true, reason: 'source is newer' }
    : { copy: false, reason: 'destination is up to date' };
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
