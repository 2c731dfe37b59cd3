import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { checkpointSchema, copyCheckpointSchema, downloadCheckpointSchema, resumeOptions, uploadCheckpointSchema } from './validate.js';

/**
 * Bump when the layout changes; a newer file is refused, never misread.
 * 2: an upload checkpoint may hold only the intent (no upload ID yet).
 */
export const CHECKPOINT_VERSION = 2;

/*
 * The layout itself (zod schemas) and parseCheckpoint live in validate.ts, loaded only when a
 * checkpoint file is read: zod costs ~20 ms of start-up, and a fresh transfer reads none.
 */

export type UploadCheckpoint = z.infer<typeof uploadCheckpointSchema>;
export type DownloadCheckpoint = z.infer<typeof downloadCheckpointSchema>;
export type CopyCheckpoint = z.infer<typeof copyCheckpointSchema>;
/** Checkpoints of a multipart upload on the server: an upload from a file, or a server-side copy. */
export type MultipartCheckpoint = UploadCheckpoint | CopyCheckpoint;
export type Checkpoint = z.infer<typeof checkpointSchema>;
export type CheckpointBody = Checkpoint;
export type ResumeOptions = z.infer<typeof resumeOptions>;

/** SHA-256 of the content without its own checksum field: detects torn and hand-edited files. */
export function contentChecksum(body: object): string {
  const { checksum: _ignored, ...rest } = body as { checksum?: unknown };
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

export type ParseResult<T> =
  | { ok: true; checkpoint: T }
  | { ok: false; problem: 'corrupt' | 'newer-version'; reason: string; salvage?: Salvage };

/** From a corrupt checkpoint, what may still name a server-side upload to abort or a temp file to remove. */
export interface Salvage {
  upload?: { bucket: string; key: string; uploadId: string };
  tempPath?: string;
}

export function serializeCheckpoint(body: CheckpointBody): string {
  return `${JSON.stringify({ ...body, checksum: contentChecksum(body) }, null, 1)}\n`;
}
