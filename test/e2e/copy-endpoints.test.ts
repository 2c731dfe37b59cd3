// S3 → S3 between two MinIO servers (two processes, two sets of credentials): the bytes stream
// through s3xfer (ranged GETs there, PUT / UploadPart here), resumable with a .ccp checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import https from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMinio, startMinio, type MinioServer } from '../../scripts/minio.mjs';
import { createBucket, e2eContext, makeClient, runCli, s3Env, spawnCli, tmpdir, type S3Info } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, exitOf, getBytes, listKeys, openUploads, waitFor } from './fixtures.js';
import { RESUME_FLAGS, isObjectGet, isPart } from './interrupt.js';

const { s3, client } = e2eContext();
let server: MinioServer;
let srcS3: S3Info;
let srcClient: S3Client;
let srcBucket: string;
let dstBucket: string;
/** The destination's credentials in the environment, the source's in profile `old` (a second account). */
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  server = await startMinio({ bin: await ensureMinio() });
  srcS3 = { endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey, region: server.region };
  srcClient = makeClient(srcS3);
  srcBucket = await createBucket(srcClient);
  dstBucket = await createBucket(client);
  const aws = tmpdir();
  fs.writeFileSync(path.join(aws, 'credentials'), `[old]\naws_access_key_id = ${srcS3.accessKey}\naws_secret_access_key = ${srcS3.secretKey}\n`);
  fs.writeFileSync(path.join(aws, 'config'), '');
  env = { ...s3Env(s3), AWS_SHARED_CREDENTIALS_FILE: path.join(aws, 'credentials'), AWS_CONFIG_FILE: path.join(aws, 'config') };
}, 60_000);
afterAll(() => server?.stop());

const from = () => ['--source-endpoint-url', srcS3.endpoint, '--source-profile', 'old'];
const put = (key: string, body: Buffer | string, extra: Record<string, unknown> = {}) =>
  srcClient.send(new PutObjectCommand({ Bucket: srcBucket, Key: key, Body: body, ...extra }));
const head = (key: string) => client.send(new HeadObjectCommand({ Bucket: dstBucket, Key: key }));
const bytesOf = (size: number, seed: number) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b;
};
const tagsOf = async (c: S3Client, bucket: string, key: string) =>
  Object.fromEntries(((await c.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? []).map((t) => [t.Key, t.Value]));
/** An UploadPart (bytes sent by us), not an UploadPartCopy. */
const isUploadPart = (r: { method: string; query: Record<string, string>; headers: Record<string, unknown> }) => isPart(r) && !('x-amz-copy-source' in r.headers);

describe('cp s3://a/x s3://b/y between two servers (streamed through s3xfer)', () => {
  it('below and above the threshold: bytes equal, metadata, mtime and headers carried over; no server-side copy asked', async () => {
    await put('small.txt', 'hello from the old server', { ContentType: 'text/plain', Metadata: { mtime: '1700000000.000', owner: 'ops' }, Tagging: 'team=ops' });
    const big = bytesOf(23 * MiB + 7, 1);
    await put('big.bin', big, { ContentType: 'application/x-thing', CacheControl: 'max-age=60', ContentDisposition: 'attachment', Metadata: { mtime: '1700000001.000' }, Tagging: 'tier=gold&x=a%20b' });
    const proxy = await startProxy({ target: s3.endpoint });
    const penv = s3Env(s3, proxy.endpoint);
    const small = await runCli(['cp', '--no-progress', ...from(), `s3://${srcBucket}/small.txt`, `s3://${dstBucket}/copied/`], { env: { ...env, ...penv } });
    const large = await runCli(['cp', ...RESUME_FLAGS, ...from(), `s3://${srcBucket}/big.bin`, `s3://${dstBucket}/big.bin`], { env: { ...env, ...penv } });
    await proxy.close();
    expect(small.code, small.stderr).toBe(0);
    expect(large.code, large.stderr).toBe(0);
    expect((await getBytes(client, dstBucket, 'copied/small.txt')).toString()).toBe('hello from the old server');
    expect((await getBytes(client, dstBucket, 'big.bin')).equals(big)).toBe(true);
    const hs = await head('copied/small.txt');
    expect(hs.ContentType).toBe('text/plain');
    expect(hs.Metadata).toMatchObject({ mtime: '1700000000.000', owner: 'ops' });
    const hb = await head('big.bin');
    expect([hb.ContentType, hb.CacheControl, hb.ContentDisposition]).toEqual(['application/x-thing', 'max-age=60', 'attachment']);
    expect(hb.Metadata).toMatchObject({ mtime: '1700000001.000' });
    expect(await tagsOf(client, dstBucket, 'copied/small.txt')).toEqual({ team: 'ops' });
    expect(await tagsOf(client, dstBucket, 'big.bin')).toEqual({ tier: 'gold', x: 'a b' });
    // The destination got the bytes from us: one PUT, and 5 UploadParts carrying every byte; no copy-source header anywhere.
    expect(proxy.requests.some((r) => 'x-amz-copy-source' in r.headers)).toBe(false);
    expect(proxy.requests.filter(isUploadPart)).toHaveLength(5);
    expect(proxy.requests.filter(isUploadPart).reduce((n, r) => n + r.requestBytes, 0)).toBe(big.length);
  });

  it('a tree, with -u on the rerun copying nothing; --json and --dry-run', async () => {
    for (const k of ['t/a.txt', 't/sub/b.txt', 't/sub/deep/c.txt']) await put(k, k);
    await put('t/big.bin', bytesOf(6 * MiB, 2));
    const dry = await runCli(['cp', '-r', '--dry-run', '--no-progress', ...from(), `s3://${srcBucket}/t/`, `s3://${dstBucket}/t2/`], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(await listKeys(client, dstBucket, 't2/')).toEqual([]);
    const first = await runCli(['cp', '-r', ...RESUME_FLAGS, ...from(), `s3://${srcBucket}/t/`, `s3://${dstBucket}/t2/`], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(await listKeys(client, dstBucket, 't2/')).toEqual(['t2/a.txt', 't2/big.bin', 't2/sub/b.txt', 't2/sub/deep/c.txt']);
    expect((await getBytes(client, dstBucket, 't2/big.bin')).equals(bytesOf(6 * MiB, 2))).toBe(true);
    const again = await runCli(['cp', '-r', '-u', '--json', ...from(), `s3://${srcBucket}/t/`, `s3://${dstBucket}/t2/`], { env });
    const events = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events.filter((e) => e.type === 'skip')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'done')).toHaveLength(0);
  });

  it('a single copy above 16 MiB (a high --bigfile-threshold) streams: read twice (CRC32C, then the bytes), never held whole', async () => {
    const content = bytesOf(20 * MiB + 3, 7);
    await put('single.bin', content);
    const srcProxy = await startProxy({ target: srcS3.endpoint });
    const args = ['cp', '--no-progress', '--bigfile-threshold', '64MiB', '--source-endpoint-url', srcProxy.endpoint, '--source-profile', 'old'];
    const res = await runCli([...args, `s3://${srcBucket}/single.bin`, `s3://${dstBucket}/single.bin`], { env });
    await srcProxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(srcProxy.requests.filter(isObjectGet).map((r) => r.responseBytes)).toEqual([content.length, content.length]);
    expect((await getBytes(client, dstBucket, 'single.bin')).equals(content)).toBe(true);
  });

  it('… read once when the source stores its CRC32C: the destination checks the bytes against it', async () => {
    const content = bytesOf(20 * MiB + 5, 8);
    await put('crc.bin', content, { ChecksumAlgorithm: 'CRC32C' });
    const srcProxy = await startProxy({ target: srcS3.endpoint });
    const args = ['cp', '--no-progress', '--bigfile-threshold', '64MiB', '--source-endpoint-url', srcProxy.endpoint, '--source-profile', 'old'];
    const res = await runCli([...args, `s3://${srcBucket}/crc.bin`, `s3://${dstBucket}/crc.bin`], { env });
    await srcProxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(srcProxy.requests.filter(isObjectGet).map((r) => r.responseBytes)).toEqual([content.length]);
    expect((await getBytes(client, dstBucket, 'crc.bin')).equals(content)).toBe(true);
  });

  it('ranged GETs of the source reuse their connections (one per budget buffer, not one per range)', async () => {
    const content = bytesOf(40 * MiB, 12);
    await put('conns.bin', content);
    const srcProxy = await startProxy({ target: srcS3.endpoint });
    const args = ['cp', ...RESUME_FLAGS, '--source-endpoint-url', srcProxy.endpoint, '--source-profile', 'old'];
    const res = await runCli([...args, `s3://${srcBucket}/conns.bin`, `s3://${dstBucket}/conns.bin`], { env });
    await srcProxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(srcProxy.requests.filter(isObjectGet)).toHaveLength(8);
    // 8 ranges, 2 in flight: a few buffers (and the SDK's HEAD connection), never a connection per range.
    expect(srcProxy.connections).toBeLessThanOrEqual(5);
    expect((await getBytes(client, dstBucket, 'conns.bin')).equals(content)).toBe(true);
  });

  it("the source's own failures name the --source-* flags: unreachable, rejected credentials; exit 2, one line", async () => {
    await put('fatal.txt', 'x');
    const bad = path.join(tmpdir(), 'credentials');
    fs.writeFileSync(bad, '[bad]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n');
    const unreachable = await runCli(['cp', '--no-progress', '--source-endpoint-url', 'http://127.0.0.1:1', `s3://${srcBucket}/fatal.txt`, `s3://${dstBucket}/fatal.txt`], { env });
    const rejected = await runCli(['cp', '-r', '--no-progress', '--source-endpoint-url', srcS3.endpoint, '--source-profile', 'bad', `s3://${srcBucket}/`, `s3://${dstBucket}/fatal/`], {
      env: { ...env, AWS_SHARED_CREDENTIALS_FILE: bad },
    });
    expect([unreachable.code, rejected.code]).toEqual([2, 2]);
    expect(unreachable.stderr.trim()).toBe('s3xfer: cannot reach the source endpoint http://127.0.0.1:1 (ECONNREFUSED): check --source-endpoint-url and that the server is running');
    expect(rejected.stderr.trim()).toBe(`s3xfer: s3://${srcBucket}/: the server rejected the credentials (InvalidAccessKeyId): check the access keys or --source-profile`);
    expect(await listKeys(client, dstBucket, 'fatal')).toEqual([]);
  });

  it('--request-payer reaches every request to the source too (HEAD, GET, tags, LIST), not only the destination', async () => {
    await put('payer/a.txt', 'a', { Tagging: 'k=v' });
    await put('payer/big.bin', bytesOf(17 * MiB, 21));
    const srcProxy = await startProxy({ target: srcS3.endpoint });
    const args = ['cp', '-r', ...RESUME_FLAGS, '--request-payer', 'requester', '--source-endpoint-url', srcProxy.endpoint, '--source-profile', 'old'];
    const res = await runCli([...args, `s3://${srcBucket}/payer/`, `s3://${dstBucket}/payer/`], { env });
    await srcProxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(srcProxy.requests.length).toBeGreaterThan(3);
    expect(srcProxy.requests.filter((r) => r.headers['x-amz-request-payer'] !== 'requester').map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it('the same server read with another profile is the same bucket: a prefix onto itself or into itself is refused or left out', async () => {
    const same = tmpdir();
    fs.writeFileSync(path.join(same, 'credentials'), `[twin]\naws_access_key_id = ${s3.accessKey}\naws_secret_access_key = ${s3.secretKey}\n`);
    const tenv = { ...env, AWS_SHARED_CREDENTIALS_FILE: path.join(same, 'credentials') };
    await client.send(new PutObjectCommand({ Bucket: dstBucket, Key: 'twin/a.txt', Body: 'a' }));
    const onto = await runCli(['cp', '-r', '--no-progress', '--source-profile', 'twin', `s3://${dstBucket}/twin/`, `s3://${dstBucket}/twin/`], { env: tenv });
    expect(onto.code).toBe(2);
    expect(onto.stderr).toMatch(/would be copied onto itself/);
    const into = await runCli(['cp', '-r', '--no-progress', '--source-profile', 'twin', `s3://${dstBucket}/twin/`, `s3://${dstBucket}/twin/zz/`], { env: tenv });
    expect(into.code, into.stderr).toBe(0);
    expect(await listKeys(client, dstBucket, 'twin/')).toEqual(['twin/a.txt', 'twin/zz/a.txt']);
  });

  it('the same bucket and key on another server is not a copy onto itself', async () => {
    const shared = await createBucket(srcClient, 's');
    await srcClient.send(new PutObjectCommand({ Bucket: shared, Key: 'same.txt', Body: 'x' }));
    const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
    await client.send(new CreateBucketCommand({ Bucket: shared }));
    const res = await runCli(['cp', '--no-progress', ...from(), `s3://${shared}/same.txt`, `s3://${shared}/same.txt`], { env });
    expect(res.code, res.stderr).toBe(0);
    expect((await getBytes(client, shared, 'same.txt')).toString()).toBe('x');
  });

  it('--metadata-directive REPLACE: the command line metadata and Content-Type, the recorded mtime kept', async () => {
    await put('r.json', '{}', { ContentType: 'text/plain', CacheControl: 'max-age=60', Metadata: { mtime: '1700000002.000', owner: 'ops' } });
    const args = ['--metadata-directive', 'REPLACE', '--content-type', 'application/json', '--metadata', 'team=web,Env=prod'];
    const res = await runCli(['cp', '--no-progress', ...from(), ...args, `s3://${srcBucket}/r.json`, `s3://${dstBucket}/r.json`], { env });
    expect(res.code, res.stderr).toBe(0);
    const h = await head('r.json');
    expect(h.ContentType).toBe('application/json');
    expect(h.CacheControl).toBeUndefined();
    expect(h.Metadata).toEqual({ mtime: '1700000002.000', team: 'web', env: 'prod' });
  });
});

describe('resumable streamed copies (.ccp)', () => {
  /** Start a streamed multipart copy whose UploadParts are slowed, and SIGKILL it once `parts` are on the destination. */
  async function killedCopy(key: string, content: Buffer, parts: number) {
    await put(key, content);
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isUploadPart, action: { delayMs: 300 } }] });
    // The source through a counting proxy too (the same one for the rerun: the endpoint is part of the checkpoint's id).
    const srcProxy = await startProxy({ target: srcS3.endpoint });
    const ckpt = path.join(tmpdir(), 'ck');
    const source = ['--source-endpoint-url', srcProxy.endpoint, '--source-profile', 'old'];
    const args = ['cp', ...RESUME_FLAGS, ...source, `s3://${srcBucket}/${key}`, `s3://${dstBucket}/${key}`, '--checkpoint-dir', ckpt];
    const child = spawnCli(args, { env: { ...env, ...s3Env(s3, proxy.endpoint) } });
    await waitFor(() => proxy.requests.filter((r) => isUploadPart(r) && r.status === 200).length >= parts, 30_000, 'parts uploaded');
    child.kill('SIGKILL');
    await exitOf(child);
    return { proxy, srcProxy, ckpt, args };
  }

  it('a SIGKILL mid-copy, then a rerun that sends only the missing UploadParts and fetches only their ranges', async () => {
    const content = bytesOf(40 * MiB, 3);
    const { proxy, srcProxy, ckpt, args } = await killedCopy('resume.bin', content, 3);
    const doneBefore = proxy.requests.filter((r) => isUploadPart(r) && r.status === 200).length;
    const ls = await runCli(['checkpoint', 'ls', '--json', '--checkpoint-dir', ckpt], { env });
    expect(JSON.parse(ls.stdout.trim().split('\n')[0]!)).toMatchObject({
      kind: 'copy',
      source: `s3://${srcBucket}/resume.bin`,
      sourceEndpoint: srcProxy.endpoint,
      destination: `s3://${dstBucket}/resume.bin`,
    });
    proxy.clear();
    proxy.setRules([]);
    srcProxy.clear();
    const rerun = await runCli(args, { env: { ...env, ...s3Env(s3, proxy.endpoint) } });
    await proxy.close();
    await srcProxy.close();
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/resumed .*: \d+ of 8 parts already uploaded/);
    const resent = proxy.requests.filter(isUploadPart).length;
    expect(resent).toBeLessThanOrEqual(8 - doneBefore);
    expect(resent).toBeGreaterThan(0);
    expect(srcProxy.requests.filter(isObjectGet).reduce((n, r) => n + r.responseBytes, 0)).toBe(resent * 5 * MiB);
    expect((await getBytes(client, dstBucket, 'resume.bin')).equals(content)).toBe(true);
    expect(await openUploads(client, dstBucket, 'resume.bin')).toBe(0);
    expect(fs.readdirSync(ckpt).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('`s3xfer resume` finishes it from the checkpoint: the source endpoint and profile it recorded', async () => {
    const content = bytesOf(40 * MiB, 11);
    const { proxy, srcProxy, ckpt } = await killedCopy('viaresume.bin', content, 2);
    proxy.setRules([]);
    const res = await runCli(['resume', '--all', '--no-progress', '--checkpoint-dir', ckpt], { env: { ...env, ...s3Env(s3, proxy.endpoint) } });
    await proxy.close();
    await srcProxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/resuming [0-9a-f]{16}: s3:\/\/.*viaresume.bin -> s3:\/\/.*viaresume.bin/);
    expect((await getBytes(client, dstBucket, 'viaresume.bin')).equals(content)).toBe(true);
    expect(await openUploads(client, dstBucket, 'viaresume.bin')).toBe(0);
  });

  it('a source overwritten mid-copy is detected: exit 1, nothing published, no upload left', async () => {
    await put('moving.bin', bytesOf(40 * MiB, 4));
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isUploadPart, action: { delayMs: 300 } }] });
    const args = ['cp', ...RESUME_FLAGS, ...from(), `s3://${srcBucket}/moving.bin`, `s3://${dstBucket}/moving.bin`];
    const child = spawnCli(args, { env: { ...env, ...s3Env(s3, proxy.endpoint) } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => proxy.requests.filter((r) => isUploadPart(r) && r.status === 200).length >= 2, 30_000, 'parts uploaded');
    await put('moving.bin', bytesOf(40 * MiB, 5));
    const exit = await exitOf(child);
    await proxy.close();
    expect(exit.code, stderr).toBe(1);
    expect(stderr).toContain(`s3://${srcBucket}/moving.bin changed on the server during the copy`);
    await expect(head('moving.bin')).rejects.toThrow();
    expect(await openUploads(client, dstBucket, 'moving.bin')).toBe(0);
  });

  it('a connection reset on a source range and a 500 on an UploadPart are retried; the copy is whole', async () => {
    const content = bytesOf(12 * MiB, 6);
    await put('faulty.bin', content);
    const srcProxy = await startProxy({ target: srcS3.endpoint, rules: [{ match: isObjectGet, action: { resetAfterBytes: 1000, times: 1 } }] });
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isUploadPart, action: { status: 500, times: 1 } }] });
    const args = ['cp', ...RESUME_FLAGS, '--source-endpoint-url', srcProxy.endpoint, '--source-profile', 'old', `s3://${srcBucket}/faulty.bin`, `s3://${dstBucket}/faulty.bin`];
    const res = await runCli(args, { env: { ...env, ...s3Env(s3, proxy.endpoint) } });
    await proxy.close();
    await srcProxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(srcProxy.requests.filter((r) => isObjectGet(r) && r.error)).toHaveLength(1);
    expect(proxy.requests.filter((r) => isUploadPart(r) && r.status === 500)).toHaveLength(1);
    expect(proxy.requests.filter((r) => isUploadPart(r) && r.status === 200)).toHaveLength(3);
    expect((await getBytes(client, dstBucket, 'faulty.bin')).equals(content)).toBe(true);
  });
});

describe('a source over TLS with its own CA (--source-ca-bundle)', () => {
  let tls: MinioServer;
  let tlsS3: S3Info;
  let caFile: string;
  let tlsBucket: string;
  let tlsEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    const certsDir = tmpdir();
    const pems = await generate([{ name: 'commonName', value: 's3xfer test' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    fs.writeFileSync(path.join(certsDir, 'public.crt'), pems.cert);
    fs.writeFileSync(path.join(certsDir, 'private.key'), pems.private);
    caFile = path.join(certsDir, 'public.crt');
    tls = await startMinio({ bin: await ensureMinio(), certsDir });
    tlsS3 = { endpoint: tls.endpoint, accessKey: tls.accessKey, secretKey: tls.secretKey, region: tls.region };
    const trusting = makeClient(tlsS3, { requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: pems.cert }) }) });
    tlsBucket = await createBucket(trusting);
    await trusting.send(new PutObjectCommand({ Bucket: tlsBucket, Key: 'a.txt', Body: 'over TLS' }));
    await trusting.send(new PutObjectCommand({ Bucket: tlsBucket, Key: 'b.bin', Body: bytesOf(12 * MiB, 13) }));
    const creds = path.join(tmpdir(), 'credentials');
    fs.writeFileSync(creds, `[tls]\naws_access_key_id = ${tlsS3.accessKey}\naws_secret_access_key = ${tlsS3.secretKey}\n`);
    tlsEnv = { ...env, AWS_SHARED_CREDENTIALS_FILE: creds };
  }, 60_000);
  afterAll(() => tls?.stop());

  it('is refused without it, naming --source-ca-bundle (exit 2); copies with it (the destination stays plain http)', async () => {
    const args = ['cp', '-r', ...RESUME_FLAGS, '--source-endpoint-url', tlsS3.endpoint, '--source-profile', 'tls', `s3://${tlsBucket}/`, `s3://${dstBucket}/tls/`];
    const refused = await runCli(args, { env: tlsEnv });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `s3xfer: the certificate of ${new URL(tlsS3.endpoint).host} is not trusted (self-signed): pass --source-ca-bundle FILE with the CA that signed it, or --source-no-verify-ssl`,
    );
    const ok = await runCli([...args, '--source-ca-bundle', caFile], { env: tlsEnv });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await getBytes(client, dstBucket, 'tls/a.txt')).toString()).toBe('over TLS');
    expect((await getBytes(client, dstBucket, 'tls/b.bin')).equals(bytesOf(12 * MiB, 13))).toBe(true);
  });
});
