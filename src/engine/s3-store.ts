import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectsCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  CopyObjectCommand,
  GetObjectTaggingCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { decodeMtime } from './model.js';
import { SdkDataPath } from './sdk-data-path.js';
import { isNotFound } from './s3-errors.js';
import { copySourceKeyFields, customerKeyFields, settingsFields } from './object-wire.js';
import {
  etagIsMd5,
  type CopySource,
  type CustomerKey,
  type DataPath,
  type GetInput,
  type GetOutput,
  type ObjectInfo,
  type ObjectMeta,
  type ObjectSettings,
  type ObjectStore,
  type PartInfo,
  type PartInput,
  type PutInput,
  type UploadInfo,
} from './store.js';

/** What every request for an object's bytes of this run carries. */
export interface StoreAccess {
  /** --sse-c: the key of every object read or written (uploads, downloads, both sides of a copy). */
  customerKey?: CustomerKey | undefined;
}

/**
 * The S3 adapter of the object-store port: control calls (list, head, the
 * multipart protocol) through the SDK; the bytes (GET, PUT, UploadPart) through
 * a data path — our own signed node:http one (s3-http.ts), or the SDK's where
 * ours does not reach (sdk-data-path.ts).
 */
export class S3Store implements ObjectStore {
  private readonly data: DataPath;

  private readonly key: CustomerKey | undefined;

  constructor(
    private readonly client: S3Client,
    data?: DataPath,
    access: StoreAccess = {},
  ) {
    this.data = data ?? new SdkDataPath(client);
    this.key = access.customerKey;
  }

  put(input: PutInput, signal: AbortSignal): Promise<{ etag: string }> {
    return this.data.put({ ...input, customerKey: this.key }, signal);
  }

  uploadPart(input: PartInput, signal: AbortSignal): Promise<{ etag: string }> {
    return this.data.uploadPart({ ...input, customerKey: this.key }, signal);
  }

  get(input: GetInput, signal: AbortSignal): Promise<GetOutput> {
    return this.data.get({ ...input, customerKey: this.key }, signal);
  }

  list(bucket: string, prefix: string, signal: AbortSignal): AsyncIterable<ObjectInfo> {
    return pages<ObjectInfo, string>(async (token) => {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
      const items = (out.Contents ?? []).flatMap((o) =>
        o.Key === undefined ? [] : [{ key: o.Key, size: o.Size ?? 0, lastModifiedMs: o.LastModified?.getTime() ?? 0, etag: o.ETag ?? '' }],
      );
      return { items, next: out.IsTruncated ? out.NextContinuationToken : undefined };
    });
  }


  async head(bucket: string, key: string, signal: AbortSignal, versionId?: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, ChecksumMode: 'ENABLED', ...customerKeyFields(this.key) }), {
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
        etagIsMd5: etagIsMd5(out.ServerSideEncryption, out.SSECustomerAlgorithm),
        metadata: out.Metadata ?? {},
        headers: {
          contentType: out.ContentType,
          cacheControl: out.CacheControl,
          contentDisposition: out.ContentDisposition,
          contentEncoding: out.ContentEncoding,
          contentLanguage: out.ContentLanguage,
          expires: out.Expires,
        },
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async tags(bucket: string, key: string, signal: AbortSignal, versionId?: string): Promise<Record<string, string>> {
    const out = await this.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId }), { abortSignal: signal });
    return Object.fromEntries((out.TagSet ?? []).flatMap((t) => (t.Key !== undefined ? [[t.Key, t.Value ?? '']] : [])));
  }

  async partSize(bucket: string, key: string, partNumber: number, signal: AbortSignal, versionId?: string): Promise<number> {
    const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, PartNumber: partNumber, VersionId: versionId, ...customerKeyFields(this.key) }), {
      abortSignal: signal,
    });
    return out.ContentLength ?? 0;
  }

  async createMultipartUpload(
    input: { bucket: string; key: string; metadata: Record<string, string>; settings?: ObjectSettings | undefined; checksums?: boolean | undefined },
    signal: AbortSignal,
  ): Promise<string> {
    const out = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: input.bucket,
        Key: input.key,
        Metadata: input.metadata,
        ...settingsFields(input.settings),
        ...customerKeyFields(this.key),
        ChecksumAlgorithm: input.checksums === false ? undefined : 'CRC32C',
      }),
      { abortSignal: signal },
    );
    if (!out.UploadId) throw new Error(`server returned no upload ID for ${input.key}`);
    return out.UploadId;
  }

  async copyObject(
    input: { source: CopySource; bucket: string; key: string; settings?: ObjectSettings | undefined; replace?: ObjectMeta | undefined },
    signal: AbortSignal,
  ): Promise<{ etag: string }> {
    const { replace } = input;
    const out = await this.client.send(
      new CopyObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        CopySource: copySourceOf(input.source),
        CopySourceIfMatch: input.source.etag,
        // COPY: headers and metadata come from the source; REPLACE: the command line's. Class, ACL and
        // encryption as asked; tags are the source's (the server's default TaggingDirective COPY).
        MetadataDirective: replace ? 'REPLACE' : 'COPY',
        ...(replace ? { Metadata: replace.metadata } : {}),
        ...settingsFields({ headers: replace?.settings.headers, storageClass: input.settings?.storageClass, acl: input.settings?.acl, sse: input.settings?.sse }),
        ...customerKeyFields(this.key),
        ...copySourceKeyFields(this.key),
      }),
      { abortSignal: signal },
    );
    return { etag: out.CopyObjectResult?.ETag ?? '' };
  }

  async uploadPartCopy(
    input: { source: CopySource; bucket: string; key: string; uploadId: string; partNumber: number; range: { start: number; end: number } },
    signal: AbortSignal,
  ): Promise<{ etag: string }> {
    const out = await this.client.send(
      new UploadPartCopyCommand({
        Bucket: input.bucket,
        Key: input.key,
        UploadId: input.uploadId,
        PartNumber: input.partNumber,
        CopySource: copySourceOf(input.source),
        CopySourceIfMatch: input.source.etag,
        CopySourceRange: `bytes=${input.range.start}-${input.range.end}`,
        ...customerKeyFields(this.key),
        ...copySourceKeyFields(this.key),
      }),
      { abortSignal: signal },
    );
    return { etag: out.CopyPartResult?.ETag ?? '' };
  }

  listParts(bucket: string, key: string, uploadId: string, signal: AbortSignal): Promise<PartInfo[]> {
    return collect(
      pages<PartInfo, string>(async (marker) => {
        const out = await this.client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker, ...customerKeyFields(this.key) }), { abortSignal: signal });
        const items = (out.Parts ?? []).flatMap((p) =>
          p.PartNumber === undefined ? [] : [{ partNumber: p.PartNumber, size: p.Size ?? 0, etag: p.ETag ?? '', crc32c: p.ChecksumCRC32C }],
        );
        return { items, next: out.IsTruncated ? out.NextPartNumberMarker : undefined };
      }),
    );
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
        // MinIO (and S3, for uploads with checksums) wants the SSE-C key to complete.
        ...customerKeyFields(this.key),
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

  async deleteObjects(bucket: string, keys: readonly string[], signal: AbortSignal): Promise<{ key: string; message: string }[]> {
    const out = await this.client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
      { abortSignal: signal },
    );
    return (out.Errors ?? []).map((e) => ({ key: e.Key ?? '', message: `${e.Code ?? 'error'}: ${e.Message ?? 'not deleted'}` }));
  }

  listUploads(bucket: string, signal: AbortSignal, key?: string): Promise<UploadInfo[]> {
    return collect(
      pages<UploadInfo, [string, string | undefined]>(async (marker) => {
        const [KeyMarker, UploadIdMarker] = marker ?? [undefined, undefined];
        const out = await this.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, KeyMarker, UploadIdMarker }), { abortSignal: signal });
        const items = (out.Uploads ?? []).flatMap((u) => (u.Key && u.UploadId ? [{ key: u.Key, uploadId: u.UploadId, initiatedMs: u.Initiated?.getTime() ?? 0 }] : []));
        return { items, next: out.IsTruncated && out.NextKeyMarker ? [out.NextKeyMarker, out.NextUploadIdMarker] : undefined };
      }),
    );
  }


}

/** Every item of a paginated listing, page after page, until the server says there is no more. */
async function* pages<T, M>(fetch: (marker: M | undefined) => Promise<{ items: T[]; next: M | undefined }>): AsyncGenerator<T> {
  let marker: M | undefined;
  do {
    const { items, next } = await fetch(marker);
    yield* items;
    marker = next;
  } while (marker !== undefined);
}

/** All of an async iterable (Array.fromAsync needs Node 22). */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** `bucket/key` (each key segment escaped) and the version: how CopySource names an object. */
function copySourceOf(source: CopySource): string {
  const key = source.key.split('/').map(encodeURIComponent).join('/');
  return `${source.bucket}/${key}${source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : ''}`;
}
