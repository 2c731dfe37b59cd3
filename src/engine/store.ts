import type { Readable } from 'node:stream';
import type { RequestBody } from './file-body.js';

/** What a listing or HEAD tells about an object. */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModifiedMs: number;
  etag: string;
  /** File mtime recorded by the uploader (`mtime` metadata), when known. */
  mtimeMs?: number | undefined;
  versionId?: string | undefined;
  /** The object's stored CRC32C ("…" whole object, "…-N" composite of N parts), from HEAD only. */
  crc32c?: string | undefined;
  /** From HEAD only: false for SSE-KMS / SSE-C objects, whose ETag is not their MD5. */
  etagIsMd5?: boolean | undefined;
  /** From HEAD only: the user metadata (`x-amz-meta-*`) and the headers a copy carries over. */
  metadata?: Record<string, string> | undefined;
  headers?: ObjectHeaders | undefined;
}

/** The object headers a client sets and a copy keeps (aws-cli's --metadata-directive COPY). */
export interface ObjectHeaders {
  contentType?: string | undefined;
  cacheControl?: string | undefined;
  contentDisposition?: string | undefined;
  contentEncoding?: string | undefined;
  contentLanguage?: string | undefined;
  expires?: Date | undefined;
}

/** Server-side encryption with a key the server manages (SSE-S3) or one in its KMS (SSE-KMS). */
export type ServerSideEncryption = { type: 'AES256' } | { type: 'aws:kms'; kmsKeyId?: string | undefined };

/**
 * What a writer sets on an object besides its bytes and user metadata: headers, storage class, ACL,
 * tags, encryption. One type for uploads and copies (a copy keeps the source's headers unless told).
 */
export interface ObjectSettings {
  headers?: ObjectHeaders | undefined;
  storageClass?: string | undefined;
  /** A canned ACL (private, public-read, …). */
  acl?: string | undefined;
  /** URL-encoded `k=v&k2=v2`, as the x-amz-tagging header takes it. */
  tagging?: string | undefined;
  sse?: ServerSideEncryption | undefined;
}

/**
 * An SSE-C key (256-bit, AES256): sent with every request that reads or writes the object's bytes
 * (PUT, UploadPart, CompleteMultipartUpload, GET, HEAD); never stored, only its MD5.
 */
export interface CustomerKey {
  /** Base64 of the 32 key bytes. */
  key: string;
  /** Base64 MD5 of the key bytes: how S3 (and a checkpoint) names the key. */
  keyMd5: string;
}

/** What a copy writes on the new object besides its bytes: user metadata and settings (headers, tags, …). */
export interface ObjectMeta {
  metadata: Record<string, string>;
  settings: ObjectSettings;
}

/** An object to copy from, pinned to the ETag it had when planned: a copy of another version fails (412). */
export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string | undefined;
  etag: string;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  etag: string;
  crc32c?: string | undefined;
}

export interface UploadInfo {
  key: string;
  uploadId: string;
  initiatedMs: number;
}

export interface PutInput {
  bucket: string;
  key: string;
  body: RequestBody;
  /** Base64 CRC32C of body: the server rejects the request if the bytes differ. */
  crc32c: string;
  metadata: Record<string, string>;
  settings?: ObjectSettings | undefined;
  customerKey?: CustomerKey | undefined;
}

export interface PartInput {
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
  body: RequestBody;
  crc32c: string;
  customerKey?: CustomerKey | undefined;
}

export interface GetInput {
  bucket: string;
  key: string;
  /** Inclusive byte range. */
  range?: { start: number; end: number } | undefined;
  /** Pin the object: the server answers 412 if it changed. */
  ifMatch?: string | undefined;
  versionId?: string | undefined;
  /** Ask for the stored checksum (only a full GET gets one back). */
  checksumMode?: boolean | undefined;
  /**
   * The caller's buffer (at least 1 MiB, held for the whole GET): a data path may read the body
   * straight into it and return a body with `drainInto` (body-sink.ts), instead of a stream.
   */
  buffer?: Buffer | undefined;
  customerKey?: CustomerKey | undefined;
}

export interface GetOutput {
  body: Readable;
  contentLength: number;
  etag: string;
  metadata: Record<string, string>;
  lastModifiedMs: number;
  checksumCRC32C?: string | undefined;
  /** False for SSE-KMS / SSE-C objects, whose ETag is not the MD5 of their bytes. */
  etagIsMd5?: boolean | undefined;
}

/**
 * The object-store port: everything the engine asks of S3. The S3 adapter
 * implements it; tests may wrap it to count or break calls.
 */
/** SSE-KMS and SSE-C objects have 32-hex ETags that are not their MD5: from the response's SSE headers. */
export function etagIsMd5(serverSideEncryption: string | undefined, customerAlgorithm: string | undefined): boolean {
  return !String(serverSideEncryption ?? '').startsWith('aws:kms') && customerAlgorithm === undefined;
}

/** Where the bytes go: our own signed HTTP path or the SDK's. */
export interface DataPath {
  put(input: PutInput, signal: AbortSignal): Promise<{ etag: string }>;
  uploadPart(input: PartInput, signal: AbortSignal): Promise<{ etag: string }>;
  get(input: GetInput, signal: AbortSignal): Promise<GetOutput>;
}

export interface ObjectStore {
  list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<ObjectInfo>;
  /** With `versionId`, that version of the object (versioned buckets). */
  head(bucket: string, key: string, signal: AbortSignal, versionId?: string): Promise<ObjectInfo | undefined>;
  /** The object's tags (GetObjectTagging). */
  /** The object's tags; of that version when one is given (a copy of an older version carries its own). */
  tags(bucket: string, key: string, signal: AbortSignal, versionId?: string): Promise<Record<string, string>>;
  /** Size of part `partNumber` of a multipart object: the part size its uploader used. */
  partSize(bucket: string, key: string, partNumber: number, signal: AbortSignal, versionId?: string): Promise<number>;
  put(input: PutInput, signal: AbortSignal): Promise<{ etag: string }>;
  createMultipartUpload(
    input: {
      bucket: string;
      key: string;
      metadata: Record<string, string>;
      settings?: ObjectSettings | undefined;
      /** Parts carry a CRC32C and the object a composite one (uploads); copies' parts have none. */
      checksums?: boolean | undefined;
    },
    signal: AbortSignal,
  ): Promise<string>;
  /**
   * A server-side copy of a whole object (up to 5 GiB): metadata and headers copied with it, or with
   * `replace` those instead (aws-cli's --metadata-directive REPLACE). Tags are the source's either way.
   */
  copyObject(
    input: { source: CopySource; bucket: string; key: string; settings?: ObjectSettings | undefined; replace?: ObjectMeta | undefined },
    signal: AbortSignal,
  ): Promise<{ etag: string }>;
  /** A server-side copy of a byte range of `source` as a part: no bytes pass through the client. */
  uploadPartCopy(
    input: { source: CopySource; bucket: string; key: string; uploadId: string; partNumber: number; range: { start: number; end: number } },
    signal: AbortSignal,
  ): Promise<{ etag: string }>;
  uploadPart(input: PartInput, signal: AbortSignal): Promise<{ etag: string }>;
  listParts(bucket: string, key: string, uploadId: string, signal: AbortSignal): Promise<PartInfo[]>;
  completeMultipartUpload(
    input: { bucket: string; key: string; uploadId: string; parts: readonly PartInfo[] },
    signal: AbortSignal,
  ): Promise<{ etag: string; crc32c?: string | undefined }>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string, signal: AbortSignal): Promise<void>;
  /**
   * Incomplete multipart uploads in the bucket; with `key`, only that key's (MinIO matches Prefix only as
   * a whole key, so callers wanting a prefix list everything and filter).
   */
  listUploads(bucket: string, signal: AbortSignal, key?: string): Promise<UploadInfo[]>;
  get(input: GetInput, signal: AbortSignal): Promise<GetOutput>;
  /** Delete up to 1,000 keys in one request; returns those the server could not delete, with why. */
  deleteObjects(bucket: string, keys: readonly string[], signal: AbortSignal): Promise<{ key: string; message: string }[]>;
}
