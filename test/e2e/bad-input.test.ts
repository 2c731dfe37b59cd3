import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { CLI_BIN, createBucket, runCli, s3Env, spawnCli, tmpdir, e2eContext } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, exitOf, listKeys, makeTree, openUploads, tempFiles, waitFor } from './fixtures.js';
import { RESUME_FLAGS, fetchedBytes, isPart, slowUploadProxy } from './interrupt.js';

const { s3, env, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

const cp = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(['cp', '--no-progress', ...args], { env: { ...env, ...extraEnv } });
const oneLine = (stderr: string) => {
  expect(stderr).not.toMatch(/^\s+at /m);
  return stderr.trim();
};

/** Run the CLI as the unprivileged user `nobody`: tests run as root, whom permissions do not stop. */
function asNobody(args: string[], cwd: string) {
  return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI_BIN, ...args], {
    env: { ...process.env, ...env, HOME: cwd },
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
  });
}
const openDir = (dir: string) => {
  fs.chmodSync(dir, 0o777);
  return dir;
};

describe('trees with awkward files', () => {
  it('fifos, sockets and broken links are skipped with a warning; symlinks to files followed; loops detected', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'a', 'sub/b.txt': 'b' });
    execFileSync('mkfifo', [path.join(src, 'pipe')]);
    fs.symlinkSync(path.join(src, 'a.txt'), path.join(src, 'link-to-a.txt'));
    fs.symlinkSync('..', path.join(src, 'sub', 'loop'));
    fs.symlinkSync('nowhere', path.join(src, 'broken'));
    const res = await cp(['-r', src, `s3://${bucket}/awk/`]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(`warning: skipped ${path.join(src, 'pipe')}: not a regular file`);
    expect(res.stderr).toContain(`warning: skipped ${path.join(src, 'sub', 'loop')}: symbolic link loop`);
    expect(res.stderr).toContain(`warning: skipped ${path.join(src, 'broken')}: broken symbolic link`);
    expect(await listKeys(client, bucket, 'awk/')).toEqual(['awk/a.txt', 'awk/link-to-a.txt', 'awk/sub/b.txt']);
  });

  it('an unreadable file and directory are reported, the rest is copied, exit 1', async () => {
    const src = openDir(makeTree(tmpdir(), { 'ok.txt': 'ok', 'secret.txt': 's', 'closed/x.txt': 'x' }));
    fs.chmodSync(path.join(src, 'secret.txt'), 0o000);
    fs.chmodSync(path.join(src, 'closed'), 0o000);
    const res = asNobody(['cp', '-r', '--no-progress', src, `s3://${bucket}/unread/`], src);
    expect(res.status, res.stderr).toBe(1);
    expect(res.stderr).toContain(`error: cannot access ${path.join(src, 'secret.txt')} (EACCES)`);
    expect(res.stderr).toContain(`error: ${path.join(src, 'closed')}: cannot read directory (EACCES)`);
    expect(await listKeys(client, bucket, 'unread/')).toEqual(['unread/ok.txt']);
  });

  it('a key that would be longer than S3 allows is refused, the rest is copied', async () => {
    const src = makeTree(tmpdir(), { 'ok.txt': 'ok', [`${'d'.repeat(200)}/${'d'.repeat(200)}/${'d'.repeat(200)}/${'d'.repeat(200)}/${'f'.repeat(250)}`]: 'x' });
    const res = await cp(['-r', src, `s3://${bucket}/long/`]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/S3 allows at most 1024 bytes: use a shorter name or prefix/);
    expect(await listKeys(client, bucket, 'long/')).toEqual(['long/ok.txt']);
  });
});

describe('sources that change under us', () => {
  it.each([
    ['grows', (f: string) => fs.appendFileSync(f, 'more'), /changed while it was being uploaded/],
    ['is replaced', (f: string) => {
      fs.rmSync(f);
      fs.writeFileSync(f, 'new');
    }, /was deleted or replaced while it was being uploaded/],
  ])('a file that %s mid-upload is detected: exit 1, no object, nothing left open', async (_name, change, message) => {
    const proxy = await slowUploadProxy(s3, 4 * MiB);
    try {
      const dir = makeTree(tmpdir(), { 'f.bin': 24 * MiB });
      const key = `changing/${_name.replace(' ', '-')}.bin`;
      const child = spawnCli(['cp', path.join(dir, 'f.bin'), `s3://${bucket}/${key}`, ...RESUME_FLAGS], { env: s3Env(s3, proxy.endpoint) });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitFor(() => proxy.requests.some((r) => isPart(r) && r.status === 200), 20_000, 'a part');
      change(path.join(dir, 'f.bin'));
      const { code } = await exitOf(child);
      expect(code).toBe(1);
      expect(stderr).toMatch(message);
      expect(await listKeys(client, bucket, key)).toEqual([]);
      expect(await openUploads(client, bucket, key)).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});

describe('server-side problems', () => {
  it('a missing bucket: exit 2, one line, the run stops', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'a', 'b.txt': 'b' });
    const res = await cp(['-r', src, 's3://no-such-bucket-s3xfer/x/']);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(/^s3xfer: bucket 'no-such-bucket-s3xfer' does not exist: create it first or check the name in s3:\/\/no-such-bucket-s3xfer\/x\/[ab].txt$/);
    const down = await cp(['-r', 's3://no-such-bucket-s3xfer/x/', tmpdir()]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain("bucket 'no-such-bucket-s3xfer' does not exist");
  });

  it('wrong credentials: exit 2, says to check the keys or profile', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'a' });
    const res = await cp([path.join(src, 'a.txt'), `s3://${bucket}/creds/a.txt`], { AWS_SECRET_ACCESS_KEY: 'wrong-secret-key-0000000000' });
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(/the server rejected the credentials \(SignatureDoesNotMatch\): check the access keys or --profile/);
    const unknown = await cp([`s3://${bucket}/creds/a.txt`, src], { AWS_ACCESS_KEY_ID: 'NOSUCHKEY00000000000' });
    expect(unknown.code).toBe(2);
    expect(oneLine(unknown.stderr)).toMatch(/access denied \(HTTP 403\): check the access keys or --profile, and the permissions/);
  });

  it('access denied: exit 1 with the key named', async () => {
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: (r) => r.method === 'PUT', action: { status: 403 } }] });
    onTestFinished(() => proxy.close());
    const src = makeTree(tmpdir(), { 'a.txt': 'a' });
    const res = await runCli(['cp', path.join(src, 'a.txt'), `s3://${bucket}/denied/a.txt`], { env: s3Env(s3, proxy.endpoint) });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`s3://${bucket}/denied/a.txt: access denied`);
  });

  it.each([
    ['refuses connections', 'http://127.0.0.1:9'],
    ['does not exist', 'http://no-such-host.invalid:9000'],
  ])('an endpoint that %s: exit 2, a clear error', async (_n, endpoint) => {
    const src = makeTree(tmpdir(), { 'a.txt': 'a' });
    const res = await runCli(['cp', path.join(src, 'a.txt'), `s3://${bucket}/a.txt`, '--endpoint-url', endpoint, '--retries', '2'], { env });
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(/^s3xfer: cannot reach the S3 endpoint \((ECONNREFUSED|ENOTFOUND|EAI_AGAIN)\): check --endpoint-url and that the server is running$/);
  });
});

describe('local destinations and checkpoints', () => {
  it('a destination directory that is not writable: exit 1, nothing written', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'ro/a.txt', Body: 'a' }));
    const dir = openDir(tmpdir());
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro, { mode: 0o555 });
    const res = asNobody(['cp', '--no-progress', `s3://${bucket}/ro/a.txt`, `${ro}/`], dir);
    expect(res.status, res.stderr).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`cannot access ${ro}.* \\(EACCES\\): check its permissions or choose another path`));
    expect(fs.readdirSync(ro)).toEqual([]);
  });

  it('the disk fills up during a download: clear error, temp file and .dcp kept, the rerun resumes once there is space', async () => {
    const mnt = tmpdir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mnt]);
    onTestFinished(() => void spawnSync('umount', ['-l', mnt]));
    const body = Buffer.alloc(24 * MiB, 3);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'full/big.bin', Body: body }));
    const ckpt = path.join(tmpdir(), 'ck');
    const proxy = await startProxy({ target: s3.endpoint });
    onTestFinished(() => proxy.close());
    const args = ['cp', `s3://${bucket}/full/big.bin`, `${mnt}/`, '--checkpoint-dir', ckpt, ...RESUME_FLAGS];
    const full = await runCli(args, { env: s3Env(s3, proxy.endpoint) });
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/no space left writing .*: free some space, then rerun \(with --checkpoint-dir it resumes\)/);
    expect(tempFiles(mnt)).toHaveLength(1);
    expect(fs.readdirSync(ckpt).filter((f) => f.endsWith('.dcp'))).toHaveLength(1);
    expect(fs.existsSync(path.join(mnt, 'big.bin'))).toBe(false);

    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    proxy.clear();
    const again = await runCli(args, { env: s3Env(s3, proxy.endpoint) });
    expect(again.code, again.stderr).toBe(0);
    expect(fetchedBytes(proxy.requests)).toBeLessThan(24 * MiB);
    expect(fs.readFileSync(path.join(mnt, 'big.bin')).equals(body)).toBe(true);
    expect(tempFiles(mnt)).toEqual([]);
  });

  it('a checkpoint written by a newer version is refused, not misread', async () => {
    const dir = makeTree(tmpdir(), { 'f.bin': 6 * MiB });
    const ckpt = path.join(dir, 'ck');
    const proxy = await slowUploadProxy(s3, 2 * MiB);
    onTestFinished(() => proxy.close());
    const args = ['cp', path.join(dir, 'f.bin'), `s3://${bucket}/newer/f.bin`, '--checkpoint-dir', ckpt, ...RESUME_FLAGS];
    const child = spawnCli(args, { env: s3Env(s3, proxy.endpoint) });
    await waitFor(() => fs.existsSync(ckpt) && fs.readdirSync(ckpt).some((f) => f.endsWith('.ucp')), 20_000, 'a checkpoint');
    child.kill('SIGKILL');
    await exitOf(child);
    const file = path.join(ckpt, fs.readdirSync(ckpt).find((f) => f.endsWith('.ucp'))!);
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), version: 99 }));
    const res = await runCli(args, { env: s3Env(s3, proxy.endpoint) });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${file} was written by a newer s3xfer (format 99; this one reads 2): upgrade s3xfer or remove the checkpoint`);
    expect(fs.existsSync(file)).toBe(true);
  });
});
