import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { bodySize, type RequestBody } from './file-body.js';
import { checkContentRange } from './s3-get.js';
import { customerKeyFields, settingsFields } from './object-wire.js';
import { etagIsMd5, type DataPath, type GetInput, type GetOutput, type PartInput, type PutInput } from './store.js';

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

/**
 * The bytes through the SDK: where our own byte path does not reach (outside
 * the standard AWS partition: the SDK's endpoint rules decide), and for the
 * fault-path unit tests that mock the SDK.
 */
/** The body as the SDK takes it; `done` ends the stream whatever happened, so its buffer goes back to the budget. */
function sdkBody(body: RequestBody): { Body: Readable; ContentLength: number; done: () => void } {
  const stream = streamOf(body);
  return { Body: stream, ContentLength: bodySize(body), done: () => stream.destroy() };
}

export class SdkDataPath implements DataPath {
  constructor(private readonly client: S3Client) {}

  async put(input: PutInput, signal: AbortSignal): Promise<{ etag: string }> {
    const { Body, ContentLength, done } = sdkBody(input.body);
    try {
      const command = new PutObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        Body,
        ContentLength,
        ChecksumCRC32C: input.crc32c,
        Metadata: input.metadata,
        ...settingsFields(input.settings),
        ...customerKeyFields(input.customerKey),
      });
      return { etag: (await this.client.send(command, { abortSignal: signal })).ETag ?? '' };
    } finally {
      done();
    }
  }

  async uploadPart(input: PartInput, signal: AbortSignal): Promise<{ etag: string }> {
    const { Body, ContentLength, done } = sdkBody(input.body);
    try {
      const command = new UploadPartCommand({
        Bucket: input.bucket,
        Key: input.key,
        UploadId: input.uploadId,
        PartNumber: input.partNumber,
        Body,
        ContentLength,
        ChecksumCRC32C: input.crc32c,
        ...customerKeyFields(input.customerKey),
      });
      return { etag: (await this.client.send(command, { abortSignal: signal })).ETag ?? '' };
    } finally {
      done();
    }
  }

  async get(input: GetInput, signal: AbortSignal): Promise<GetOutput> {
    const out = await this.client.send(
      new GetObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        Range: input.range ? `bytes=${input.range.start}-${input.range.end}` : undefined,
        IfMatch: input.ifMatch,
        VersionId: input.versionId,
        ChecksumMode: input.checksumMode ? 'ENABLED' : undefined,
        ...customerKeyFields(input.customerKey),
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
      etagIsMd5: etagIsMd5(out.ServerSideEncryption, out.SSECustomerAlgorithm),
    };
  }
}
