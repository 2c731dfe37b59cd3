// Checks the test harness itself: the provided S3 server, the recording/fault proxy, the helpers.
import { existsSync } from 'node:fs';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, makeClient, s3Env, tmpdir, e2eContext } from './helpers/cli.js';
import { startProxy, type Proxy } from './helpers/proxy.js';

const { s3, client } = e2eContext();

describe('test harness', () => {
  let proxy: Proxy;
  beforeAll(async () => {
    proxy = await startProxy({ target: s3.endpoint });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('provides a working S3 server', async () => {
    expect(s3.endpoint).toMatch(/^https?:\/\//);
        const bucket = await createBucket(client);
    expect(bucket).toMatch(/^t-[0-9a-f]{16}$/);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/hello.txt', Body: 'hello' }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
    const list = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(list.Contents?.map((o) => [o.Key, o.Size])).toEqual([['dir/hello.txt', 5]]);
  });

  it('proxies and records requests', async () => {
    proxy.clear();
    const client = makeClient({ ...s3, endpoint: proxy.endpoint }, { maxAttempts: 1 });
    const bucket = await createBucket(client);
    const body = Buffer.alloc(300_000, 7);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a b/c.bin', Body: body }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a b/c.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    const list = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a b/' }));
    expect(list.KeyCount).toBe(1);

    // The path is recorded as sent: still percent-encoded.
    const put = proxy.requests.find((r) => r.method === 'PUT' && r.path === `/${bucket}/a%20b/c.bin`);
    expect(put).toMatchObject({ status: 200, requestBytes: body.length });
    const get = proxy.requests.find((r) => r.method === 'GET' && r.path.endsWith('/c.bin'));
    expect(get).toMatchObject({ status: 200, responseBytes: body.length, requestBytes: 0 });
    const listed = proxy.requests.find((r) => r.query['list-type'] === '2');
    expect(listed).toMatchObject({ method: 'GET', status: 200 });
    expect(listed?.path).toMatch(new RegExp(`^/${bucket}/?$`));
    expect(listed?.query.prefix).toBe('a b/');
  });

  it('answers with an injected 503, only as many times as asked', async () => {
    const client = makeClient({ ...s3, endpoint: proxy.endpoint }, { maxAttempts: 1 });
    const bucket = await createBucket(client);
    proxy.clear();
    proxy.setRules([{ match: (r) => r.method === 'PUT', action: { status: 503, times: 1 } }]);
    try {
      const err = await client
        .send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x'.repeat(1000) }))
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(S3ServiceException);
      expect((err as S3ServiceException).$metadata.httpStatusCode).toBe(503);
      expect((err as S3ServiceException).name).toBe('SlowDown');
      expect(proxy.requests[0]).toMatchObject({ method: 'PUT', status: 503, requestBytes: 1000 });

      // `times: 1` is used up: the next PUT goes through.
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'y' }));
      expect(proxy.requests[1]).toMatchObject({ method: 'PUT', status: 200 });
      // HEAD errors have no body; the status alone must come through.
      proxy.setRules([{ match: (r) => r.method === 'HEAD', action: { status: 503 } }]);
      const headErr = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' })).catch((e: unknown) => e);
      expect((headErr as S3ServiceException).$metadata.httpStatusCode).toBe(503);
    } finally {
      proxy.setRules([]);
    }
  });

  it('cuts a download after resetAfterBytes', async () => {
    const client = makeClient({ ...s3, endpoint: proxy.endpoint }, { maxAttempts: 1 });
    const bucket = await createBucket(client);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: Buffer.alloc(1_000_000, 1) }));
    proxy.clear();
    proxy.setRules([{ match: (r) => r.method === 'GET', action: { resetAfterBytes: 100_000, times: 1 } }]);
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'big' }));
      await expect(res.Body!.transformToByteArray()).rejects.toThrow();
      expect(proxy.requests[0]).toMatchObject({ status: 200, responseBytes: 100_000 });
      expect(proxy.requests[0]?.error).toMatch(/reset/);
    } finally {
      proxy.setRules([]);
    }
  });

  it('throttles uploads with bytesPerSecond', async () => {
    const client = makeClient({ ...s3, endpoint: proxy.endpoint }, { maxAttempts: 1 });
    const bucket = await createBucket(client);
    proxy.setRules([{ match: (r) => r.method === 'PUT', action: { bytesPerSecond: 200_000 } }]);
    try {
      const started = Date.now();
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'slow', Body: Buffer.alloc(100_000) }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    } finally {
      proxy.setRules([]);
    }
  });

  it('has env and tmpdir helpers', () => {
    const env = s3Env(s3, proxy.endpoint);
    expect(env).toMatchObject({ AWS_ENDPOINT_URL: proxy.endpoint, AWS_ACCESS_KEY_ID: s3.accessKey });
    expect('AWS_PROFILE' in env && env.AWS_PROFILE === undefined).toBe(true);
    const dir = tmpdir();
    expect(existsSync(dir)).toBe(true);
  });
});
