// S3 → S3 on one endpoint: server-side copies (CopyObject, UploadPartCopy), resumable with a .ccp checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, e2eContext, runCli, s3Env, spawnCli, tmpdir } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, exitOf, getBytes, listKeys, openUploads, waitFor } from './fixtures.js';
import { RESUME_FLAGS, isPart } from './interrupt.js';

const { s3, env, client } = e2eContext();
let bucket: string;
let other: string;
beforeAll(async () => {
  bucket = await createBucket(client);
  other = await createBucket(client);
});

const put = (key: string, body: Buffer | string, extra: Record<string, unknown> = {}) =>
  client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
const head = (b: string, key: string) => client.send(new HeadObjectCommand({ Bucket: b, Key: key }));
const isPartCopy = (r: { method: string; query: Record<string, string>; headers: Record<string, unknown> }) => isPart(r) && 'x-amz-copy-source' in r.headers;
const bytesOf = (size: number, seed: number) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b;
};

describe('cp s3://a/x s3://b/y (same endpoint: the server copies)', () => {
  it('below the threshold: one CopyObject; metadata, mtime and Content-Type carried over; no bytes through the client', async () => {
    await put('small.txt', 'hello', { ContentType: 'text/plain', Metadata: { mtime: '1700000000.000', owner: 'ops' } });
    const proxy = await startProxy({ target: s3.endpoint });
    const res = await runCli(['cp', '--no-progress', `s3://${bucket}/small.txt`, `s3://${other}/copied/`], { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect((await getBytes(client, other, 'copied/small.txt')).toString()).toBe('hello');
    const h = await head(other, 'copied/small.txt');
    expect(h.ContentType).toBe('text/plain');
    expect(h.Metadata).toMatchObject({ mtime: '1700000000.000', owner: 'ops' });
    expect(proxy.requests.filter((r) => r.method === 'PUT' && 'x-amz-copy-source' in r.headers)).toHaveLength(1);
    expect(proxy.requests.reduce((n, r) => n + r.requestBytes, 0)).toBe(0);
  });

  it('at or above the threshold: UploadPartCopy of ranges; headers carried; bytes equal', async () => {
    const content = bytesOf(23 * MiB, 1);
    await put('big.bin', content, { ContentType: 'application/x-thing', CacheControl: 'max-age=60', Metadata: { mtime: '1700000001.000' }, Tagging: 'team=ops' });
    const proxy = await startProxy({ target: s3.endpoint });
    const res = await runCli(['cp', ...RESUME_FLAGS, `s3://${bucket}/big.bin`, `s3://${other}/big.bin`], { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(proxy.requests.filter(isPartCopy)).toHaveLength(5);
    expect((await getBytes(client, other, 'big.bin')).equals(content)).toBe(true);
    const h = await head(other, 'big.bin');
    expect(h.ContentType).toBe('application/x-thing');
    expect(h.CacheControl).toBe('max-age=60');
    expect(h.Metadata).toMatchObject({ mtime: '1700000001.000' });
    const tags = (await client.send(new GetObjectTaggingCommand({ Bucket: other, Key: 'big.bin' }))).TagSet;
    expect(tags).toEqual([{ Key: 'team', Value: 'ops' }]);
  });

  it('default part size of a server-side copy: 64 MiB (no bytes through us)', async () => {
    const content = bytesOf(70 * MiB, 14);
    await put('parts.bin', content);
    const proxy = await startProxy({ target: s3.endpoint });
    const res = await runCli(['cp', '--no-progress', `s3://${bucket}/parts.bin`, `s3://${other}/parts.bin`], { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(proxy.requests.filter(isPartCopy).map((r) => r.headers['x-amz-copy-source-range'])).toEqual(
      expect.arrayContaining([`bytes=0-${64 * MiB - 1}`, `bytes=${64 * MiB}-${70 * MiB - 1}`]),
    );
    expect(proxy.requests.filter(isPartCopy)).toHaveLength(2);
    expect((await getBytes(client, other, 'parts.bin')).equals(content)).toBe(true);
  });

  it('a tree, with -u on the rerun copying nothing', async () => {
    for (const k of ['t/a.txt', 't/sub/b.txt', 't/sub/deep/c.txt']) await put(k, k);
    const first = await runCli(['cp', '-r', '--no-progress', `s3://${bucket}/t/`, `s3://${other}/t2/`], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(await listKeys(client, other, 't2/')).toEqual(['t2/a.txt', 't2/sub/b.txt', 't2/sub/deep/c.txt']);
    const again = await runCli(['cp', '-r', '-u', '--no-progress', `s3://${bucket}/t/`, `s3://${other}/t2/`], { env });
    expect(again.stdout).toMatch(/0 copied .* 3 skipped, 0 failed/);
  });

  it('--metadata-directive REPLACE: CopyObject and a multipart copy take the command line metadata and Content-Type, the recorded mtime kept', async () => {
    await put('r.txt', 'hello', { ContentType: 'text/plain', CacheControl: 'max-age=60', Metadata: { mtime: '1700000003.000', owner: 'ops' } });
    await put('r.bin', bytesOf(12 * MiB, 9), { ContentType: 'text/plain', CacheControl: 'max-age=60', Metadata: { mtime: '1700000004.000', owner: 'ops' } });
    const replace = ['--metadata-directive', 'replace', '--content-type', 'application/json', '--metadata', '{"team":"web","tier":"gold"}'];
    const small = await runCli(['cp', '--no-progress', ...replace, `s3://${bucket}/r.txt`, `s3://${other}/r.txt`], { env });
    const big = await runCli(['cp', ...RESUME_FLAGS, ...replace, `s3://${bucket}/r.bin`, `s3://${other}/r.bin`], { env });
    expect(small.code, small.stderr).toBe(0);
    expect(big.code, big.stderr).toBe(0);
    for (const [key, mtime] of [['r.txt', '1700000003.000'], ['r.bin', '1700000004.000']] as const) {
      const h = await head(other, key);
      expect([h.ContentType, h.CacheControl]).toEqual(['application/json', undefined]);
      expect(h.Metadata).toEqual({ mtime, team: 'web', tier: 'gold' });
    }
    expect((await getBytes(client, other, 'r.bin')).equals(bytesOf(12 * MiB, 9))).toBe(true);
  });

  it('copy-only flags elsewhere, or --metadata without REPLACE, are refused in one line (exit 2)', async () => {
    await put('flags.txt', 'x');
    const cases = [
      ['cp', `s3://${bucket}/flags.txt`, `s3://${other}/flags.txt`, '--metadata', 'a=b'],
      ['cp', `s3://${bucket}/flags.txt`, tmpdir(), '--source-endpoint-url', 'http://127.0.0.1:1'],
      ['cp', `s3://${bucket}/flags.txt`, `s3://${other}/flags.txt`, '--metadata-directive', 'MOVE'],
      ['cp', `s3://${bucket}/flags.txt`, `s3://${other}/flags.txt`, '--metadata-directive', 'REPLACE', '--metadata', 'bad key=1'],
      ['cp', `s3://${bucket}/flags.txt`, `s3://${other}/flags.txt`, '--metadata-directive', 'REPLACE', '--tagging', 'k=v'],
    ];
    const out = await Promise.all(cases.map((args) => runCli(['--no-progress', ...args], { env })));
    expect(out.map((r) => r.code)).toEqual([2, 2, 2, 2, 2]);
    expect(out.map((r) => r.stderr.trim().split('\n').length)).toEqual([1, 1, 1, 1, 1]);
    expect(out[4]!.stderr).toMatch(/--tagging applies to uploads: an S3 → S3 copy carries the source's tags/);
    expect(out[0]!.stderr).toMatch(/--metadata on a copy replaces the source's: add --metadata-directive REPLACE/);
    expect(out[1]!.stderr).toMatch(/apply to S3 → S3 copies only/);
    expect(out[2]!.stderr).toMatch(/use COPY or REPLACE/);
    expect(out[3]!.stderr).toMatch(/invalid --metadata: key 'bad key'/);
    await expect(head(other, 'flags.txt')).rejects.toThrow();
  });

  it('a 500 on an UploadPartCopy and on the CopyObject are retried', async () => {
    const content = bytesOf(12 * MiB, 10);
    await put('retry.bin', content);
    await put('retry.txt', 'small');
    const isCopyObject = (r: { method: string; query: Record<string, string>; headers: Record<string, unknown> }) =>
      r.method === 'PUT' && !('partNumber' in r.query) && 'x-amz-copy-source' in r.headers;
    const proxy = await startProxy({
      target: s3.endpoint,
      rules: [
        { match: isPartCopy, action: { status: 500, times: 1 } },
        { match: isCopyObject, action: { status: 503, times: 1 } },
      ],
    });
    const big = await runCli(['cp', ...RESUME_FLAGS, `s3://${bucket}/retry.bin`, `s3://${other}/retry.bin`], { env: s3Env(s3, proxy.endpoint) });
    const small = await runCli(['cp', '--no-progress', `s3://${bucket}/retry.txt`, `s3://${other}/retry.txt`], { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(big.code, big.stderr).toBe(0);
    expect(small.code, small.stderr).toBe(0);
    expect(proxy.requests.filter((r) => isPartCopy(r) && r.status === 500)).toHaveLength(1);
    expect(proxy.requests.filter((r) => isPartCopy(r) && r.status === 200)).toHaveLength(3);
    expect(proxy.requests.filter((r) => isCopyObject(r)).map((r) => r.status)).toEqual([503, 200]);
    expect((await getBytes(client, other, 'retry.bin')).equals(content)).toBe(true);
    expect((await getBytes(client, other, 'retry.txt')).toString()).toBe('small');
  });

  it('a copy onto itself is refused', async () => {
    await put('self.txt', 'x');
    const res = await runCli(['cp', '--no-progress', `s3://${bucket}/self.txt`, `s3://${bucket}/self.txt`], { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/would be copied onto itself/);
  });

  it('--version-id: an old version restored onto its own key, with its own tags', async () => {
    const { PutBucketVersioningCommand } = await import('@aws-sdk/client-s3');
    const versioned = await createBucket(client);
    await client.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await client.send(new PutObjectCommand({ Bucket: versioned, Key: 'o', Body: 'old', Tagging: 't=old' }));
    await client.send(new PutObjectCommand({ Bucket: versioned, Key: 'o', Body: 'new', Tagging: 't=new' }));
    const big1 = bytesOf(17 * MiB, 31);
    const b1 = await client.send(new PutObjectCommand({ Bucket: versioned, Key: 'big', Body: big1, Tagging: 't=old' }));
    await client.send(new PutObjectCommand({ Bucket: versioned, Key: 'big', Body: 'new', Tagging: 't=new' }));
    const restore = await runCli(['cp', '--no-progress', '--version-id', v1.VersionId!, `s3://${versioned}/o`, `s3://${versioned}/o`], { env });
    expect(restore.code, restore.stderr).toBe(0);
    expect((await getBytes(client, versioned, 'o')).toString()).toBe('old');
    // A multipart copy sets the tags itself: those of the version copied, not the latest's.
    const copied = await runCli(['cp', ...RESUME_FLAGS, '--version-id', b1.VersionId!, `s3://${versioned}/big`, `s3://${other}/big-v1`], { env });
    expect(copied.code, copied.stderr).toBe(0);
    expect((await getBytes(client, other, 'big-v1')).equals(big1)).toBe(true);
    const tags = await client.send(new GetObjectTaggingCommand({ Bucket: other, Key: 'big-v1' }));
    expect(tags.TagSet).toEqual([{ Key: 't', Value: 'old' }]);
  });
});

describe('resumable server-side copies (.ccp)', () => {
  /** Start a multipart copy whose UploadPartCopy requests are slowed, and SIGKILL it once `parts` are done. */
  async function killedCopy(key: string, content: Buffer, parts: number) {
    await put(key, content);
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isPartCopy, action: { delayMs: 300 } }] });
    const ckpt = path.join(tmpdir(), 'ck');
    const args = ['cp', ...RESUME_FLAGS, `s3://${bucket}/${key}`, `s3://${other}/${key}`, '--checkpoint-dir', ckpt];
    const child = spawnCli(args, { env: s3Env(s3, proxy.endpoint) });
    await waitFor(() => proxy.requests.filter((r) => isPartCopy(r) && r.status === 200).length >= parts, 30_000, 'parts copied');
    child.kill('SIGKILL');
    await exitOf(child);
    return { proxy, ckpt, args };
  }

  it('a SIGKILL mid-copy, then a rerun that sends only the missing UploadPartCopy requests', async () => {
    const content = bytesOf(40 * MiB, 2);
    const { proxy, ckpt, args } = await killedCopy('resume.bin', content, 3);
    const doneBefore = proxy.requests.filter((r) => isPartCopy(r) && r.status === 200).length;
    expect(fs.readdirSync(ckpt).filter((f) => f.endsWith('.ccp'))).toHaveLength(1);
    const ls = await runCli(['checkpoint', 'ls', '--json', '--checkpoint-dir', ckpt], { env: s3Env(s3, proxy.endpoint) });
    expect(JSON.parse(ls.stdout.trim().split('\n')[0]!)).toMatchObject({ kind: 'copy', source: `s3://${bucket}/resume.bin`, destination: `s3://${other}/resume.bin` });
    proxy.clear();
    proxy.setRules([]);
    const rerun = await runCli(args, { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/resumed .*: \d+ of 8 parts already uploaded/);
    const resent = proxy.requests.filter(isPartCopy).length;
    expect(resent).toBeLessThanOrEqual(8 - doneBefore);
    expect(resent).toBeGreaterThan(0);
    expect((await getBytes(client, other, 'resume.bin')).equals(content)).toBe(true);
    expect(await openUploads(client, other, 'resume.bin')).toBe(0);
    expect(fs.readdirSync(ckpt).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('a source overwritten mid-copy is detected: exit 1, nothing published, no upload left', async () => {
    const content = bytesOf(40 * MiB, 3);
    await put('moving.bin', content);
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isPartCopy, action: { delayMs: 300 } }] });
    const child = spawnCli(['cp', ...RESUME_FLAGS, `s3://${bucket}/moving.bin`, `s3://${other}/moving.bin`], { env: s3Env(s3, proxy.endpoint) });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => proxy.requests.filter((r) => isPartCopy(r) && r.status === 200).length >= 2, 30_000, 'parts copied');
    await put('moving.bin', bytesOf(40 * MiB, 4));
    const exit = await exitOf(child);
    await proxy.close();
    expect(exit.code, stderr).toBe(1);
    expect(stderr).toContain(`s3://${bucket}/moving.bin changed on the server during the copy`);
    await expect(head(other, 'moving.bin')).rejects.toThrow();
    expect(await openUploads(client, other, 'moving.bin')).toBe(0);
  });

  it('a source changed between the kill and the rerun: the old upload is aborted and the copy starts over', async () => {
    const { proxy, args } = await killedCopy('changed.bin', bytesOf(40 * MiB, 5), 2);
    const fresh = bytesOf(40 * MiB, 6);
    await put('changed.bin', fresh);
    proxy.setRules([]);
    const rerun = await runCli(args, { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/changed on the server since the checkpoint/);
    expect((await getBytes(client, other, 'changed.bin')).equals(fresh)).toBe(true);
    expect(await openUploads(client, other, 'changed.bin')).toBe(0);
  });
});
