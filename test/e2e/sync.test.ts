// `s3xfer sync SRC DST [--delete]`: cp -r -u, and removal of what the source no longer has, only
// after every copy succeeded.
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, e2eContext, runCli, s3Env, spawnCli, tmpdir } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { exitOf, listKeys, makeTree, readTree, waitFor } from './fixtures.js';

const { s3, env, client } = e2eContext();
let bucket: string;
beforeAll(async () => {
  bucket = await createBucket(client);
});
const sync = (args: string[], e = env) => runCli(['sync', ...args], { env: e });
const put = (key: string, body = 'x') => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

describe('sync --delete', () => {
  it('up: removes exactly the objects whose files are gone (a dry run first only says so); excluded ones stay', async () => {
    const src = makeTree(tmpdir(), { a: 'a', b: 'b', 'c/d': 'd', 'c/e': 'e', 'note.tmp': 't' });
    const prefix = `s3://${bucket}/up/`;
    expect((await sync([src, prefix])).code).toBe(0);
    fs.rmSync(path.join(src, 'b'));
    fs.rmSync(path.join(src, 'c/e'));
    fs.writeFileSync(path.join(src, 'f'), 'f');
    await put('up/other/y');
    await put('up/old.tmp');
    await put('upx/not-under-the-prefix');

    const dry = await sync([src, prefix, '--delete', '--dry-run', '--exclude', '*.tmp']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.split('\n').filter((l) => l.includes('would delete')).sort()).toEqual(
      [`(dry run) would delete ${prefix}b`, `(dry run) would delete ${prefix}c/e`, `(dry run) would delete ${prefix}other/y`].sort(),
    );
    expect(await listKeys(client, bucket, 'up/')).toEqual(['up/a', 'up/b', 'up/c/d', 'up/c/e', 'up/note.tmp', 'up/old.tmp', 'up/other/y']);

    const real = await sync([src, prefix, '--delete', '--exclude', '*.tmp']);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/3 deleted, 0 not deleted/);
    expect(await listKeys(client, bucket, 'up')).toEqual(['up/a', 'up/c/d', 'up/f', 'up/note.tmp', 'up/old.tmp', 'upx/not-under-the-prefix']);
  });

  it('nothing is deleted when a transfer failed: exit 1, and the run says why', async () => {
    const src = makeTree(tmpdir(), { a: 'a', g: 'g' });
    const prefix = `s3://${bucket}/fail/`;
    expect((await sync([src, prefix])).code).toBe(0);
    fs.rmSync(path.join(src, 'a'));
    fs.writeFileSync(path.join(src, 'g'), 'g changed');
    fs.utimesSync(path.join(src, 'g'), new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: (r) => r.method === 'PUT', action: { status: 500 } }] });
    try {
      const res = await sync(['--delete', '--retries', '1', src, prefix], s3Env(s3, proxy.endpoint));
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/nothing deleted: 1 transfer\(s\) failed/);
      expect(proxy.requests.filter((r) => r.method === 'POST' || r.method === 'DELETE')).toHaveLength(0);
    } finally {
      await proxy.close();
    }
    expect(await listKeys(client, bucket, 'fail/')).toEqual(['fail/a', 'fail/g']);
  });

  it('Ctrl-C while deleting: exit 130, said so; what was not deleted stays', async () => {
    const src = makeTree(tmpdir(), { a: 'a', b: 'b' });
    const prefix = `s3://${bucket}/int/`;
    expect((await sync([src, prefix])).code).toBe(0);
    fs.rmSync(path.join(src, 'b'));
    // The deletion request is held long enough to interrupt it.
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: (r) => r.method === 'POST' && 'delete' in r.query, action: { delayMs: 5000 } }] });
    try {
      const child = spawnCli(['sync', '--delete', '--no-progress', src, prefix], { env: s3Env(s3, proxy.endpoint) });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitFor(() => proxy.requests.some((r) => r.method === 'POST' && 'delete' in r.query), 20_000, 'the DeleteObjects request');
      child.kill('SIGINT');
      const { code } = await exitOf(child);
      expect(code).toBe(130);
      expect(stderr).toMatch(/interrupted/);
    } finally {
      await proxy.close();
    }
  });

  it('down: removes local files the prefix no longer has; links, excluded files and our temp files stay', async () => {
    const src = makeTree(tmpdir(), { a: 'a', 'c/d': 'd' });
    const prefix = `s3://${bucket}/down/`;
    expect((await sync([src, prefix])).code).toBe(0);
    const temp = '.zzz.s3xfer-999999-0123abcd.part'; // another run's download in progress: not ours to judge
    const dst = makeTree(tmpdir(), { 'gone.txt': 'old', 'c/gone': 'old', 'keep.log': 'log', [temp]: 'partial' });
    const outside = makeTree(tmpdir(), { 'precious': 'p' });
    fs.symlinkSync(outside, path.join(dst, 'link'));
    const res = await sync([prefix, dst, '--delete', '--exclude', '*.log']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/2 deleted/);
    // (readTree may or may not list what is behind the link, depending on the order the directory reads in.)
    expect(Object.keys(readTree(dst)).filter((f) => !f.startsWith('link/')).sort()).toEqual([temp, 'a', 'c/d', 'keep.log']);
    expect(fs.readlinkSync(path.join(dst, 'link'))).toBe(outside);
    expect(fs.readFileSync(path.join(outside, 'precious'), 'utf8')).toBe('p');
  });

  it('S3 to S3: removes the destination objects the source prefix no longer has', async () => {
    await put('s2s/src/a');
    await put('s2s/src/b');
    expect((await sync([`s3://${bucket}/s2s/src/`, `s3://${bucket}/s2s/dst/`])).code).toBe(0);
    await put('s2s/dst/stale');
    const res = await sync(['--delete', `s3://${bucket}/s2s/src/`, `s3://${bucket}/s2s/dst/`]);
    expect(res.code, res.stderr).toBe(0);
    expect(await listKeys(client, bucket, 's2s/dst/')).toEqual(['s2s/dst/a', 's2s/dst/b']);
  });

  it('a single file as the source is refused with --delete (exit 2)', async () => {
    const src = makeTree(tmpdir(), { a: 'a' });
    const res = await sync(['--delete', path.join(src, 'a'), `s3://${bucket}/single/`]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/sync --delete needs a directory as its source/);
  });
});
