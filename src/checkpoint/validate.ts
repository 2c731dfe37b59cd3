import { z } from 'zod';
import { CHECKPOINT_VERSION, contentChecksum, type Checkpoint, type ParseResult, type Salvage } from './schema.js';

/** The checkpoint layout, checked field by field when a file is read back (types in schema.ts). */
const part = z.object({
  partNumber: z.number().int().min(1).max(10_000),
  size: z.number().int().min(0),
  etag: z.string(),
  crc32c: z.string(),
});

/** What `s3xfer resume ID` needs to rerun a transfer without the original command line. */
export const resumeOptions = z.object({
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

export const checkpointSchema = z.discriminatedUnion('kind', [uploadCheckpointSchema, downloadCheckpointSchema, copyCheckpointSchema]);

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

