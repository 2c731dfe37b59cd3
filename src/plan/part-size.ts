import { UsageError } from '../errors.js';
import { formatSize } from '../size.js';

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
