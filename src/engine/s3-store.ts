import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { bodySize, type RequestBody } from './file-body.js';
import { checkContentRange, type S3DataPath } from './s3-http.js';
import type { GetInput, GetOutput, ObjectInfo, ObjectStore, PartInfo, PartInput, PutInput, UploadInfo } from './store.js';

/** Seconds since the epoch with a fraction, as rclone writes `mtime`. */
export function encodeMtime(mtimeMs: number): string {
  return (mtimeMs / 1000).toFixed(3);
}

export function decodeMtime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}

/**
 * A Buffer body is hashed with SHA-256 for SigV4; a stream goes as
 * UNSIGNED-PAYLOAD. We send a CRC32C the server checks, so a stream it is.
 */
function streamOf(body: RequestBody): Readable {
  if (Buffer.isBuffer(body)) return Readable.from([body], { objectMode: false });
  // The SDK may hold a piece past the next read: copy, since ours reuse one buffer.
  return Readable.from(
    (async function* () {
      for await (const piece of body.pieces()) yield Buffer.from(piece);
    })(),
    { objectMode: false },
  );
}

/** SSE-KMS and SSE-C objects have 32-hex ETags that are not their MD5. */
const etagIsMd5 = (out: { ServerSideEncryption?: string | undefined; SSECustomerAlgorithm?: string | undefined }) =>
  !String(out.ServerSideEncryption ?? '').startsWith('aws:kms') && out.SSECustomerAlgorithm === undefined;

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
};

export class S3Store implements ObjectStore {
  /** Without a data path every call goes through the SDK (as the fault-path mocks expect). */
  constructor(
    private readonly client: S3Client,
    private readonly dataPath?: S3DataPath,
    /** For standard input: lib-storage sends buffered parts, so the SDK's own retries are safe there. */
    private readonly streamClient: S3Client = client,
  ) {}

  async *list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        { abortSignal: signal },
      );
      for (const o of out.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, size: o.Size ?? 0, lastModifiedMs: o.LastModified?.getTime() ?? 0, etag: o.ETag ?? '' };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async head(bucket: string, key: string, signal: AbortSignal): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), {
        abortSignal: signal,
      });
      return {
        key,
        size: out.ContentLength ?? 0,
        lastModifiedMs: out.LastModified?.getTime() ?? 0,
        etag: out.ETag ?? '',
        mtimeMs: decodeMtime(out.Metadata?.mtime),
        versionId: out.VersionId,
        crc32c: out.ChecksumCRC32C,
        etagIsMd5: etagIsMd5(out),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async partSize(bucket: string, key: string, partNumber: number, signal: AbortSignal): Promise<number> {
    const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, PartNumber: partNumber }), {
      abortSignal: signal,
    });
    return out.ContentLength ?? 0;
  }

  async put(input: PutInput, signal: AbortSignal): Promise<{ etag: string }> {
    if (this.dataPath) return this.dataPath.put(input, signal);
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        Body: streamOf(input.body),
        ContentLength: bodySize(input.body),
        ChecksumCRC32C: input.crc32c,
        Metadata: input.metadata,
      }),
      { abortSignal: signal },
    );
    return { etag: out.ETag ?? '' };
  }

  async putStream(
    input: { bucket: string; key: string; body: Readable; metadata: Record<string, string>; partSize: number; parallel: number },
    signal: AbortSignal,
    onProgress: (bytes: number) => void,
  ): Promise<{ etag: string; size: number }> {
    const upload = new Upload({
      client: this.streamClient,
      params: { Bucket: input.bucket, Key: input.key, Body: input.body, Metadata: input.metadata, ChecksumAlgorithm: 'CRC32C' },
      partSize: input.partSize,
      queueSize: input.parallel,
      leavePartsOnError: false,
    });
    let seen = 0;
    upload.on('httpUploadProgress', (p) => {
      const loaded = p.loaded ?? 0;
      if (loaded > seen) {
        onProgress(loaded - seen);
        seen = loaded;
      }
    });
    const onAbort = () => void upload.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await upload.done();
      return { etag: out.ETag ?? '', size: seen };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async createMultipartUpload(
    input: { bucket: string; key: string; metadata: Record<string, string> },
    signal: AbortSignal,
  ): Promise<string> {
    const out = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: input.bucket,
        Key: input.key,
        Metadata: input.metadata,
        ChecksumAlgorithm: 'CRC32C',
      }),
      { abortSignal: signal },
    );
    if (!out.UploadId) throw new Error(`server returned no upload ID for ${input.key}`);
    return out.UploadId;
  }

  async uploadPart(input: PartInput, signal: AbortSignal): Promise<{ etag: string }> {
    if (this.dataPath) return this.dataPath.uploadPart(input, signal);
    const out = await this.client.send(
      new UploadPartCommand({
        Bucket: input.bucket,
        Key: input.key,
        UploadId: input.uploadId,
        PartNumber: input.partNumber,
        Body: streamOf(input.body),
        ContentLength: bodySize(input.body),
        ChecksumCRC32C: input.crc32c,
      }),
      { abortSignal: signal },
    );
    return { etag: out.ETag ?? '' };
  }

  async listParts(bucket: string, key: string, uploadId: string, signal: AbortSignal): Promise<PartInfo[]> {
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    do {
      const out = await this.client.send(
        new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
        { abortSignal: signal },
      );
      for (const p of out.Parts ?? []) {
        if (p.PartNumber === undefined) continue;
        parts.push({ partNumber: p.PartNumber, size: p.Size ?? 0, etag: p.ETag ?? '', crc32c: p.ChecksumCRC32C });
      }
      marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
    } while (marker);
    return parts;
  }

  async completeMultipartUpload(
    input: { bucket: string; key: string; uploadId: string; parts: readonly PartInfo[] },
    signal: AbortSignal,
  ): Promise<{ etag: string; crc32c?: string | undefined }> {
    const out = await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: input.bucket,
        Key: input.key,
        UploadId: input.uploadId,
        MultipartUpload: {
          Parts: input.parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag, ChecksumCRC32C: p.crc32c })),
        },
      }),
      { abortSignal: signal },
    );
    return { etag: out.ETag ?? '', crc32c: out.ChecksumCRC32C };
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), {
      abortSignal: signal,
    });
  }

  async listUploads(bucket: string, signal: AbortSignal): Promise<UploadInfo[]> {
    const uploads: UploadInfo[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const out = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        { abortSignal: signal },
      );
      for (const u of out.Uploads ?? []) {
        if (u.Key && u.UploadId) uploads.push({ key: u.Key, uploadId: u.UploadId, initiatedMs: u.Initiated?.getTime() ?? 0 });
      }
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      uploadIdMarker = out.IsTruncated ? out.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return uploads;
  }

  async get(input: GetInput, signal: AbortSignal): Promise<GetOutput> {
    if (this.dataPath) return this.dataPath.get(input, signal);
    const out = await this.client.send(
      new GetObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        Range: input.range ? `bytes=${input.range.start}-${input.range.end}` : undefined,
        IfMatch: input.ifMatch,
        VersionId: input.versionId,
        ChecksumMode: input.checksumMode ? 'ENABLED' : undefined,
      }),
      { abortSignal: signal },
    );
    if (!(out.Body instanceof Readable)) throw new Error(`no body for ${input.key}`);
    if (input.range) {
      try {
        checkContentRange(input, out.$metadata.httpStatusCode, out.ContentRange);
      } catch (err) {
        out.Body.destroy();
        throw err;
      }
    }
    return {
      body: out.Body,
      contentLength: out.ContentLength ?? 0,
      etag: out.ETag ?? '',
      metadata: out.Metadata ?? {},
      lastModifiedMs: out.LastModified?.getTime() ?? 0,
      checksumCRC32C: out.ChecksumCRC32C,
      etagIsMd5: etagIsMd5(out),
    };
  }
}
