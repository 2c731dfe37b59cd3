import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MinioServer } from '../../scripts/minio.mjs';
import { createBucket, runCli, s3Env, spawnCli, tmpdir, type S3Info } from '../helpers/cli.js';
import { startTlsMinio } from '../helpers/tls-minio.js';
import { MiB, exitOf, makeTree, openUploads, readTree, waitFor } from './fixtures.js';
import { savedParts } from './interrupt.js';

// Server-side encryption against a MinIO of its own: TLS (SSE-C requires it) and a static KMS key
// in its environment (SSE-S3 and SSE-KMS need a KMS).

const KMS_KEY = 'test-key';
const MULTIPART = ['--bigfile-threshold', '5MiB', '--part-size', '5MiB', '--no-progress'];

let server: MinioServer;
let tls: S3Info;
let env: NodeJS.ProcessEnv;
let client: S3Client;
let bucket: string;
let keyFile: string;
let key: Buffer;

beforeAll(async () => {
  const started = await startTlsMinio({ MINIO_KMS_SECRET_KEY: `${KMS_KEY}:${randomBytes(32).toString('base64')}` });
  ({ server, client, s3: tls } = started);
  env = { ...s3Env(tls), AWS_CA_BUNDLE: started.caFile };
  bucket = await createBucket(client);
  const certsDir = started.certsDir;
  key = randomBytes(32);
  keyFile = path.join(certsDir, 'sse-c.key');
  fs.writeFileSync(keyFile, key);
}, 60_000);
afterAll(() => server?.stop());

const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const ssec = (k: Buffer) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64'), SSECustomerKeyMD5: md5(k) });
const cp = (args: string[], extra: NodeJS.ProcessEnv = {}, input?: Buffer) => runCli(['cp', ...args], { env: { ...env, ...extra }, input });
const head = (k: string, extra = {}) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: k, ...extra }));
async function bytesOf(k: string, extra = {}): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: k, ...extra }));
  return Buffer.from(await out.Body!.transformToByteArray());
}
function sameTrees(got: string, want: string): void {
  const [a, b] = [readTree(got), readTree(want)];
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const [name, bytes] of Object.entries(b)) expect(a[name]!.equals(bytes), name).toBe(true);
}

/** A TCP front that paces both directions (TLS passes through untouched), so a kill lands mid-transfer. */
async function slowFront(bytesPerSecond: number) {
  const target = new URL(tls.endpoint);
  let rate = bytesPerSecond;
  /** Bytes the server sent towards the client (TLS records included). */
  const counted = { down: 0 };
  const pace = (from: net.Socket, to: net.Socket, count: boolean) =>
    from.on('data', (d: Buffer) => {
      if (count) counted.down += d.length;
      to.write(d);
      if (rate === Infinity) return;
      from.pause();
      setTimeout(() => from.resume(), (d.length / rate) * 1000);
    });
  const sockets = new Set<net.Socket>();
  const front = net.createServer((sock) => {
    const up = net.connect(Number(target.port), target.hostname);
    for (const s of [sock, up]) {
      sockets.add(s);
      s.on('error', () => {
        sock.destroy();
        up.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    pace(sock, up, false);
    pace(up, sock, true);
    sock.on('end', () => up.end());
    up.on('end', () => sock.end());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `https://127.0.0.1:${(front.address() as net.AddressInfo).port}`,
    counted,
    /** Full speed from now on; connections of a killed client are cut, so nothing of theirs is counted. */
    unthrottle: () => {
      rate = Infinity;
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}

describe('SSE-S3 and SSE-KMS', () => {
  it('objects are encrypted as asked (HEAD shows it), single and multipart; they download byte-identical though a KMS ETag is no MD5', async () => {
    const src = makeTree(tmpdir(), { 'small.txt': 'secret', 'big.bin': 11 * MiB + 5 });
    const cases: [string, string[], { ServerSideEncryption: string; SSEKMSKeyId?: unknown }][] = [
      ['s3', ['--sse', 'AES256'], { ServerSideEncryption: 'AES256' }],
      ['kms', ['--sse', 'aws:kms', '--sse-kms-key-id', KMS_KEY], { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: expect.stringContaining(KMS_KEY) }],
      ['kms-default', ['--sse', 'aws:kms'], { ServerSideEncryption: 'aws:kms' }],
    ];
    for (const [prefix, flags, want] of cases) {
      const up = await cp(['-r', src, `s3://${bucket}/${prefix}/`, ...flags, ...MULTIPART]);
      expect(up.code, up.stderr).toBe(0);
      for (const name of ['small.txt', 'big.bin']) expect(await head(`${prefix}/${name}`), `${prefix}/${name}`).toMatchObject(want);
      const dst = tmpdir();
      const down = await cp(['-r', `s3://${bucket}/${prefix}/`, dst, ...MULTIPART]);
      expect(down.code, down.stderr).toBe(0);
      sameTrees(dst, src);
    }
    // The KMS object's ETag is not the MD5 of its bytes: the download was checked otherwise.
    const kmsEtag = (await head('kms/small.txt')).ETag!.replace(/"/g, '');
    expect(kmsEtag).not.toBe(createHash('md5').update('secret').digest('hex'));
  });

  it('a server-side copy takes --sse aws:kms', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'plain', 'big.bin': 6 * MiB });
    expect((await cp(['-r', src, `s3://${bucket}/plain/`, ...MULTIPART])).code).toBe(0);
    const res = await cp(['-r', `s3://${bucket}/plain/`, `s3://${bucket}/plain-kms/`, '--sse', 'aws:kms', '--sse-kms-key-id', KMS_KEY, ...MULTIPART]);
    expect(res.code, res.stderr).toBe(0);
    for (const k of ['plain-kms/a.txt', 'plain-kms/big.bin']) expect(await head(k), k).toMatchObject({ ServerSideEncryption: 'aws:kms' });
    expect((await bytesOf('plain-kms/a.txt')).toString()).toBe('plain');
  });
});

describe('SSE-C', () => {
  it('uploads (single, multipart, standard input) are encrypted with the key; ranged downloads with it are byte-identical', async () => {
    const src = makeTree(tmpdir(), { 'small.txt': 'only with the key', 'big.bin': 12 * MiB + 3 });
    const flags = ['--sse-c', 'AES256', '--sse-c-key', `fileb://${keyFile}`];
    const up = await cp(['-r', src, `s3://${bucket}/c/`, ...flags, ...MULTIPART]);
    expect(up.code, up.stderr).toBe(0);
    const piped = randomBytes(11 * MiB);
    const fromStdin = await cp(['-', `s3://${bucket}/c/piped.bin`, ...flags, '--part-size', '5MiB'], {}, piped);
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    for (const k of ['c/small.txt', 'c/big.bin', 'c/piped.bin']) {
      expect(await head(k, ssec(key)), k).toMatchObject({ SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: md5(key) });
      await expect(head(k), `${k} without the key`).rejects.toThrow();
    }
    expect((await bytesOf('c/piped.bin', ssec(key))).equals(piped)).toBe(true);
    const dst = tmpdir();
    const down = await cp(['-r', `s3://${bucket}/c/`, dst, '--sse-c-key', `fileb://${keyFile}`, ...MULTIPART]);
    expect(down.code, down.stderr).toBe(0);
    expect(readTree(dst)['piped.bin']!.equals(piped)).toBe(true);
    fs.rmSync(path.join(dst, 'piped.bin'));
    sameTrees(dst, src);
    // The key may come from the environment too, as base64.
    const viaEnv = tmpdir();
    const res = await cp([`s3://${bucket}/c/small.txt`, `${viaEnv}/`], { S3XFER_SSE_C_KEY: key.toString('base64') });
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readFileSync(path.join(viaEnv, 'small.txt'), 'utf8')).toBe('only with the key');
  });

  it('a server-side copy of SSE-C objects (CopyObject and UploadPartCopy) reads and writes them with the key', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'copied with the key', 'big.bin': 11 * MiB });
    const keyFlags = ['--sse-c-key', `fileb://${keyFile}`];
    expect((await cp(['-r', src, `s3://${bucket}/csrc/`, ...keyFlags, ...MULTIPART])).code).toBe(0);
    const res = await cp(['-r', `s3://${bucket}/csrc/`, `s3://${bucket}/cdst/`, ...keyFlags, ...MULTIPART]);
    expect(res.code, res.stderr).toBe(0);
    for (const k of ['cdst/a.txt', 'cdst/big.bin']) expect(await head(k, ssec(key)), k).toMatchObject({ SSECustomerKeyMD5: md5(key) });
    expect((await bytesOf('cdst/big.bin', ssec(key))).equals(fs.readFileSync(path.join(src, 'big.bin')))).toBe(true);
    expect((await bytesOf('cdst/a.txt', ssec(key))).toString()).toBe('copied with the key');
  });

  it('a download without the key or with another: one line saying what to pass, exit 1, nothing written', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'x' });
    expect((await cp([path.join(src, 'a.txt'), `s3://${bucket}/k/a.txt`, '--sse-c-key', `fileb://${keyFile}`])).code).toBe(0);
    const other = path.join(tmpdir(), 'other.key');
    fs.writeFileSync(other, randomBytes(32));
    const dst = tmpdir();
    const url = `s3://${bucket}/k/a.txt`;
    const none = await cp([url, `${dst}/`]);
    const wrong = await cp([url, `${dst}/`, '--sse-c-key', `fileb://${other}`]);
    expect([none.code, wrong.code]).toEqual([1, 1]);
    expect(none.stderr.trim()).toBe(`s3xfer: ${url}: refused (HTTP 400, no reason given): if the object is encrypted with SSE-C, pass its key with --sse-c-key fileb://FILE`);
    expect(wrong.stderr.trim()).toBe(`s3xfer: ${url}: access denied (HTTP 403): the --sse-c-key is not the key of this object (or the credentials lack permission)`);
    expect(fs.readdirSync(dst)).toEqual([]);
  });

  it('an upload killed mid-way resumes with the key; the checkpoint holds its MD5, never the key; without it or with another, one line', async () => {
    const front = await slowFront(8 * MiB);
    try {
      const dir = tmpdir();
      makeTree(dir, { 'big.bin': 40 * MiB });
      const file = path.join(dir, 'big.bin');
      const ckpt = path.join(dir, '.ckpt');
      const args = ['cp', file, `s3://${bucket}/resume/big.bin`, '--checkpoint-dir', ckpt, '--sse-c-key', `fileb://${keyFile}`, ...MULTIPART, '--parallel', '2'];
      // Every run through the front: a checkpoint belongs to its endpoint.
      const viaFront = { ...env, AWS_ENDPOINT_URL: front.endpoint };
      const child = spawnCli(args, { env: viaFront });
      await waitFor(() => savedParts(ckpt) >= 2, 40_000, 'the checkpoint to record parts');
      child.kill('SIGKILL');
      await exitOf(child);
      front.unthrottle();
      const ucp = fs.readdirSync(ckpt).find((f) => f.endsWith('.ucp'))!;
      const text = fs.readFileSync(path.join(ckpt, ucp), 'utf8');
      expect(JSON.parse(text).object['sse-c-key-md5']).toBe(md5(key));
      for (const form of [key.toString('base64'), key.toString('hex'), key.toString('latin1')]) expect(text.includes(form)).toBe(false);

      const without = await runCli(args.filter((a, i) => a !== '--sse-c-key' && args[i - 1] !== '--sse-c-key'), { env: viaFront });
      expect(without.code).toBe(1);
      expect(without.stderr).toContain(`was encrypted with an SSE-C key (MD5 ${md5(key)}) and this run has none: pass the same --sse-c-key`);
      const otherKey = path.join(dir, 'other.key');
      fs.writeFileSync(otherKey, randomBytes(32));
      const wrong = await runCli(args.map((a) => (a === `fileb://${keyFile}` ? `fileb://${otherKey}` : a)), { env: viaFront });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('was encrypted with another SSE-C key');
      expect(await openUploads(client, bucket, 'resume/')).toBe(1);

      // `resume` finishes it: the options as recorded, the key given again.
      const again = await runCli(['resume', '--all', '--checkpoint-dir', ckpt, '--sse-c-key', `fileb://${keyFile}`], { env: viaFront });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/resumed big\.bin: \d+ of 8 parts already uploaded/);
      expect((await bytesOf('resume/big.bin', ssec(key))).equals(fs.readFileSync(file))).toBe(true);
      expect(await openUploads(client, bucket, 'resume/')).toBe(0);
    } finally {
      await front.close();
    }
  });

  it('a ranged download killed mid-way resumes with the key; byte-identical; the checkpoint holds no key', async () => {
    const src = makeTree(tmpdir(), { 'big.bin': 40 * MiB });
    const keyFlags = ['--sse-c-key', `fileb://${keyFile}`];
    expect((await cp([path.join(src, 'big.bin'), `s3://${bucket}/dl/big.bin`, ...keyFlags, ...MULTIPART])).code).toBe(0);
    const front = await slowFront(8 * MiB);
    try {
      const dst = tmpdir();
      const ckpt = path.join(tmpdir(), 'ckpt');
      const args = ['cp', `s3://${bucket}/dl/big.bin`, `${dst}/`, '--checkpoint-dir', ckpt, ...keyFlags, ...MULTIPART, '--parallel', '2'];
      const viaFront = { ...env, AWS_ENDPOINT_URL: front.endpoint };
      const child = spawnCli(args, { env: viaFront });
      const dcp = () => (fs.existsSync(ckpt) ? fs.readdirSync(ckpt).find((f) => f.endsWith('.dcp')) : undefined);
      await waitFor(() => {
        const name = dcp();
        if (!name) return false;
        try {
          // Enough kept that a refetch of everything could not pass for a resume below.
          const { ranges } = JSON.parse(fs.readFileSync(path.join(ckpt, name), 'utf8')) as { ranges: { bytesDone: number }[] };
          return ranges.reduce((n, r) => n + r.bytesDone, 0) >= 4 * MiB;
        } catch {
          return false;
        }
      }, 40_000, 'the download checkpoint to record chunks');
      child.kill('SIGKILL');
      await exitOf(child);
      const text = fs.readFileSync(path.join(ckpt, dcp()!), 'utf8');
      const saved = JSON.parse(text) as { object: unknown; ranges: { bytesDone: number }[] };
      expect(saved.object).toEqual({ 'sse-c-key-md5': md5(key) });
      expect(text.includes(key.toString('base64'))).toBe(false);
      const kept = saved.ranges.reduce((n, r) => n + r.bytesDone, 0);
      expect(kept).toBeGreaterThanOrEqual(4 * MiB);

      front.unthrottle();
      front.counted.down = 0;
      const again = await runCli(args, { env: viaFront });
      // Resumed: what the checkpoint kept was not fetched again (TLS framing adds well under 1%).
      expect(front.counted.down, `kept ${kept}; ${again.stdout} ${again.stderr}`).toBeLessThan(40 * MiB - kept + MiB);
      expect(again.code, again.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dst, 'big.bin')).equals(fs.readFileSync(path.join(src, 'big.bin')))).toBe(true);
    } finally {
      await front.close();
    }
  });
});
