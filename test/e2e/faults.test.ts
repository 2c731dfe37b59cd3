import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, runCli, s3Env, tmpdir, e2eContext } from '../helpers/cli.js';
import { startProxy, type ProxyRule } from '../helpers/proxy.js';
import { MiB, getBytes, makeTree, openUploads, tempFiles } from './fixtures.js';
import { RESUME_FLAGS, isObjectGet, isPart } from './interrupt.js';

const { s3, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

const FAST = ['--stall-timeout', '1s', ...RESUME_FLAGS];
const isComplete = (r: { method: string; query: Record<string, string> }) => r.method === 'POST' && 'uploadId' in r.query;

/** Upload 24 MiB through a proxy with `rule`; the object must equal the file and nothing stay open. */
async function uploadThrough(name: string, rule: ProxyRule, extra: string[] = []) {
  const proxy = await startProxy({ target: s3.endpoint, rules: [rule] });
  try {
    const dir = makeTree(tmpdir(), { 'f.bin': 24 * MiB });
    const key = `up/${name}.bin`;
    const res = await runCli(['cp', path.join(dir, 'f.bin'), `s3://${bucket}/${key}`, ...FAST, ...extra], { env: s3Env(s3, proxy.endpoint) });
    expect(res.code, res.stderr).toBe(0);
    expect((await getBytes(client, bucket, key)).equals(fs.readFileSync(path.join(dir, 'f.bin')))).toBe(true);
    expect(await openUploads(client, bucket, key)).toBe(0);
    expect(proxy.requests.some((r) => r.action === rule.action)).toBe(true);
    return { res, requests: proxy.requests };
  } finally {
    await proxy.close();
  }
}

async function downloadThrough(name: string, rule: ProxyRule) {
  const body = Buffer.alloc(24 * MiB);
  for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: `down/${name}.bin`, Body: body }));
  const proxy = await startProxy({ target: s3.endpoint, rules: [rule] });
  try {
    const dir = tmpdir();
    const res = await runCli(['cp', `s3://${bucket}/down/${name}.bin`, path.join(dir, 'out.bin'), ...FAST], { env: s3Env(s3, proxy.endpoint) });
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out.bin')).equals(body)).toBe(true);
    expect(tempFiles(dir)).toEqual([]);
    expect(proxy.requests.some((r) => r.action === rule.action)).toBe(true);
    return { res, requests: proxy.requests };
  } finally {
    await proxy.close();
  }
}

describe('uploads survive faults', () => {
  it('503 SlowDown on parts: retried with backoff', async () => {
    const { requests } = await uploadThrough('slowdown', { match: isPart, action: { status: 503, times: 3 } });
    expect(requests.filter((r) => isPart(r) && r.status === 503)).toHaveLength(3);
  });
  it('500 on CompleteMultipartUpload: retried', async () => {
    await uploadThrough('complete-500', { match: isComplete, action: { status: 500, times: 1 } });
  });
  it('connection reset mid-body: the part is read again from the file and resent', async () => {
    const { requests } = await uploadThrough('reset', { match: (r) => isPart(r) && r.query.partNumber === '2', action: { resetRequestAfterBytes: 2 * MiB, times: 1 } });
    expect(requests.filter((r) => isPart(r) && r.query.partNumber === '2' && r.status === 200)).toHaveLength(1);
  });
  it('reply lost after the server stored the part: resent, and the result is correct', async () => {
    const { requests } = await uploadThrough('drop-part', { match: (r) => isPart(r) && r.query.partNumber === '3', action: { dropResponse: true, times: 1 } });
    expect(requests.filter((r) => isPart(r) && r.query.partNumber === '3')).toHaveLength(2);
  });
  it('reply lost after the server completed the upload: recognised as done', async () => {
    const { requests } = await uploadThrough('drop-complete', { match: isComplete, action: { dropResponse: true, times: 1 } });
    expect(requests.filter(isComplete)).toHaveLength(2);
  });
  it('a part corrupted on the way is refused by the server (CRC32C) and sent again', async () => {
    const { requests } = await uploadThrough('corrupt', { match: (r) => isPart(r) && r.query.partNumber === '2', action: { corruptRequestAt: 1000, times: 1 } });
    const part2 = requests.filter((r) => isPart(r) && r.query.partNumber === '2');
    expect(part2.map((r) => r.status)).toEqual([400, 200]);
  });
  it('a single PUT corrupted on the way is refused and sent again', async () => {
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: (r) => r.method === 'PUT', action: { corruptRequestAt: 10, times: 1 } }] });
    try {
      const dir = makeTree(tmpdir(), { 'small.bin': 4096 });
      const res = await runCli(['cp', path.join(dir, 'small.bin'), `s3://${bucket}/up/corrupt-small.bin`, ...FAST], { env: s3Env(s3, proxy.endpoint) });
      expect(res.code, res.stderr).toBe(0);
      expect(proxy.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([400, 200]);
      expect((await getBytes(client, bucket, 'up/corrupt-small.bin')).equals(fs.readFileSync(path.join(dir, 'small.bin')))).toBe(true);
    } finally {
      await proxy.close();
    }
  });
  it('a stalled request is cut by --stall-timeout and retried', async () => {
    const { requests } = await uploadThrough('stall', { match: (r) => isPart(r) && r.query.partNumber === '1', action: { delayMs: 4000, times: 1 } });
    expect(requests.filter((r) => isPart(r) && r.query.partNumber === '1').length).toBeGreaterThanOrEqual(2);
  });
  it('retries exhausted: exit 1, a clear message, and a checkpoint that resumes', async () => {
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: (r) => isPart(r) && r.query.partNumber === '4', action: { status: 500 } }] });
    try {
      const dir = makeTree(tmpdir(), { 'f.bin': 24 * MiB });
      const args = ['cp', path.join(dir, 'f.bin'), `s3://${bucket}/up/exhausted.bin`, '--retries', '2', '--checkpoint-dir', path.join(dir, 'ck'), ...FAST];
      const res = await runCli(args, { env: s3Env(s3, proxy.endpoint) });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/error: .*InternalError/);
      expect(res.stderr).toMatch(/rerun the same command to resume \(\d+\/5 parts uploaded\)/);
      proxy.setRules([]);
      proxy.clear();
      const again = await runCli(args, { env: s3Env(s3, proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      expect(proxy.requests.filter(isPart).length).toBeLessThan(5);
      expect((await getBytes(client, bucket, 'up/exhausted.bin')).equals(fs.readFileSync(path.join(dir, 'f.bin')))).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});

describe('downloads survive faults', () => {
  const firstRange = (r: Parameters<ProxyRule['match']>[0]) => isObjectGet(r) && r.headers.range === 'bytes=0-5242879';
  it('500 on a range: retried', async () => {
    await downloadThrough('500', { match: firstRange, action: { status: 500, times: 2 } });
  });
  it('503 SlowDown on every range once: retried', async () => {
    await downloadThrough('503', { match: (r) => isObjectGet(r), action: { status: 503, times: 5 } });
  });
  it('body truncated mid-range: continued from the last whole chunk', async () => {
    const { requests } = await downloadThrough('truncated', { match: firstRange, action: { resetAfterBytes: 2 * MiB + 123, times: 1 } });
    expect(requests.filter((r) => isObjectGet(r) && String(r.headers.range).endsWith('-5242879')).map((r) => r.headers.range)).toEqual([
      'bytes=0-5242879',
      `bytes=${2 * MiB}-5242879`,
    ]);
  });
  it('a server that ignores Range: refused, never written in the wrong place', async () => {
    const body = Buffer.alloc(12 * MiB, 9);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'down/norange.bin', Body: body }));
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isObjectGet, action: { rewriteStatus: 200, stripResponseHeaders: ['content-range'] } }] });
    try {
      const dir = tmpdir();
      const res = await runCli(['cp', `s3://${bucket}/down/norange.bin`, path.join(dir, 'out.bin'), ...FAST], { env: s3Env(s3, proxy.endpoint) });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/error: asked s3:\/\/.*\/down\/norange.bin for bytes \d+-\d+, got HTTP 200 with Content-Range '': the server or a proxy ignores Range requests/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
  it('a body that stops sending is cut by --stall-timeout and continued', async () => {
    const { requests } = await downloadThrough('stalled', { match: firstRange, action: { stallAfterBytes: 3 * MiB, times: 1 } });
    expect(requests.filter((r) => isObjectGet(r) && String(r.headers.range).endsWith('-5242879')).map((r) => r.headers.range)).toEqual([
      'bytes=0-5242879',
      `bytes=${3 * MiB}-5242879`,
    ]);
  });
});
