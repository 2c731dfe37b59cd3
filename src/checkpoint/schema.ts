import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Bump when the layout changes; a newer file is refused, never misread.
 * 2: an upload checkpoint may hold only the intent (no upload ID yet).
 */
export const CHECKPOINT_VERSION = 2;

const part = z.object({
  partNumber: z.number().int().min(1).max(10_000),
  size: z.number().int().min(0),
  etag: z.string(),
  crc32c: z.string(),
});

/** What `s3xfer resume ID` needs to rerun a transfer without the original command line. */
const resumeOptions = z.object({
  parallel: z.number().int().min(1),
  retries: z.number().int().min(1),
  profile: z.string().optional(),
  region: z.string().optional(),
  endpointUrl: z.string().optional(),
  addressingStyle: z.enum(['path', 'virtual']).optional(),
  /** A copy from another endpoint or account: how to reach the source. */
  source: z
    .object({ profile: z.string().optional(), region: z.string().optional(), endpointUrl: z.string().optional() })
    .strict()
    .optional(),
  /** A copy with --metadata-directive REPLACE (the headers and metadata it set are in the object record). */
  metadataDirective: z.literal('REPLACE').optional(),
});

const objectRef = z.object({ endpoint: z.string(), bucket: z.string(), key: z.string() });

const base = {
  version: z.union([z.literal(1), z.literal(CHECKPOINT_VERSION)]),
  id: z.string().regex(/^[0-9a-f]{16}$/),
  partSize: z.number().int().min(1),
  partCount: z.number().int().min(1),
  options: resumeOptions,
  /**
   * The options that change the object, by flag name (object-record.ts); an SSE-C key only by its MD5.
   * Absent in checkpoints written before they were recorded.
   */
  object: z.record(z.string(), z.string()).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
};

/** What every multipart checkpoint (upload or server-side copy) records about its upload. */
const multipart = {
  destination: objectRef,
  /**
   * Absent while only the intent is recorded: saved before CreateMultipartUpload
   * is sent, so that no upload can exist on the server that no checkpoint knows.
   */
  uploadId: z.string().min(1).optional(),
  /** When the intent was recorded: uploads of this key initiated since then are ours. */
  intentAt: z.string().optional(),
  parts: z.array(part),
};

/** An object's identity: if any of this changes, what was fetched or copied from it is worthless. */
const objectIdentity = objectRef.extend({
  versionId: z.string().optional(),
  etag: z.string(),
  size: z.number().int().min(0),
  lastModifiedMs: z.number(),
});

export const uploadCheckpointSchema = z.object({
  ...base,
  ...multipart,
  kind: z.literal('upload'),
  source: z.object({
    path: z.string(),
    size: z.number().int().min(0),
    /** Nanoseconds, as a decimal string (beyond Number's precision). */
    mtimeNs: z.string().regex(/^\d+$/),
    ino: z.number().int().min(0),
  }),
});

/** A server-side copy (`.ccp`): parts are UploadPartCopy of the pinned source's ranges. */
export const copyCheckpointSchema = z.object({
  ...base,
  ...multipart,
  kind: z.literal('copy'),
  source: objectIdentity,
  parts: z.array(part.extend({ crc32c: z.string().optional() })),
});

export const downloadCheckpointSchema = z.object({
  ...base,
  kind: z.literal('download'),
  source: objectIdentity,
  destination: z.object({ path: z.string(), tempPath: z.string() }),
  chunkSize: z.number().int().min(1),
  /** Per part: the whole chunks written so far, with the part's running CRC32C after each; parts need not be contiguous. */
  ranges: z.array(
    z.object({
      partNumber: z.number().int().min(1),
      bytesDone: z.number().int().min(0),
      chunkCrcs: z.array(z.string()),
    }),
  ),
});

const checkpointSchema = z.discriminatedUnion('kind', [uploadCheckpointSchema, downloadCheckpointSchema, copyCheckpointSchema]);

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

function salvage(obj: unknown): Salvage {
  const o = obj as { uploadId?: unknown; destination?: { bucket?: unknown; key?: unknown; tempPath?: unknown } };
  const d = o.destination;
  const out: Salvage = {};
  if (typeof o.uploadId === 'string' && typeof d?.bucket === 'string' && typeof d.key === 'string') {
    out.upload = { bucket: d.bucket, key: d.key, uploadId: o.uploadId };
  }
  if (typeof d?.tempPath === 'string') out.tempPath = d.tempPath;
  return out;
}

/** Validate text read from disk: JSON, version, self-checksum, schema — in that order. */
export function parseCheckpoint(text: string): ParseResult<Checkpoint> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'corrupt', reason: 'not valid JSON (torn or truncated)' };
  }
  const obj = raw as { version?: unknown; checksum?: unknown } | null;
  if (!obj || typeof obj !== 'object') return { ok: false, problem: 'corrupt', reason: 'not a checkpoint object' };
  if (typeof obj.version === 'number' && obj.version > CHECKPOINT_VERSION) {
    return { ok: false, problem: 'newer-version', reason: `written by a newer s3xfer (format ${obj.version}; this one reads ${CHECKPOINT_VERSION})` };
  }
  if (obj.checksum !== contentChecksum(obj)) {
    return { ok: false, problem: 'corrupt', reason: 'its checksum does not match its content', salvage: salvage(obj) };
  }
  const { checksum: _c, ...rest } = obj as Record<string, unknown>;
  const parsed = checkpointSchema.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      problem: 'corrupt',
      reason: `invalid field ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`,
      salvage: salvage(obj),
    };
  }
  return { ok: true, checkpoint: parsed.data };
}

export function serializeCheckpoint(body: CheckpointBody): string {
  return `${JSON.stringify({ ...body, checksum: contentChecksum(body) }, null, 1)}\n`;
}
