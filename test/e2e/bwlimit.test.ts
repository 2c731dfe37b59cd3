// --bwlimit: one budget for the whole run, uploads and downloads alike. The rate is measured from the
// run's own events (first start to last done) and the bytes that crossed; the margin is 15%.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, e2eContext, runCli, s3Env, tmpdir } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, getBytes, makeTree, readTree } from './fixtures.js';
import { isObjectGet } from './interrupt.js';

const { s3, env, client } = e2eContext();
let bucket: string;
beforeAll(async () => {
  bucket = await createBucket(client);
});

/** Each file's SHA-256: a deep equal of megabytes of Buffers takes minutes. */
const digests = (root: string) => Object.fromEntries(Object.entries(readTree(root)).map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')]));

/** Low enough that two loaded cores reach it with room to spare. */
const CAP = 8 * MiB;

interface Event {
  type: string;
  time: string;
  size?: number;
  bytesSent?: number;
}

/** Bytes per second over the transfers themselves: the first start to the last done. */
function measuredRate(stdout: string): { rate: number; bytes: number; seconds: number } {
  const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as Event);
  const starts = events.filter((e) => e.type === 'start').map((e) => Date.parse(e.time));
  const done = events.filter((e) => e.type === 'done');
  const bytes = done.reduce((n, e) => n + (e.bytesSent ?? 0), 0);
  const seconds = (Math.max(...done.map((e) => Date.parse(e.time))) - Math.min(...starts)) / 1000;
  return { rate: bytes / seconds, bytes, seconds };
}

function expectNearCap(m: { rate: number; bytes: number; seconds: number }, cap: number): void {
  const ratio = m.rate / cap;
  console.log(`--bwlimit ${cap / 1024} KiB/s: ${m.bytes} bytes in ${m.seconds} s = ${(ratio * 100).toFixed(1)}% of the cap`);
  expect(ratio, `${(m.rate / MiB).toFixed(2)} MiB/s measured (${m.bytes} bytes in ${m.seconds} s) for a cap of ${cap / MiB} MiB/s`).toBeGreaterThan(0.85);
  expect(ratio, `${(m.rate / MiB).toFixed(2)} MiB/s measured for a cap of ${cap / MiB} MiB/s`).toBeLessThan(1.15);
}

describe('--bwlimit', () => {
  it('an upload in parallel parts runs at the cap', async () => {
    const dir = tmpdir();
    makeTree(dir, { 'up.bin': 24 * MiB });
    const res = await runCli(['cp', '--json', '--bwlimit', '8MiB/s', path.join(dir, 'up.bin'), `s3://${bucket}/up.bin`], { env });
    expect(res.code, res.stderr).toBe(0);
    expect((await getBytes(client, bucket, 'up.bin')).equals(fs.readFileSync(path.join(dir, 'up.bin')))).toBe(true);
    expectNearCap(measuredRate(res.stdout), CAP);
  });

  it('a ranged download runs at the cap', async () => {
    const content = fs.readFileSync(path.join(makeTree(tmpdir(), { 'd.bin': 24 * MiB }), 'd.bin'));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'down.bin', Body: content }));
    const dir = tmpdir();
    const res = await runCli(['cp', '--json', '--bwlimit', '8M', `s3://${bucket}/down.bin`, path.join(dir, 'down.bin')], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'down.bin')).equals(content)).toBe(true);
    expectNearCap(measuredRate(res.stdout), CAP);
  });

  it('several files at once share one budget, both ways (not a cap each)', async () => {
    const src = makeTree(tmpdir(), { 'a.bin': 6 * MiB, 'b.bin': 6 * MiB, 'c.bin': 6 * MiB, 'd.bin': 6 * MiB + 17 });
    const up = await runCli(['cp', '-r', '--json', '-j', '4', '--bwlimit', '8MiB/s', src, `s3://${bucket}/tree/`], { env });
    expect(up.code, up.stderr).toBe(0);
    expectNearCap(measuredRate(up.stdout), CAP);
    const dst = tmpdir();
    const down = await runCli(['cp', '-r', '--json', '-j', '4', `s3://${bucket}/tree/`, dst], { env: { ...env, S3XFER_BWLIMIT: '8MiB/s' } });
    expect(down.code, down.stderr).toBe(0);
    expectNearCap(measuredRate(down.stdout), CAP);
    expect(digests(dst)).toEqual(digests(src));
  });

  it('a paced connection is not judged stalled: waits far longer than --stall-timeout, no request retried', async () => {
    // Four files at once at 256 KiB/s: each connection waits ~2 s between its slices, twice the stall timeout.
    const src = makeTree(tmpdir(), { 'a.bin': 256 * 1024, 'b.bin': 256 * 1024, 'c.bin': 256 * 1024, 'd.bin': 256 * 1024 });
    const proxy = await startProxy({ target: s3.endpoint });
    const flags = ['-r', '--json', '-j', '4', '--bwlimit', '256KiB/s', '--stall-timeout', '1s'];
    const up = await runCli(['cp', ...flags, src, `s3://${bucket}/slow/`], { env: s3Env(s3, proxy.endpoint) });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).not.toMatch(/"type":"retry"/);
    expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(4);
    const dst = tmpdir();
    const down = await runCli(['cp', ...flags, `s3://${bucket}/slow/`, dst], { env: s3Env(s3, proxy.endpoint) });
    await proxy.close();
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).not.toMatch(/"type":"retry"/);
    expect(proxy.requests.filter(isObjectGet)).toHaveLength(4);
    expect(digests(dst)).toEqual(digests(src));
    expectNearCap(measuredRate(down.stdout), 256 * 1024);
  });

  it.each([['fast'], ['10 bits'], ['512']])('--bwlimit %j is a usage error (exit 2, one line)', async (value) => {
    const res = await runCli(['cp', '--bwlimit', value, 'package.json', `s3://${bucket}/x`], { env });
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toMatch(/^s3xfer: invalid --bwlimit '.*': use a rate such as 50MiB\/s/);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('--bwlimit on the streams', () => {
  it('standard input up and standard output down run at the cap', async () => {
    // Standard input is read two parts ahead before the first byte goes (unknown length): small parts, more
    // of them, so that read-ahead (slow on a loaded machine) is a small share of the time measured.
    const content = fs.readFileSync(path.join(makeTree(tmpdir(), { 's.bin': 40 * MiB }), 's.bin'));
    const up = await runCli(['cp', '--json', '--part-size', '5MiB', '--bwlimit', '8MiB/s', '-', `s3://${bucket}/stdin.bin`], { env, input: content });
    expect(up.code, up.stderr).toBe(0);
    expect((await getBytes(client, bucket, 'stdin.bin')).equals(content)).toBe(true);
    expectNearCap(measuredRate(up.stdout), CAP);
    // To stdout, the events are on stderr.
    const down = await runCli(['cp', '--json', '--bwlimit', '8MiB/s', `s3://${bucket}/stdin.bin`, '-'], { env });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout.length).toBeGreaterThan(0);
    expectNearCap(measuredRate(down.stderr), CAP);
  });
});
