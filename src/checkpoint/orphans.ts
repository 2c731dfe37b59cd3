import type { ObjectStore, UploadInfo } from '../engine/store.js';
import type { MultipartCheckpoint } from './schema.js';

/**
 * Clocks of client and server may differ: S3 accepts signatures up to 15 minutes
 * off, so an upload initiated that long "before" or "after" the intent may be ours.
 */
export const CLOCK_SKEW_MS = 15 * 60_000;
/** CreateMultipartUpload is sent right after the intent is saved; its retries take at most a few minutes. */
const CREATE_WINDOW_MS = 5 * 60_000;

/**
 * Uploads a run created for this checkpoint's key after recording its intent,
 * but was killed before it could record their ID: no checkpoint knows them.
 * Only those initiated close to the intent (an upload of the same key started
 * later, by someone else, is not ours), and none that `held` (upload IDs other
 * checkpoints still need) names.
 */
export function orphansOf(cp: MultipartCheckpoint, uploads: readonly UploadInfo[], held: ReadonlySet<string> = new Set()): UploadInfo[] {
  if (cp.uploadId !== undefined || cp.intentAt === undefined) return [];
  const intent = Date.parse(cp.intentAt);
  const [from, to] = [intent - CLOCK_SKEW_MS, intent + CLOCK_SKEW_MS + CREATE_WINDOW_MS];
  return uploads.filter((u) => u.key === cp.destination.key && u.initiatedMs >= from && u.initiatedMs <= to && !held.has(u.uploadId));
}

/** List the key's incomplete uploads and pick this checkpoint's orphans. */
export async function findOrphans(store: ObjectStore, cp: MultipartCheckpoint, held: ReadonlySet<string>, signal: AbortSignal): Promise<UploadInfo[]> {
  if (cp.uploadId !== undefined || cp.intentAt === undefined) return [];
  return orphansOf(cp, await store.listUploads(cp.destination.bucket, signal, cp.destination.key), held);
}

/** Upload IDs that checkpoints in a directory still need. */
export function heldUploads(checkpoints: readonly { checkpoint?: { kind: string; uploadId?: string | undefined } | undefined }[]): Set<string> {
  const ids = new Set<string>();
  for (const e of checkpoints) if (e.checkpoint?.kind !== 'download' && e.checkpoint?.uploadId) ids.add(e.checkpoint.uploadId);
  return ids;
}
