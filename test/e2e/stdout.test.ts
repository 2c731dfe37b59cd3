// `cp s3://b/key -` (the object's bytes on standard output) and `--version-id`.
import fs from 'node:fs';
import path from 'node:path';
import { PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, e2eContext, s3Env, spawnCli, tmpdir, type CliOptions } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, exitOf, listUploads } from './fixtures.js';
import { isObjectGet } from './interrupt.js';

const { s3, env, client } = e2eContext();
let bucket: string;
beforeAll(async () => {
  bucket = await createBucket(client);
});

const bytesOf = (size: number, seed: number) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b;
};
const put = (key: string, body: Buffer | string, b = bucket) => client.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body }));

/** Run the CLI with stdout kept as bytes. */
async function runBinary(args: string[], opts: CliOptions = {}) {
  // Never the repository: a download that misreads '-' must not land in it.
  const child = spawnCli(args, { cwd: tmpdir(), ...opts });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  const { code } = await exitOf(child);
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
}

describe('cp s3://b/key - (standard output)', () => {
  it('a large object: its bytes, in order, and nothing else on stdout; lines go to stderr', async () => {
    const content = bytesOf(40 * MiB + 123, 7);
    await put('big.bin', content);
    const cwd = tmpdir();
    const res = await runBinary(['cp', '--no-progress', `s3://${bucket}/big.bin`, '-'], { env, cwd });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.length).toBe(content.length);
    expect(res.stdout.equals(content)).toBe(true);
    // Nothing written to disk: no temp file, no checkpoint.
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('an object s3xfer uploaded in parts (composite CRC32C) streams and verifies; an empty object is empty', async () => {
    const dir = tmpdir();
    const content = bytesOf(21 * MiB, 3);
    fs.writeFileSync(path.join(dir, 'multi.bin'), content);
    const up = await runBinary(['cp', '--no-progress', '--part-size', '5MiB', '--bigfile-threshold', '5MiB', path.join(dir, 'multi.bin'), `s3://${bucket}/multi.bin`], { env });
    expect(up.code, up.stderr).toBe(0);
    const res = await runBinary(['cp', '--no-progress', `s3://${bucket}/multi.bin`, '-'], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.equals(content)).toBe(true);
    expect(res.stderr).not.toMatch(/not verified/);
    await put('empty', Buffer.alloc(0));
    const empty = await runBinary(['cp', '--no-progress', `s3://${bucket}/empty`, '-'], { env });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout.length).toBe(0);
  });

  it('a body cut mid-way: the retry continues at the byte offset; the output is byte-identical', async () => {
    const content = bytesOf(12 * MiB + 5, 11);
    await put('cut.bin', content);
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isObjectGet, action: { resetAfterBytes: 5 * MiB + 77, times: 1 } }] });
    const res = await runBinary(['cp', '--no-progress', `s3://${bucket}/cut.bin`, '-'], { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.equals(content)).toBe(true);
    const gets = proxy.requests.filter(isObjectGet);
    expect(gets).toHaveLength(2);
    expect(gets[0]!.headers.range).toBeUndefined();
    // The second GET starts where the output stopped (a byte offset, not a chunk boundary), pinned to the ETag.
    const start = Number(/^bytes=(\d+)-/.exec(String(gets[1]!.headers.range))?.[1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(5 * MiB + 77);
    expect(gets[1]!.headers['if-match']).toBeTruthy();
    expect(gets[0]!.responseBytes + gets[1]!.responseBytes - (5 * MiB + 77 - start)).toBe(content.length);
  });

  it('--json: the events go to stderr, stdout holds only the bytes', async () => {
    await put('j.txt', 'hello json');
    const res = await runBinary(['cp', '--json', `s3://${bucket}/j.txt`, '-'], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.toString()).toBe('hello json');
    const events = res.stderr.trim().split('\n').map((l) => JSON.parse(l) as { type: string; destination?: string });
    expect(events.map((e) => e.type)).toEqual(['start', 'done', 'summary']);
    expect(events[0]!.destination).toBe('-');
  });

  it('a reader that goes away (| head -c 100): a quiet exit 0, nothing left behind', async () => {
    await put('long.bin', bytesOf(30 * MiB, 5));
    // Slowed so the reader is gone long before the end.
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isObjectGet, action: { responseBytesPerSecond: 8 * MiB } }] });
    const cwd = tmpdir();
    const child = spawnCli(['cp', '--no-progress', `s3://${bucket}/long.bin`, '-'], { env: s3Env(s3, proxy.endpoint), cwd });
    const err: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const first = await new Promise<Buffer>((resolve) => child.stdout!.once('data', resolve));
    child.stdout!.destroy();
    const { code } = await exitOf(child);
    await proxy.close();
    expect(first.length).toBeGreaterThan(0);
    expect(code).toBe(0);
    const stderr = Buffer.concat(err).toString();
    expect(stderr).not.toMatch(/error|Error|at .*\.js/);
    expect(stderr).not.toMatch(/lines are no longer printed/);
    // It stopped instead of fetching the rest.
    expect(proxy.requests.filter(isObjectGet).reduce((n, r) => n + r.responseBytes, 0)).toBeLessThan(30 * MiB);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('Ctrl-C: exit 130, and stderr says the output is only the first part', async () => {
    await put('int.bin', bytesOf(20 * MiB, 9));
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isObjectGet, action: { responseBytesPerSecond: 4 * MiB } }] });
    const child = spawnCli(['cp', '--no-progress', `s3://${bucket}/int.bin`, '-'], { env: s3Env(s3, proxy.endpoint) });
    let got = 0;
    child.stdout!.on('data', (b: Buffer) => (got += b.length));
    const err: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    while (got === 0) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const { code } = await exitOf(child);
    await proxy.close();
    expect(code).toBe(130);
    expect(got).toBeLessThan(20 * MiB);
    expect(Buffer.concat(err).toString()).toMatch(/interrupted — standard output holds only the first part of the object/);
  });

  it.each([
    [['-r', 's3://B/p/', '-'], /-r cannot write to standard output/],
    [['s3://B/p/', '-'], /is a prefix, not an object/],
    [['s3://B/missing', '-'], /no such object/],
    [['-u', 's3://B/j.txt', '-'], /-u compares with a destination file/],
  ])('refused: cp %j (exit 2, one line)', async (args, message) => {
    const res = await runBinary(['cp', ...args.map((a) => a.replace('B', bucket))], { env });
    expect(res.code).toBe(2);
    expect(res.stdout.length).toBe(0);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('--version-id', () => {
  let versioned: string;
  let v1: string;
  let v2: string;
  const one = bytesOf(3 * MiB, 1);
  const two = bytesOf(20 * MiB + 9, 2);
  beforeAll(async () => {
    versioned = await createBucket(client, 'v');
    await client.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
    v1 = (await put('doc.bin', one, versioned)).VersionId!;
    v2 = (await put('doc.bin', two, versioned)).VersionId!;
    expect(v1).toBeTruthy();
    expect(v1).not.toBe(v2);
  });

  it('downloads the version asked for, not the latest; the GET names it', async () => {
    const dir = tmpdir();
    const proxy = await startProxy({ target: s3.endpoint });
    const res = await runBinary(['cp', '--no-progress', '--version-id', v1, `s3://${versioned}/doc.bin`, path.join(dir, 'old.bin')], { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'old.bin')).equals(one)).toBe(true);
    expect(proxy.requests.filter(isObjectGet).every((r) => r.query.versionId === v1)).toBe(true);
  });

  it('to standard output, and a ranged download of an older version whose checkpoint records it', async () => {
    const out = await runBinary(['cp', '--version-id', v1, `s3://${versioned}/doc.bin`, '-'], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.equals(one)).toBe(true);
    // v3 on top, then the ranged download of v2 is killed mid-way and resumed.
    await put('doc.bin', 'latest', versioned);
    const dir = tmpdir();
    const ckpt = path.join(dir, '.ckpt');
    const dest = path.join(dir, 'v2.bin');
    const slow = await startProxy({ target: s3.endpoint, rules: [{ match: isObjectGet, action: { responseBytesPerSecond: 4 * MiB } }] });
    const args = ['cp', '--no-progress', '--bigfile-threshold', '5MiB', '--part-size', '5MiB', '--parallel', '2', '--checkpoint-dir', ckpt, '--version-id', v2, `s3://${versioned}/doc.bin`, dest];
    const child = spawnCli(args, { env: s3Env(s3, slow.endpoint) });
    const dcp = () => (fs.existsSync(ckpt) ? fs.readdirSync(ckpt).filter((f) => f.endsWith('.dcp')) : []);
    const deadline = Date.now() + 20_000;
    while (dcp().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGKILL');
    await exitOf(child);
    await slow.close();
    const recorded = JSON.parse(fs.readFileSync(path.join(ckpt, dcp()[0]!), 'utf8')) as { source: { versionId?: string } };
    expect(recorded.source.versionId).toBe(v2);
    const rerun = await runBinary(args, { env });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(fs.readFileSync(dest).equals(two)).toBe(true);
    expect(await listUploads(client, versioned)).toEqual([]);
  });

  it('a server-side copy of an older version', async () => {
    const res = await runBinary(['cp', '--no-progress', '--version-id', v1, `s3://${versioned}/doc.bin`, `s3://${bucket}/copied-v1.bin`], { env });
    expect(res.code, res.stderr).toBe(0);
    const out = await runBinary(['cp', `s3://${bucket}/copied-v1.bin`, '-'], { env });
    expect(out.stdout.equals(one)).toBe(true);
  });

  it.each([
    [['--version-id', 'nope-not-a-version', 's3://V/doc.bin', '-'], /doc\.bin: no version 'nope-not-a-version'|nope-not-a-version/],
    [['--version-id', 'x', '-r', 's3://V/', 'out/'], /--version-id .* cannot be used with -r/],
    [['--version-id', 'x', 'package.json', 's3://V/p.json'], /--version-id picks a version of the source object/],
  ])('refused: cp %j (exit 2)', async (args, message) => {
    const res = await runBinary(['cp', ...args.map((a) => a.replace('s3://V', `s3://${versioned}`))], { env });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(message);
  });
});
