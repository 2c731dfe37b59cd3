// Hostile but real inputs: names that are not UTF-8, collide, are 255 bytes long or start with dots;
// destinations that hold symbolic links; our own checkpoints and temp files inside the tree.
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, runCli, s3Env, tmpdir, e2eContext } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { getBytes, listKeys, makeTree, tempFiles } from './fixtures.js';
import { serializeCheckpoint, type DownloadCheckpoint } from '../../src/checkpoint/schema.js';

const { s3, env, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

const cp = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(['cp', '--no-progress', ...args], { env: { ...env, ...extraEnv } });
const put = (key: string, body: string | Buffer) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
const noTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);
const raw = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('names that are not UTF-8', () => {
  it('are uploaded under a reversible key and restored with their original bytes', async () => {
    const src = makeTree(tmpdir(), { 'plain.txt': 'p' });
    const latin1 = raw(src, '/caf', [0xe9], '.txt');
    const nested = raw(src, '/d', [0xff, 0xfe], '/x', [0x80]);
    fs.writeFileSync(latin1, 'latin-1');
    fs.mkdirSync(raw(src, '/d', [0xff, 0xfe]));
    fs.writeFileSync(nested, 'nested');
    fs.writeFileSync(path.join(src, 'quote‛E9.txt'), 'a real quote');
    const up = await cp(['-r', src, `s3://${bucket}/nonutf8/`]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).not.toContain('broken symbolic link');
    expect(await listKeys(client, bucket, 'nonutf8/')).toEqual(
      ['nonutf8/caf‛E9.txt', 'nonutf8/d‛FF‛FE/x‛80', 'nonutf8/plain.txt', 'nonutf8/quote‛‛E9.txt'].sort(),
    );
    expect((await getBytes(client, bucket, 'nonutf8/caf‛E9.txt')).toString()).toBe('latin-1');

    const out = tmpdir();
    const down = await cp(['-r', `s3://${bucket}/nonutf8/`, `${out}/`]);
    expect(down.code, down.stderr).toBe(0);
    expect(fs.readFileSync(raw(out, '/caf', [0xe9], '.txt'), 'utf8')).toBe('latin-1');
    expect(fs.readFileSync(raw(out, '/d', [0xff, 0xfe], '/x', [0x80]), 'utf8')).toBe('nested');
    expect(fs.readFileSync(path.join(out, 'quote‛E9.txt'), 'utf8')).toBe('a real quote');
  });

  it('-u on a tree with such names skips them when unchanged', async () => {
    const src = tmpdir();
    fs.writeFileSync(raw(src, '/n', [0xe9]), 'x');
    expect((await cp(['-r', src, `s3://${bucket}/nonutf8u/`])).code).toBe(0);
    const again = await cp(['-r', '-u', src, `s3://${bucket}/nonutf8u/`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/skipped .*n‛E9: destination is up to date/);
  });
});

describe('names that are valid but awkward', () => {
  it('names starting with dots are ordinary names, both ways', async () => {
    const src = makeTree(tmpdir(), { '..hidden': 'h', '...': 'd', '..x/y': 'y' });
    expect((await cp(['-r', src, `s3://${bucket}/dots/`])).code).toBe(0);
    const out = tmpdir();
    const down = await cp(['-r', `s3://${bucket}/dots/`, out]);
    expect(down.code, down.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, '..hidden'), 'utf8')).toBe('h');
    expect(fs.readFileSync(path.join(out, '...'), 'utf8')).toBe('d');
    expect(fs.readFileSync(path.join(out, '..x', 'y'), 'utf8')).toBe('y');
  });

  it('a 255-byte file name downloads (its temp name still fits NAME_MAX), single and ranged', async () => {
    const name = 'n'.repeat(255);
    await put(`long/${name}`, 'small');
    await put(`long/big/${name}`, Buffer.alloc(6 * 1024 * 1024, 7));
    const out = tmpdir();
    const res = await cp(['-r', `s3://${bucket}/long/`, out, '--bigfile-threshold', '5MiB', '--part-size', '5MiB']);
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, name), 'utf8')).toBe('small');
    expect(fs.statSync(path.join(out, 'big', name)).size).toBe(6 * 1024 * 1024);
  });

  it('two keys that map to one local path are an error naming both; neither is written', async () => {
    await put('coll/q‛‛', 'one');
    await put('coll/q‛', 'two');
    await put('coll/fine', 'ok');
    const out = tmpdir();
    const res = await cp(['-r', `s3://${bucket}/coll/`, out]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`s3://${bucket}/coll/q‛‛ and s3://${bucket}/coll/q‛ map to the same local path`);
    expect(fs.readdirSync(out)).toEqual(['fine']);
  });
});

describe('destinations that hold symbolic links', () => {
  it('a link to a directory outside the destination is not written through', async () => {
    await put('tree/docs/a.txt', 'a');
    await put('tree/docs/sub/b.txt', 'b');
    await put('tree/top.txt', 't');
    const restore = tmpdir();
    const elsewhere = tmpdir();
    fs.symlinkSync(elsewhere, path.join(restore, 'docs'));
    const res = await cp(['-r', `s3://${bucket}/tree/`, `${restore}/`]);
    expect(res.code).toBe(1);
    noTrace(res.stderr);
    expect(res.stderr).toContain(`${path.join(restore, 'docs')} is a symbolic link inside the destination`);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    expect(fs.readFileSync(path.join(restore, 'top.txt'), 'utf8')).toBe('t');
  });

  it('the destination root itself may be a link: the user named it', async () => {
    await put('rootlink/f.txt', 'f');
    const real = tmpdir();
    const link = path.join(tmpdir(), 'link');
    fs.symlinkSync(real, link);
    const res = await cp(['-r', `s3://${bucket}/rootlink/`, link]);
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readFileSync(path.join(real, 'f.txt'), 'utf8')).toBe('f');
  });

  it('checkpoint clean deletes no file a checkpoint names unless it is our temp file beside its destination', async () => {
    const dir = tmpdir();
    const ckpt = path.join(dir, 'ck');
    fs.mkdirSync(ckpt, { mode: 0o700 });
    const victim = path.join(dir, 'precious.txt');
    fs.writeFileSync(victim, 'keep me');
    const body: DownloadCheckpoint = {
      version: 2,
      id: '0123456789abcdef',
      kind: 'download',
      source: { endpoint: s3.endpoint, bucket, key: 'x', etag: '"e"', size: 10, lastModifiedMs: 0 },
      destination: { path: path.join(dir, 'x'), tempPath: victim },
      partSize: 10,
      partCount: 1,
      chunkSize: 10,
      ranges: [],
      options: { parallel: 1, retries: 1 },
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(ckpt, `${body.id}.dcp`), serializeCheckpoint(body), { mode: 0o600 });
    const res = await runCli(['checkpoint', 'clean', '--all', '--checkpoint-dir', ckpt], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('was left alone');
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
  });
});

describe('our own files are never sources', () => {
  it('the checkpoint directory inside the tree and our temp files are not uploaded', async () => {
    const src = makeTree(tmpdir(), { 'data.txt': 'd', '.data.txt.s3xfer-2ix-0123abcd.part': 'partial' });
    const ckpt = path.join(src, '.ckpt');
    fs.mkdirSync(ckpt, { mode: 0o700 });
    fs.writeFileSync(path.join(ckpt, '0123456789abcdef.ucp'), '{"uploadId":"secret"}', { mode: 0o600 });
    const res = await cp(['-r', src, `s3://${bucket}/own/`, '--checkpoint-dir', ckpt]);
    expect(res.code, res.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'own/')).toEqual(['own/data.txt']);
    expect(tempFiles(src)).toHaveLength(1); // left alone: it is not ours to remove on an upload
  });
});

describe('-u decides the same for a single file and a tree', () => {
  it('a file older than the object but newer than its recorded mtime is skipped both ways', async () => {
    const dir = makeTree(tmpdir(), { 'f.txt': 'v1' });
    const file = path.join(dir, 'f.txt');
    const old = new Date(Date.now() - 3600_000);
    fs.utimesSync(file, old, old);
    expect((await cp([file, `s3://${bucket}/same/f.txt`])).code).toBe(0);
    // Newer than the recorded mtime (an hour ago), older than LastModified (now).
    const mid = new Date(Date.now() - 60_000);
    fs.utimesSync(file, mid, mid);
    const proxy = await startProxy({ target: s3.endpoint });
    const viaProxy = s3Env(s3, proxy.endpoint);
    const single = await runCli(['cp', '--no-progress', '-u', file, `s3://${bucket}/same/f.txt`], { env: viaProxy });
    const tree = await runCli(['cp', '--no-progress', '-u', '-r', dir, `s3://${bucket}/same/`], { env: viaProxy });
    await proxy.close();
    expect(single.stdout).toMatch(/skipped .*f\.txt: destination is up to date/);
    expect(tree.stdout).toMatch(/skipped .*f\.txt: destination is up to date/);
    expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
  });
});
