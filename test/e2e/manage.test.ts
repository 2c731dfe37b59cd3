import fs from 'node:fs';
import path from 'node:path';
import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createBucket, runCli, s3Env, spawnCli, tmpdir, e2eContext } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, exitOf, getBytes, listUploads, openUploads, tempFiles, waitFor } from './fixtures.js';
import { RESUME_FLAGS, fetchedBytes, interruptedUpload, isObjectGet } from './interrupt.js';

const { s3, env, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...env, ...extraEnv } });
const jsonLines = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('checkpoints you can see and manage', () => {
  it('after an interrupted 64 MiB upload: ls --json, show, resume by id', async () => {
    // The checkpoint records the proxy's endpoint: it must stay up for `resume`.
    const run = await interruptedUpload(s3, { bucket, key: 'm/big.bin', signal: 'SIGKILL', parts: 2, savedParts: 2 });
    onTestFinished(() => run.proxy.close());
    run.proxy.setRules([]);
    const ls = await cli(['checkpoint', 'ls', '--json', '--checkpoint-dir', run.ckpt]);
    expect(ls.code, ls.stderr).toBe(0);
    const [entry, ...rest] = jsonLines(ls.stdout);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      kind: 'upload',
      source: run.file,
      destination: `s3://${bucket}/m/big.bin`,
      size: 64 * MiB,
      partsTotal: 13,
      state: 'resumable',
    });
    expect(entry!.partsDone).toBeGreaterThanOrEqual(2);
    expect(entry!.bytesDone).toBe((entry!.partsDone as number) * 5 * MiB);
    const id = String(entry!.id);

    const table = await cli(['checkpoint', 'ls', '--checkpoint-dir', run.ckpt]);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+upload\\s+${run.file}\\s+s3://${bucket}/m/big.bin\\s+64.0 MiB\\s+\\d+/13`));

    const show = await cli(['checkpoint', 'show', id.slice(0, 6), '--checkpoint-dir', run.ckpt]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`source:       ${run.file}`);
    expect(show.stdout).toMatch(/parts:\s+\d+ of 13 done \(\d+%\)/);
    expect(show.stdout).toMatch(/upload id:\s+\S+/);
    expect(show.stdout).toMatch(/part map:\s+(\[[X_]\]){13}\n/);
    expect(show.stdout).toContain('[X]');

    // The checkpoint recorded the proxy, not the endpoint configured now: resume goes there only when confirmed.
    const resumed = await cli(['resume', id.slice(0, 8), '--checkpoint-dir', run.ckpt, '--no-progress', '--endpoint-url', run.proxy.endpoint]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resumed big.bin: \d+ of 13 parts already uploaded/);
    expect((await getBytes(client, bucket, 'm/big.bin')).equals(fs.readFileSync(run.file))).toBe(true);
    expect(jsonLines((await cli(['checkpoint', 'ls', '--json', '--checkpoint-dir', run.ckpt])).stdout)).toEqual([]);
    expect(await openUploads(client, bucket, 'm/')).toBe(0);
  });

  it('ls reports a changed source; show and clean refuse unknown or ambiguous ids', async () => {
    const run = await interruptedUpload(s3, { bucket, key: 'st/big.bin', signal: 'SIGKILL', parts: 1, size: 24 * MiB });
    onTestFinished(() => run.proxy.close());
    fs.appendFileSync(run.file, 'x');
    const [entry] = jsonLines((await cli(['checkpoint', 'ls', '--json', '--checkpoint-dir', run.ckpt])).stdout);
    expect(entry).toMatchObject({ state: 'source changed' });
    const bad = await cli(['checkpoint', 'show', 'zzzz', '--checkpoint-dir', run.ckpt]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe("s3xfer: no checkpoint 'zzzz': see `s3xfer checkpoint ls` for the ids");
    expect((await cli(['checkpoint', 'clean', '--all', '--checkpoint-dir', run.ckpt])).code).toBe(0);
  });

  it('clean --all removes the .ucp and leaves no open upload on the server', async () => {
    const run = await interruptedUpload(s3, { bucket, key: 'c/big.bin', signal: 'SIGKILL', parts: 2 });
    onTestFinished(() => run.proxy.close());
    expect(await openUploads(client, bucket, 'c/')).toBe(1);
    const kept = await cli(['checkpoint', 'clean', '--all', '--older-than', '1h', '--checkpoint-dir', run.ckpt]);
    expect(kept.stdout).toContain('no checkpoints to remove');
    expect(await openUploads(client, bucket, 'c/')).toBe(1);

    const clean = await cli(['checkpoint', 'clean', '--all', '--checkpoint-dir', run.ckpt]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`removed checkpoint [0-9a-f]{16} \\(upload\\), aborted upload \\S+ of s3://${bucket}/c/big.bin`));
    expect(fs.readdirSync(run.ckpt).filter((f) => f.endsWith('.ucp'))).toEqual([]);
    expect(await openUploads(client, bucket, 'c/')).toBe(0);
  });

  it('a corrupt checkpoint is listed as such, and clean still aborts the upload it names', async () => {
    const run = await interruptedUpload(s3, { bucket, key: 'bad/corrupt.bin', signal: 'SIGKILL', parts: 1, size: 24 * MiB });
    onTestFinished(() => run.proxy.close());
    const ucp = path.join(run.ckpt, fs.readdirSync(run.ckpt).find((f) => f.endsWith('.ucp'))!);
    fs.writeFileSync(ucp, fs.readFileSync(ucp, 'utf8').replace(/"partSize": \d+/, '"partSize": 7'));
    const [entry] = jsonLines((await cli(['checkpoint', 'ls', '--json', '--checkpoint-dir', run.ckpt])).stdout);
    expect(entry).toMatchObject({ state: 'corrupt' });
    expect(await openUploads(client, bucket, 'bad/corrupt')).toBe(1);
    const clean = await cli(['checkpoint', 'clean', '--all', '--checkpoint-dir', run.ckpt]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/removed checkpoint [0-9a-f]{16} \(upload, unreadable\), aborted upload/);
    expect(await openUploads(client, bucket, 'bad/corrupt')).toBe(0);
    expect(fs.readdirSync(run.ckpt).filter((f) => /\.ucp/.test(f))).toEqual([]);
  });

  it('uploads ls / abort: checkpointed uploads are kept unless --force', async () => {
    const run = await interruptedUpload(s3, { bucket, key: 'u/needed.bin', signal: 'SIGKILL', parts: 1, size: 24 * MiB });
    onTestFinished(() => run.proxy.close());
    await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'u/stray.bin' }));
    const flags = ['--checkpoint-dir', run.ckpt];

    const ls = await cli(['uploads', 'ls', `s3://${bucket}/u/`, '--json', ...flags]);
    expect(ls.code, ls.stderr).toBe(0);
    const rows = jsonLines(ls.stdout);
    expect(rows.map((r) => r.key).sort()).toEqual(['u/needed.bin', 'u/stray.bin']);
    expect(rows.find((r) => r.key === 'u/needed.bin')).toMatchObject({ parts: expect.any(Number), checkpoint: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(rows.find((r) => r.key === 'u/needed.bin')!.size).toBeGreaterThanOrEqual(5 * MiB);

    const dry = await cli(['uploads', 'abort', `s3://${bucket}/u/`, '--dry-run', ...flags]);
    expect(dry.stdout).toMatch(/\(dry run\) would abort s3:\/\/.*\/u\/stray.bin/);
    expect(await openUploads(client, bucket, 'u/')).toBe(2);

    const abort = await cli(['uploads', 'abort', `s3://${bucket}/u/`, ...flags]);
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.stdout).toMatch(/kept s3:\/\/.*\/u\/needed.bin .*: checkpoint [0-9a-f]{16} still needs it/);
    expect((await listUploads(client, bucket, 'u/')).map((u) => u.key)).toEqual(['u/needed.bin']);

    const forced = await cli(['uploads', 'abort', `s3://${bucket}/u/`, '--force', ...flags]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/aborted s3:\/\/.*\/u\/needed.bin .*; removed checkpoint/);
    expect(await openUploads(client, bucket, 'u/')).toBe(0);
    expect(fs.readdirSync(run.ckpt).filter((f) => f.endsWith('.ucp'))).toEqual([]);
  });

  describe('download checkpoints', () => {
    async function interruptedDownload(key: string) {
      const body = Buffer.alloc(40 * MiB, 7);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: (r) => isObjectGet(r) && Boolean(r.headers.range), action: { responseBytesPerSecond: 8 * MiB } }] });
      const dir = tmpdir();
      const out = path.join(dir, 'restore');
      const ckpt = path.join(dir, '.ckpt');
      const child = spawnCli(['cp', `s3://${bucket}/${key}`, `${out}/`, '--checkpoint-dir', ckpt, ...RESUME_FLAGS], { env: s3Env(s3, proxy.endpoint) });
      await waitFor(() => fetchedBytes(proxy.requests) > 12 * MiB, 15_000, 'progress');
      child.kill('SIGKILL');
      await exitOf(child);
      // The checkpoint records the proxy's endpoint: keep it up for ls, clean and resume.
      proxy.setRules([]);
      onTestFinished(() => proxy.close());
      return { body, out, ckpt, proxy };
    }

    it('ls, clean (temp file removed) and resume', async () => {
      const a = await interruptedDownload('d/a.bin');
      const [entry] = jsonLines((await cli(['checkpoint', 'ls', '--json', '--checkpoint-dir', a.ckpt])).stdout);
      expect(entry).toMatchObject({ kind: 'download', source: `s3://${bucket}/d/a.bin`, destination: path.join(a.out, 'a.bin'), partsTotal: 8, state: 'resumable' });
      expect(tempFiles(a.out)).toHaveLength(1);
      const clean = await cli(['checkpoint', 'clean', String(entry!.id), '--checkpoint-dir', a.ckpt]);
      expect(clean.stdout).toMatch(/removed checkpoint .* \(download\), deleted temp file/);
      expect(tempFiles(a.out)).toEqual([]);
      expect(fs.readdirSync(a.ckpt).filter((f) => f.endsWith('.dcp'))).toEqual([]);

      const b = await interruptedDownload('d/b.bin');
      const resumed = await cli(['resume', '--all', '--checkpoint-dir', b.ckpt, '--no-progress', '--endpoint-url', b.proxy.endpoint]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(fs.readFileSync(path.join(b.out, 'b.bin')).equals(b.body)).toBe(true);
      expect(tempFiles(b.out)).toEqual([]);
    });

    it('ls reports an object that changed on the server', async () => {
      const a = await interruptedDownload('d/c.bin');
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'd/c.bin', Body: 'new' }));
      const [entry] = jsonLines((await cli(['checkpoint', 'ls', '--json', '--checkpoint-dir', a.ckpt])).stdout);
      expect(entry).toMatchObject({ state: 'object changed' });
    });
  });
});

describe('config file and precedence', () => {
  function configDir(yaml: string) {
    const home = tmpdir();
    fs.mkdirSync(path.join(home, 's3xfer'), { recursive: true });
    fs.writeFileSync(path.join(home, 's3xfer', 'config.yaml'), yaml);
    return { XDG_CONFIG_HOME: home };
  }

  it('flag > environment > config file for the checkpoint directory', async () => {
    const [a, b, c] = [tmpdir(), tmpdir(), tmpdir()];
    const xdg = configDir(`checkpoint-dir: ${a}\nparallel: 4\n`);
    expect((await cli(['checkpoint', 'ls'], xdg)).stdout).toContain(`no checkpoints in ${a}`);
    expect((await cli(['checkpoint', 'ls'], { ...xdg, S3XFER_CHECKPOINT_DIR: b })).stdout).toContain(`no checkpoints in ${b}`);
    expect((await cli(['checkpoint', 'ls', '--checkpoint-dir', c], { ...xdg, S3XFER_CHECKPOINT_DIR: b })).stdout).toContain(`no checkpoints in ${c}`);
  });

  it('config sets part size and endpoint for cp; a flag overrides it', async () => {
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const xdg = configDir(`endpoint: ${proxy.endpoint}\npart-size: 6MiB\nbigfile-threshold: 6MiB\n`);
      const dir = tmpdir();
      fs.writeFileSync(path.join(dir, 'f.bin'), Buffer.alloc(13 * MiB, 1));
      const noEndpointEnv = { AWS_ENDPOINT_URL: undefined };
      const res = await cli(['cp', path.join(dir, 'f.bin'), `s3://${bucket}/cfg/f.bin`, '--no-progress'], { ...xdg, ...noEndpointEnv });
      expect(res.code, res.stderr).toBe(0);
      const parts = proxy.requests.filter((r) => r.method === 'PUT' && 'partNumber' in r.query).map((r) => r.requestBytes);
      expect(parts).toHaveLength(3);
      expect(Math.max(...parts)).toBe(6 * MiB);
      proxy.clear();
      const flag = await cli(['cp', path.join(dir, 'f.bin'), `s3://${bucket}/cfg/f.bin`, '--no-progress', '--part-size', '5MiB'], { ...xdg, ...noEndpointEnv });
      expect(flag.code, flag.stderr).toBe(0);
      expect(proxy.requests.filter((r) => r.method === 'PUT' && 'partNumber' in r.query)).toHaveLength(3);
      expect(Math.max(...proxy.requests.filter((r) => 'partNumber' in r.query).map((r) => r.requestBytes))).toBe(5 * MiB);
    } finally {
      await proxy.close();
    }
  });

  it.each([
    ['parallel: many\n', /config file .*config.yaml: key 'parallel': /],
    ['paralel: 4\n', /config file .*config.yaml: unknown key 'paralel' \(known keys: checkpoint-dir, /],
    ['parallel: [1\n', /config file .*config.yaml: invalid YAML at line \d+/],
    ['part-size: 1MiB\n', /below S3's minimum of 5 MiB/],
  ])('a bad config file %j is one line naming the file and key', async (yaml, message) => {
    const res = await cli(['checkpoint', 'ls', '--checkpoint-dir', tmpdir()], configDir(yaml));
    if (yaml.startsWith('part-size')) {
      const cp = await cli(['cp', '/etc/hostname', `s3://${bucket}/x`], configDir(yaml));
      expect(cp.code).toBe(2);
      expect(cp.stderr).toMatch(message);
      return;
    }
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--config FILE that does not exist is an error', async () => {
    const res = await cli(['checkpoint', 'ls', '--config', '/no/such/config.yaml']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('config file /no/such/config.yaml: cannot read it (ENOENT)');
  });

  it('without any checkpoint directory: a one-line error with the fix', async () => {
    const res = await cli(['checkpoint', 'ls'], { ...configDir(''), S3XFER_CHECKPOINT_DIR: undefined });
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe(
      's3xfer: no checkpoint directory: pass --checkpoint-dir DIR, set S3XFER_CHECKPOINT_DIR, or add checkpoint-dir to ~/.config/s3xfer/config.yaml',
    );
  });

  it('prints a shell completion script', async () => {
    const res = await cli(['completion']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('s3xfer');
    expect(res.stdout).toMatch(/complete|compdef/);
  });
});
