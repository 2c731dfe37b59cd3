import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, runCli, s3Env, spawnCli, tmpdir, e2eContext } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, exitOf, tempFiles, waitFor } from './fixtures.js';
import { fetchedBytes, isObjectGet } from './interrupt.js';

const { s3, client } = e2eContext();
let bucket: string;
const SIZE = 64 * MiB;
const FLAGS = ['--part-size', '5MiB', '--bigfile-threshold', '5MiB', '--parallel', '2', '--no-progress'];

beforeAll(async () => void (bucket = await createBucket(client)));

const fetched = fetchedBytes;

function dcpIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.dcp(\.corrupt)?$/.test(f)) : [];
}

interface Dcp {
  destination: { tempPath: string };
  chunkSize: number;
  partSize: number;
  ranges: { partNumber: number; bytesDone: number; chunkCrcs: string[] }[];
}
const readDcp = (ckpt: string): Dcp => JSON.parse(fs.readFileSync(path.join(ckpt, dcpIn(ckpt)[0]!), 'utf8')) as Dcp;
const bytesDone = (d: Dcp) => d.ranges.reduce((n, r) => n + r.bytesDone, 0);

/** Upload `content` as `key`, start downloading it through a slow link, and stop the CLI midway. */
async function interruptedDownload(key: string, signal: NodeJS.Signals, content: Buffer) {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content }));
  const proxy = await startProxy({
    target: s3.endpoint,
    rules: [{ match: (r) => isObjectGet(r) && Boolean(r.headers.range), action: { responseBytesPerSecond: 8 * MiB } }],
  });
  const dir = tmpdir();
  const out = path.join(dir, 'restore');
  const ckpt = path.join(dir, '.ckpt');
  const args = ['cp', `s3://${bucket}/${key}`, `${out}/`, '--checkpoint-dir', ckpt, ...FLAGS];
  const child = spawnCli(args, { env: s3Env(s3, proxy.endpoint) });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(() => fetched(proxy.requests) > 20 * MiB, 15_000, '20 MiB fetched');
  child.kill(signal);
  const exit = await exitOf(child);
  const dest = path.join(out, path.basename(key));
  return { proxy, dir, out, dest, ckpt, args, exit, stderr: () => stderr };
}

const objectBytes = (seed: number) => {
  const b = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b;
};

describe('resumable downloads', () => {
  it('SIGKILL midway, rerun the same command: fetches only what was missing, never a partial file', async () => {
    const content = objectBytes(1);
    const run = await interruptedDownload('kill/big.bin', 'SIGKILL', content);
    try {
      expect(fs.existsSync(run.dest)).toBe(false);
      expect(dcpIn(run.ckpt)).toHaveLength(1);
      const dcp = readDcp(run.ckpt);
      expect(fs.existsSync(dcp.destination.tempPath)).toBe(true);
      const done = bytesDone(dcp);
      expect(done).toBeGreaterThan(5 * MiB);
      expect(done).toBeLessThan(SIZE);
      // Ranges need not be contiguous: the checkpoint records each range's own progress.
      expect(dcp.ranges.length).toBeGreaterThanOrEqual(2);

      run.proxy.setRules([]);
      run.proxy.clear();
      const again = await runCli(run.args, { env: s3Env(s3, run.proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      expect(fetched(run.proxy.requests)).toBe(SIZE - done);
      expect(fs.readFileSync(run.dest).equals(content)).toBe(true);
      expect(dcpIn(run.ckpt)).toEqual([]);
      expect(tempFiles(run.out)).toEqual([]);
    } finally {
      await run.proxy.close();
    }
  });

  it('SIGINT: exit 130, says how to resume', async () => {
    const run = await interruptedDownload('int/big.bin', 'SIGINT', objectBytes(2));
    try {
      expect(run.exit.code).toBe(130);
      expect(run.stderr()).toMatch(/interrupted — rerun the same command to resume \(\d+\/13 parts downloaded\)/);
      expect(fs.existsSync(run.dest)).toBe(false);
      expect(dcpIn(run.ckpt)).toHaveLength(1);
      run.proxy.setRules([]);
      const again = await runCli(run.args, { env: s3Env(s3, run.proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      expect(fs.readFileSync(run.dest).equals(objectBytes(2))).toBe(true);
    } finally {
      await run.proxy.close();
    }
  });

  it('object overwritten between runs: says so, starts over, gets the new content', async () => {
    const run = await interruptedDownload('changed/big.bin', 'SIGKILL', objectBytes(3));
    try {
      const oldTemp = readDcp(run.ckpt).destination.tempPath;
      const newer = objectBytes(4);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'changed/big.bin', Body: newer }));
      run.proxy.setRules([]);
      run.proxy.clear();
      const again = await runCli(run.args, { env: s3Env(s3, run.proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/checkpoint for s3:\/\/.*changed\/big.bin not used: .* changed on the server since the checkpoint \(ETag or size\); starting over/);
      expect(fetched(run.proxy.requests)).toBe(SIZE);
      expect(fs.readFileSync(run.dest).equals(newer)).toBe(true);
      expect(fs.existsSync(oldTemp)).toBe(false);
      expect(tempFiles(run.out)).toEqual([]);
    } finally {
      await run.proxy.close();
    }
  });

  it.each([
    ['tampered', (temp: string, dcp: Dcp) => {
      // Flip bytes inside the first recorded chunk of the first range.
      const fd = fs.openSync(temp, 'r+');
      fs.writeSync(fd, Buffer.from('garbage!'), 0, 8, (dcp.ranges[0]!.partNumber - 1) * dcp.partSize + 100);
      fs.closeSync(fd);
    }],
    ['truncated', (temp: string) => fs.truncateSync(temp, 3 * MiB)],
  ])('%s temp file: the bad chunks are fetched again and the result is correct', async (_name, spoil) => {
    const content = objectBytes(5);
    const run = await interruptedDownload(`spoil/${_name}.bin`, 'SIGKILL', content);
    try {
      const dcp = readDcp(run.ckpt);
      spoil(dcp.destination.tempPath, dcp);
      run.proxy.setRules([]);
      run.proxy.clear();
      const again = await runCli(run.args, { env: s3Env(s3, run.proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/did not match the checkpoint .*; fetching it again/);
      const refetched = fetched(run.proxy.requests);
      expect(refetched).toBeGreaterThan(SIZE - bytesDone(dcp));
      expect(refetched).toBeLessThan(SIZE);
      expect(fs.readFileSync(run.dest).equals(content)).toBe(true);
    } finally {
      await run.proxy.close();
    }
  });

  it('a connection cut mid-range is retried from the last chunk written, in the same run', async () => {
    const content = objectBytes(6);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cut/big.bin', Body: content }));
    const proxy = await startProxy({
      target: s3.endpoint,
      rules: [{ match: (r) => isObjectGet(r) && r.headers.range === 'bytes=0-5242879', action: { resetAfterBytes: 3 * MiB + 1000, times: 1 } }],
    });
    try {
      const dir = tmpdir();
      const res = await runCli(['cp', `s3://${bucket}/cut/big.bin`, path.join(dir, 'big.bin'), ...FLAGS], { env: s3Env(s3, proxy.endpoint) });
      expect(res.code, res.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'big.bin')).equals(content)).toBe(true);
      const firstRange = proxy.requests.filter((r) => isObjectGet(r) && /^bytes=\d+-5242879$/.test(String(r.headers.range)));
      expect(firstRange.map((r) => r.headers.range)).toEqual(['bytes=0-5242879', `bytes=${3 * MiB}-5242879`]);
    } finally {
      await proxy.close();
    }
  });

  it('cp -r with checkpoints: a rerun does not fetch again the objects that were complete', async () => {
    for (const k of ['a.txt', 'b.txt']) await client.send(new PutObjectCommand({ Bucket: bucket, Key: `tree/${k}`, Body: k }));
    const run = await interruptedDownload('tree/z-big.bin', 'SIGKILL', objectBytes(7));
    try {
      // The interrupted run was a single-file copy; now copy the whole prefix, then kill and rerun it.
      const treeArgs = ['cp', '-r', `s3://${bucket}/tree/`, run.out, '--checkpoint-dir', run.ckpt, ...FLAGS];
      run.proxy.clear();
      const child = spawnCli(treeArgs, { env: s3Env(s3, run.proxy.endpoint) });
      await waitFor(() => run.proxy.requests.some((r) => isObjectGet(r) && r.path.endsWith('b.txt') && r.status === 200), 20_000, 'small files');
      await waitFor(() => fetched(run.proxy.requests) > 2 * MiB, 20_000, 'some progress');
      child.kill('SIGKILL');
      await exitOf(child);

      run.proxy.setRules([]);
      run.proxy.clear();
      const again = await runCli(treeArgs, { env: s3Env(s3, run.proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      expect(run.proxy.requests.filter((r) => isObjectGet(r) && !r.headers.range)).toEqual([]);
      expect(again.stdout).toMatch(/skipped .*a.txt: already copied/);
      expect(fs.readFileSync(path.join(run.out, 'z-big.bin')).equals(objectBytes(7))).toBe(true);
      expect(fs.readFileSync(path.join(run.out, 'a.txt'), 'utf8')).toBe('a.txt');
      expect(dcpIn(run.ckpt)).toEqual([]);
      expect(tempFiles(run.out)).toEqual([]);
    } finally {
      await run.proxy.close();
    }
  });

  it('without --checkpoint-dir, a failed download removes its temp file', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'fail/big.bin', Body: objectBytes(8) }));
    const proxy = await startProxy({
      target: s3.endpoint,
      rules: [{ match: (r) => isObjectGet(r) && Boolean(r.headers.range), action: { status: 500 } }],
    });
    try {
      const dir = tmpdir();
      const res = await runCli(['cp', `s3://${bucket}/fail/big.bin`, `${dir}/`, '--retries', '2', ...FLAGS], { env: s3Env(s3, proxy.endpoint) });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/error: .*InternalError/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});
