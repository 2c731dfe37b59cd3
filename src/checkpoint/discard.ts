import fs from 'node:fs/promises';
import { isNoSuchUpload } from '../engine/s3-errors.js';
import type { ObjectStore } from '../engine/store.js';
import { fsPath } from '../local-path.js';
import { formatS3 } from '../location.js';
import { isOurTempFor } from '../temp-name.js';
import type { CheckpointEntry } from './inspect.js';
import { CheckpointLock } from './lock.js';
import { findOrphans } from './orphans.js';
import type { CheckpointStore } from './store.js';

/**
 * Remove a checkpoint and what it holds — the server-side upload (or, for an
 * intent, the uploads a killed run never recorded), or the download's temp file
 * — under its lock, so no run is working on it meanwhile. Returns what was done,
 * for the user. `store` is connected as the checkpoint recorded.
 */
export async function discardCheckpoint(
  checkpoints: CheckpointStore,
  entry: CheckpointEntry,
  deps: { store: () => Promise<ObjectStore>; held: ReadonlySet<string>; signal: AbortSignal },
): Promise<string> {
  const lock = await CheckpointLock.acquire(checkpoints.lockPathFor(entry.id), `checkpoint ${entry.id}`);
  try {
    const what = await releaseHeld(entry, deps);
    await checkpoints.removeFile(entry.file);
    await checkpoints.removeStaleTemps(entry.id, entry.kind);
    return what;
  } finally {
    await lock.release();
  }
}

async function releaseHeld(entry: CheckpointEntry, deps: { store: () => Promise<ObjectStore>; held: ReadonlySet<string>; signal: AbortSignal }): Promise<string> {
  const cp = entry.checkpoint;
  if (cp?.kind === 'download') {
    // Only a file that is provably our temp file for that destination: a checkpoint is not a delete order.
    if (!isOurTempFor(cp.destination.tempPath, cp.destination.path)) {
      return `; its temp file ${cp.destination.tempPath} was left alone (not an s3xfer temp file beside ${cp.destination.path})`;
    }
    await fs.rm(fsPath(cp.destination.tempPath), { force: true });
    return `, deleted temp file ${cp.destination.tempPath}`;
  }
  // Unreadable, it may still name its upload: abort that rather than orphan its parts.
  const multipart = cp?.kind === 'upload' || cp?.kind === 'copy' ? cp : undefined;
  const upload = multipart ? multipart.destination : entry.salvage?.upload;
  if (!upload) return '';
  const store = await deps.store();
  const ids = multipart
    ? multipart.uploadId
      ? [multipart.uploadId]
      : (await findOrphans(store, multipart, deps.held, deps.signal)).map((u) => u.uploadId)
    : [entry.salvage!.upload!.uploadId];
  if (ids.length === 0) return ', no upload had been started';
  let what = '';
  for (const id of ids) {
    try {
      await store.abortMultipartUpload(upload.bucket, upload.key, id, deps.signal);
      what += `, aborted upload ${id} of ${formatS3(upload.bucket, upload.key)}`;
    } catch (err) {
      if (!isNoSuchUpload(err)) throw err;
      what += `, its upload ${id} was already gone`;
    }
  }
  return what;
}
