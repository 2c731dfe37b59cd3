import type { ObjectStore, UploadInfo } from '../engine/store.js';
import type { UploadCheckpoint } from './schema.js';

/**
 * Clocks of client and server may differ: S3 accepts signatures up to 15 minutes
 * off, so an upload initiated up to that long "before" the intent may be ours.
 */
export const CLOCK_SKEW_MS = 15 * 60_000;

/**
 * Uploads a run created for this checkpoint's key after recording its intent,
 * but was killed before it could record their ID: no checkpoint knows them.
 * `held` are upload IDs other checkpoints still need.
 */
export function orphansOf(cp: UploadCheckpoint, uploads: readonly UploadInfo[], held: ReadonlySet<string> = new Set()): UploadInfo[] {
  if (cp.uploadId !== undefined || cp.intentAt === undefined) return [];
  const since = Date.parse(cp.intentAt) - CLOCK_SKEW_MS;
  return uploads.filter((u) => u.key === cp.destination.key && u.initiatedMs >= since && !held.has(u.uploadId));
}

/** List the bucket's incomplete uploads and pick this checkpoint's orphans. */
export async function findOrphans(store: ObjectStore, cp: UploadCheckpoint, signal: AbortSignal): Promise<UploadInfo[]> {
  if (cp.uploadId !== undefined || cp.intentAt === undefined) return [];
  return orphansOf(cp, await store.listUploads(cp.destination.bucket, signal));
}
