import { UsageError } from '../errors.js';
import { formatSize } from '../size.js';
import type { ObjectMeta } from './store.js';

export const MiB = 1024 * 1024;
/** S3's limits for multipart uploads. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;

/**
 * Part size for a file of `size` bytes. An explicit size is checked against
 * S3's limits; the default grows (in whole MiB) so a file never needs more
 * than 10,000 parts.
 */
export function choosePartSize(size: number, requested: number | undefined, defaultSize: number): number {
  if (requested !== undefined) {
    if (requested < MIN_PART_SIZE) {
      throw new UsageError(`--part-size ${formatSize(requested)} is below S3's minimum of 5 MiB: use 5MiB or more`);
    }
    if (requested > MAX_PART_SIZE) {
      throw new UsageError(`--part-size ${formatSize(requested)} is above S3's maximum of 5 GiB`);
    }
    if (Math.ceil(size / requested) > MAX_PARTS) {
      const needed = Math.ceil(size / MAX_PARTS / MiB) * MiB;
      throw new UsageError(
        `--part-size ${formatSize(requested)} would need more than ${MAX_PARTS} parts for ${formatSize(size)}: use at least ${formatSize(needed)} or leave it to auto`,
      );
    }
    return requested;
  }
  const minForCount = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.min(MAX_PART_SIZE, Math.max(defaultSize, MIN_PART_SIZE, minForCount));
}

export interface Part {
  partNumber: number;
  offset: number;
  size: number;
}

/** Split `size` bytes into parts of `partSize` (the last one shorter). An empty file is one empty part. */
export function splitParts(size: number, partSize: number): Part[] {
  const parts: Part[] = [];
  for (let offset = 0, n = 1; offset < size || n === 1; offset += partSize, n++) {
    parts.push({ partNumber: n, offset, size: Math.min(partSize, size - offset) });
    if (size === 0) break;
  }
  return parts;
}

// The transfer model: what the plan hands the engine, one job per file.

export interface UploadJob {
  id: number;
  path: string;
  size: number;
  mtimeMs: number;
  bucket: string;
  key: string;
  /** Multipart when set; single PUT otherwise. */
  partSize?: number | undefined;
}

/** One object's bytes, in order, to standard output (`cp s3://b/key -`); never a checkpoint. */
export interface StdoutJob {
  id: number;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  lastModifiedMs: number;
  versionId?: string | undefined;
}

/** An object to a file: the same object, written where the user said. */
export interface DownloadJob extends StdoutJob {
  mtimeMs?: number | undefined;
  path: string;
  /** The destination directory the user named: nothing is written outside it, no link below it is followed. */
  root: string;
  /** Parallel ranged GETs of this size when set; one GET otherwise. */
  partSize?: number | undefined;
  /** Progress is kept (and resumable) in chunks of this size within each range. */
  chunkSize: number;
}

/**
 * An object to another key. On one endpoint and account the server copies it (no bytes pass
 * through s3xfer); from another (`sourceEndpoint`), its bytes stream through: ranged GETs there,
 * PUT or UploadPart here.
 */
export interface CopyJob {
  id: number;
  source: { bucket: string; key: string; size: number; etag: string; lastModifiedMs: number; versionId?: string | undefined };
  bucket: string;
  key: string;
  /** Multipart (UploadPartCopy or GET + UploadPart of ranges) when set; one request otherwise. */
  partSize?: number | undefined;
  /** Set when the source is on another endpoint or account: the copy streams through the client. */
  sourceEndpoint?: string | undefined;
  /** --metadata-directive REPLACE: these instead of the source's metadata and headers. */
  replace?: ObjectMeta | undefined;
}

export type PlanItem =
  | { action: 'upload'; job: Omit<UploadJob, 'id'>; reason: string }
  | {
      action: 'download';
      job: Omit<DownloadJob, 'id'>;
      reason: string;
      /** Told the mtime the file was given once it is in place, or undefined if it never was (the mtime cache). */
      settle?: ((mtimeMs: number | undefined) => void) | undefined;
    }
  | { action: 'copy'; job: Omit<CopyJob, 'id'>; reason: string }
  | { action: 'stdin'; bucket: string; key: string }
  | { action: 'stdout'; job: Omit<StdoutJob, 'id'> }
  | { action: 'skip'; source: string; destination: string; reason: string }
  | { action: 'refuse'; source: string; destination: string; message: string }
  | { action: 'warning'; message: string };

/**
 * What to do, as a stream: a tree is walked and listed while its first files are already
 * moving, and the walk runs only as far ahead as the engine pulls (flat memory).
 */
export interface Plan {
  items: AsyncIterable<PlanItem>;
  /** Called once the run is over (true: every item was pulled and settled): what the plan keeps is saved. */
  finish?: ((complete: boolean) => Promise<void>) | undefined;
}

/** The same plan, a warning first. */
export function withWarning(plan: Plan, message: string): Plan {
  const rest = plan.items;
  return {
    ...plan,
    items: (async function* () {
      yield { action: 'warning' as const, message };
      yield* rest;
    })(),
  };
}

/** A plan that is known at once (a single file). */
export function planOf(...items: PlanItem[]): Plan {
  return {
    items: (async function* () {
      yield* items;
    })(),
  };
}

/** The `mtime` metadata s3xfer records on uploads and restores on downloads. */
/** Seconds since the epoch with a fraction, as rclone writes `mtime`. */
export function encodeMtime(mtimeMs: number): string {
  return (mtimeMs / 1000).toFixed(3);
}

export function decodeMtime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}
