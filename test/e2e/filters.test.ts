// Size and time filters on trees, each direction against MinIO: the keys or files that exist afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, e2eContext, runCli, tmpdir } from '../helpers/cli.js';
import { listKeys, makeTree, readTree } from './fixtures.js';

const { env, client } = e2eContext();
let bucket: string;
beforeAll(async () => {
  bucket = await createBucket(client);
});

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('--min-size/--max-size, --min-age/--max-age, --newer-than/--older-than', () => {
  it('upload: file sizes and mtimes decide, combined with --exclude', async () => {
    const src = makeTree(tmpdir(), { 'tiny.txt': 'x', 'mid.txt': 'x'.repeat(1000), 'big.txt': 'x'.repeat(5000), 'mid.log': 'x'.repeat(1000), 'old/mid.txt': 'y'.repeat(1000) });
    const old = new Date(Date.now() - 10 * DAY);
    fs.utimesSync(path.join(src, 'old/mid.txt'), old, old);
    const res = await runCli(['cp', '-r', '--no-progress', src, `s3://${bucket}/up/`, '--min-size', '100', '--max-size', '4KB', '--max-age', '7d', '--exclude', '*.log'], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'up/')).toEqual(['up/mid.txt']);
    // The other side of the age line, from the config file this time.
    const config = path.join(tmpdir(), 'config.yaml');
    fs.writeFileSync(config, 'min-age: 7d\n');
    const older = await runCli(['cp', '-r', '--no-progress', '--config', config, src, `s3://${bucket}/old/`], { env });
    expect(older.code, older.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'old/')).toEqual(['old/old/mid.txt']);
  });

  it('download and server-side copy: LastModified and size from the listing decide', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'd/first.bin', Body: 'a'.repeat(10) }));
    await sleep(1500);
    const between = new Date().toISOString();
    await sleep(1500);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'd/second.bin', Body: 'b'.repeat(10) }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'd/second-small.bin', Body: 'b' }));
    const newer = tmpdir();
    const a = await runCli(['cp', '-r', '--no-progress', '--newer-than', between, '--min-size', '2', `s3://${bucket}/d/`, newer], { env });
    expect(a.code, a.stderr).toBe(0);
    expect(Object.keys(readTree(newer))).toEqual(['second.bin']);
    const older = tmpdir();
    const b = await runCli(['cp', '-r', '--no-progress', `s3://${bucket}/d/`, older], { env: { ...env, S3XFER_OLDER_THAN: between } });
    expect(b.code, b.stderr).toBe(0);
    expect(Object.keys(readTree(older))).toEqual(['first.bin']);
    const c = await runCli(['cp', '-r', '--no-progress', '--max-size', '1', `s3://${bucket}/d/`, `s3://${bucket}/copied/`], { env });
    expect(c.code, c.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'copied/')).toEqual(['copied/second-small.bin']);
  });

  it.each([
    [['--min-size', 'big'], /invalid --min-size 'big'/],
    [['--max-age', '7'], /invalid --max-age '7'/],
    [['--newer-than', 'yesterday'], /invalid --newer-than 'yesterday': use a date or time/],
    [['--older-than', '2026-13-01'], /invalid --older-than '2026-13-01'/],
  ])('%j is a usage error (exit 2, one line)', async (flags, message) => {
    const res = await runCli(['cp', '-r', ...flags, 'src', `s3://${bucket}/x/`], { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a bad value in S3XFER_* or the config file names the key', async () => {
    const env2 = await runCli(['cp', '-r', 'src', `s3://${bucket}/x/`], { env: { ...env, S3XFER_MIN_AGE: 'soon' } });
    expect(env2.code).toBe(2);
    expect(env2.stderr).toMatch(/invalid min-age 'soon'/);
    const config = path.join(tmpdir(), 'config.yaml');
    fs.writeFileSync(config, 'bwlimit: lots\n');
    const file = await runCli(['cp', '--config', config, 'package.json', `s3://${bucket}/x`], { env });
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/invalid bwlimit 'lots'/);
  });
});
