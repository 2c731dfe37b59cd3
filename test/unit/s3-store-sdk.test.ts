import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/engine/s3-store.js';
import { encodeKey } from '../../src/engine/s3-http.js';

// The SDK carries the bytes where our own path does not know the endpoint (China, GovCloud, FIPS);
// a server that ignores Range is a fault MinIO cannot be made to show, hence a mock here.
const s3 = mockClient(S3Client);
afterEach(() => s3.reset());
const signal = new AbortController().signal;
const body = () => Object.assign(Readable.from([Buffer.from('0123456789')]), { transformToByteArray: async () => new Uint8Array() });

describe('S3Store over the SDK', () => {
  it('accepts a 206 with the range asked for', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body() as never, ContentRange: 'bytes 10-19/100', ContentLength: 10, $metadata: { httpStatusCode: 206 } });
    const out = await new S3Store(new S3Client({ region: 'us-east-1' })).get({ bucket: 'bkt', key: 'k', range: { start: 10, end: 19 } }, signal);
    expect(out.contentLength).toBe(10);
  });

  it.each([
    ['a 200 (Range ignored)', 200, undefined],
    ['another range', 206, 'bytes 0-9/100'],
  ])('refuses %s', async (_n, status, contentRange) => {
    s3.on(GetObjectCommand).resolves({ Body: body() as never, ContentRange: contentRange, $metadata: { httpStatusCode: status } });
    await expect(new S3Store(new S3Client({ region: 'us-east-1' })).get({ bucket: 'bkt', key: 'k', range: { start: 10, end: 19 } }, signal)).rejects.toThrow(
      /asked s3:\/\/bkt\/k for bytes 10-19, got HTTP \d+ .*ignores Range requests/,
    );
  });
});

describe('object settings and the SSE-C key over the SDK (where our own byte path does not go)', () => {
  it('PutObject gets the settings and the key; UploadPart and GetObject the key', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    s3.on(UploadPartCommand).resolves({ ETag: '"p"' });
    s3.on(GetObjectCommand).resolves({ Body: body() as never, ContentLength: 10, $metadata: { httpStatusCode: 200 } });
    const customerKey = { key: Buffer.alloc(32, 1).toString('base64'), keyMd5: 'bWQ1' };
    const store = new S3Store(new S3Client({ region: 'us-east-1' }), undefined, { customerKey });
    const settings = { headers: { contentType: 'text/html', cacheControl: 'no-cache' }, storageClass: 'STANDARD_IA', acl: 'private', tagging: 'a=1' };
    await store.put({ bucket: 'b', key: 'k', body: Buffer.from('x'), crc32c: 'AAAAAA==', metadata: { m: '1' }, settings }, signal);
    await store.uploadPart({ bucket: 'b', key: 'k', uploadId: 'u', partNumber: 1, body: Buffer.from('x'), crc32c: 'AAAAAA==' }, signal);
    await store.get({ bucket: 'b', key: 'k' }, signal);
    const sse = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: customerKey.key, SSECustomerKeyMD5: 'bWQ1' };
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({
      ContentType: 'text/html',
      CacheControl: 'no-cache',
      StorageClass: 'STANDARD_IA',
      ACL: 'private',
      Tagging: 'a=1',
      Metadata: { m: '1' },
      ...sse,
    });
    expect(s3.commandCalls(UploadPartCommand)[0]!.args[0].input).toMatchObject(sse);
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toMatchObject(sse);
  });
});

describe('encodeKey', () => {
  it.each([
    ['a/b c.txt', 'a/b%20c.txt'],
    ['ünï/cödé', '%C3%BCn%C3%AF/c%C3%B6d%C3%A9'],
    ["x+y=z~!'()*", "x%2By%3Dz~%21%27%28%29%2A"],
    ['100%', '100%25'],
  ])('%s', (key, want) => expect(encodeKey(key)).toBe(want));
});
