import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, runCli, s3Env, tmpdir, e2eContext } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, getBytes, listKeys, makeTree, openUploads, readTree, tempFiles } from './fixtures.js';

const { s3, env, client } = e2eContext();
let bucket: string;

beforeAll(async () => void (bucket = await createBucket(client)));

const cp = (args: string[], opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}) =>
  runCli(['cp', '--no-progress', ...args], { env: { ...env, ...opts.env }, ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.input !== undefined ? { input: opts.input } : {}) });

describe('cp FILE s3://… and back', () => {
  it('cp FILE s3://b/key, then cp s3://b/key FILE', async () => {
    const dir = tmpdir();
    makeTree(dir, { 'a.txt': 'hello' });
    const up = await cp([path.join(dir, 'a.txt'), `s3://${bucket}/single/renamed.txt`]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`copied ${path.join(dir, 'a.txt')} -> s3://${bucket}/single/renamed.txt`);
    expect((await getBytes(client, bucket, 'single/renamed.txt')).toString()).toBe('hello');

    const down = await cp([`s3://${bucket}/single/renamed.txt`, path.join(dir, 'back.txt')]);
    expect(down.code, down.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'back.txt'), 'utf8')).toBe('hello');
  });

  it('cp FILE s3://b/prefix/ appends the base name; cp s3://b/key DIR/ keeps it', async () => {
    const dir = tmpdir();
    makeTree(dir, { 'name with space.txt': 'x' });
    const up = await cp(['name with space.txt', `s3://${bucket}/pfx/`], { cwd: dir });
    expect(up.code, up.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'pfx/')).toEqual(['pfx/name with space.txt']);

    fs.mkdirSync(path.join(dir, 'existing'));
    for (const target of ['out/', 'existing']) {
      const down = await cp([`s3://${bucket}/pfx/name with space.txt`, target], { cwd: dir });
      expect(down.code, down.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, target, 'name with space.txt'), 'utf8')).toBe('x');
    }
  });

  it('round-trips the file mtime through the object metadata', async () => {
    const dir = tmpdir();
    makeTree(dir, { 'old.txt': 'old' });
    const when = new Date('2020-02-02T02:02:02Z');
    fs.utimesSync(path.join(dir, 'old.txt'), when, when);
    expect((await cp([path.join(dir, 'old.txt'), `s3://${bucket}/mtime/old.txt`])).code).toBe(0);
    expect((await cp([`s3://${bucket}/mtime/old.txt`, path.join(dir, 'copy.txt')])).code).toBe(0);
    expect(fs.statSync(path.join(dir, 'copy.txt')).mtimeMs).toBe(when.getTime());
  });

  it('uploads standard input', async () => {
    const input = Buffer.alloc(7 * MiB, 'abc');
    const res = await cp(['-', `s3://${bucket}/stdin/data.bin`, '--part-size', '5MiB'], { input });
    expect(res.code, res.stderr).toBe(0);
    expect((await getBytes(client, bucket, 'stdin/data.bin')).equals(input)).toBe(true);
  });
});

describe('cp -r', () => {
  const files = {
    'a.txt': 'alpha',
    'empty': '',
    'sub/deeper/b.bin': 3000,
    'ünï cödé/f 1.txt': 'unicode and spaces',
    '.hidden': 'dot',
    "odd/a+b=c~d%20e'f (g)!*&$.txt": 'characters the signature must survive',
  };

  it('uploads the contents of DIR under the prefix and mirrors them back', async () => {
    const src = makeTree(tmpdir(), files);
    const up = await cp(['-r', src, `s3://${bucket}/tree`]);
    expect(up.code, up.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'tree/')).toEqual(
      ['.hidden', 'a.txt', 'empty', "odd/a+b=c~d%20e'f (g)!*&$.txt", 'sub/deeper/b.bin', 'ünï cödé/f 1.txt'].map((k) => `tree/${k}`).sort(),
    );
    // A directory marker is not a file.
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'tree/marker/', Body: '' }));

    const dst = tmpdir();
    const down = await cp(['-r', `s3://${bucket}/tree/`, dst]);
    expect(down.code, down.stderr).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
    expect(fs.existsSync(path.join(dst, 'marker'))).toBe(false);
    expect(down.stdout).toMatch(/6 copied .* 0 skipped, 0 failed/);
  });

  it('a directory without -r is refused with exit 2', async () => {
    const src = makeTree(tmpdir(), files);
    const res = await cp([src, `s3://${bucket}/x/`]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe(`s3xfer: ${src} is a directory: use -r to copy a tree`);
  });

  it('--include/--exclude apply in order, last match wins', async () => {
    const src = makeTree(tmpdir(), { 'keep.txt': '1', 'drop.log': '2', 'logs/keep.txt': '3', 'logs/a.bin': '4', 'b.bin': '5' });
    const res = await cp(['-r', src, `s3://${bucket}/filt/`, '--exclude', '*', '--include', '*.txt', '--include', 'logs/*', '--exclude', 'logs/a.bin']);
    expect(res.code, res.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'filt/')).toEqual(['filt/keep.txt', 'filt/logs/keep.txt']);

    const dst = tmpdir();
    const down = await cp(['-r', `s3://${bucket}/filt/`, dst, '--exclude', 'logs/*']);
    expect(down.code, down.stderr).toBe(0);
    expect(Object.keys(readTree(dst))).toEqual(['keep.txt']);
  });

  it('-u: an unchanged tree sends 0 PUTs and fetches no bodies; one change sends exactly 1 PUT', async () => {
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const penv = s3Env(s3, proxy.endpoint);
      const src = makeTree(tmpdir(), { 'a.txt': 'a', 'b.txt': 'b', 'c/d.txt': 'd', 'c/e.txt': 'e' });
      const prefix = `s3://${bucket}/upd/`;
      expect((await cp(['-r', '-u', src, prefix], { env: penv })).code).toBe(0);
      const dst = tmpdir();
      expect((await cp(['-r', '-u', prefix, dst], { env: penv })).code).toBe(0);

      proxy.clear();
      const again = await cp(['-r', '-u', src, prefix], { env: penv });
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/0 copied .* 4 skipped/);
      expect(proxy.requests.filter((r) => r.method === 'PUT' || r.method === 'POST')).toHaveLength(0);
      expect(proxy.requests.filter((r) => r.method === 'HEAD')).toHaveLength(0);
      expect(proxy.requests.filter((r) => r.method === 'GET' && 'list-type' in r.query)).toHaveLength(1);

      proxy.clear();
      const downAgain = await cp(['-r', '-u', prefix, dst], { env: penv });
      expect(downAgain.code, downAgain.stderr + downAgain.stdout).toBe(0);
      expect(proxy.requests.filter((r) => r.method === 'GET' && !('list-type' in r.query))).toHaveLength(0);

      const later = new Date(Date.now() + 10_000);
      fs.writeFileSync(path.join(src, 'c/d.txt'), 'changed');
      fs.utimesSync(path.join(src, 'c/d.txt'), later, later);
      proxy.clear();
      const one = await cp(['-r', '-u', src, prefix], { env: penv });
      expect(one.code).toBe(0);
      expect(proxy.requests.filter((r) => r.method === 'PUT').map((r) => decodeURIComponent(r.path))).toEqual([`/${bucket}/upd/c/d.txt`]);
      expect((await getBytes(client, bucket, 'upd/c/d.txt')).toString()).toBe('changed');

      proxy.clear();
      const oneDown = await cp(['-r', '-u', prefix, dst], { env: penv });
      expect(oneDown.code).toBe(0);
      expect(fs.readFileSync(path.join(dst, 'c/d.txt'), 'utf8')).toBe('changed');
      expect(proxy.requests.filter((r) => r.method === 'GET' && !('list-type' in r.query))).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('--dry-run says what it would copy and why, and writes nothing', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'a', 'b.txt': 'b' });
    const res = await cp(['-r', '--dry-run', src, `s3://${bucket}/dry/`]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`(dry run) would copy ${path.join(src, 'a.txt')} -> s3://${bucket}/dry/a.txt`);
    expect(await listKeys(client, bucket, 'dry/')).toEqual([]);
    const dst = path.join(tmpdir(), 'nothing');
    expect((await cp(['-r', '--dry-run', `s3://${bucket}/tree/`, dst])).code).toBe(0);
    expect(fs.existsSync(dst)).toBe(false);
  });

  it('many files in flight: no warnings or SDK noise on stderr', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 80; i++) files[`f${i}.txt`] = `file ${i}`;
    const src = makeTree(tmpdir(), files);
    const up = await cp(['-r', '-j', '64', src, `s3://${bucket}/many/`]);
    expect(up.code).toBe(0);
    expect(up.stderr).toBe('');
    const dst = tmpdir();
    const down = await cp(['-r', '-j', '64', `s3://${bucket}/many/`, dst]);
    expect(down.code).toBe(0);
    expect(down.stderr).toBe('');
    expect(readTree(dst)).toEqual(readTree(src));
  });

  it('--json writes one event per line, ending with a summary', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'a' });
    const res = await cp(['-r', '--json', src, `s3://${bucket}/json/`]);
    expect(res.code, res.stderr).toBe(0);
    const events = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events.map((e) => e.type)).toEqual(['start', 'done', 'summary']);
    expect(events[2]).toMatchObject({ copied: 1, skipped: 0, failed: 0, bytes: 1 });
  });
});

describe('multipart boundaries', () => {
  const T = 5 * MiB;
  it.each([
    ['threshold - 1', T - 1, false],
    ['threshold', T, true],
    ['threshold + 1', T + 1, true],
    ['exact multiple of the part size', 3 * T, true],
  ])('%s', async (_name, size, multipart) => {
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const penv = s3Env(s3, proxy.endpoint);
      const dir = makeTree(tmpdir(), { 'f.bin': size });
      const key = `mp/${size}.bin`;
      const flags = ['--bigfile-threshold', '5MiB', '--part-size', '5MiB'];
      const up = await cp([path.join(dir, 'f.bin'), `s3://${bucket}/${key}`, ...flags], { env: penv });
      expect(up.code, up.stderr).toBe(0);
      const parts = proxy.requests.filter((r) => r.method === 'PUT' && 'partNumber' in r.query);
      expect(parts.length).toBe(multipart ? Math.ceil(size / T) : 0);
      expect(proxy.requests.filter((r) => r.method === 'PUT' || r.method === 'POST').every((r) => r.status === 200)).toBe(true);

      proxy.clear();
      const out = path.join(dir, 'back.bin');
      const down = await cp([`s3://${bucket}/${key}`, out, ...flags], { env: penv });
      expect(down.code, down.stderr).toBe(0);
      const ranged = proxy.requests.filter((r) => r.method === 'GET' && r.headers.range);
      expect(ranged.length).toBe(multipart ? Math.ceil(size / T) : 0);
      expect(ranged.every((r) => typeof r.headers['if-match'] === 'string')).toBe(true);
      expect(fs.readFileSync(out).equals(fs.readFileSync(path.join(dir, 'f.bin')))).toBe(true);
      expect(tempFiles(dir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('never a partial file, never an orphaned upload', () => {
  it('SIGINT during a download: exit 130, no file at the destination, no temp file', async () => {
    const proxy = await startProxy({
      target: s3.endpoint,
      rules: [{ match: (r) => r.method === 'GET' && Boolean(r.headers.range), action: { responseBytesPerSecond: 2 * MiB } }],
    });
    try {
      const dir = makeTree(tmpdir(), { 'big.bin': 24 * MiB });
      await cp([path.join(dir, 'big.bin'), `s3://${bucket}/partial/big.bin`]);
      const out = path.join(dir, 'restore');
      const { spawnCli } = await import('../helpers/cli.js');
      const child = spawnCli(['cp', '--no-progress', `s3://${bucket}/partial/big.bin`, `${out}/`, '--part-size', '5MiB'], { env: s3Env(s3, proxy.endpoint) });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      await new Promise((r) => setTimeout(r, 1500));
      expect(fs.existsSync(path.join(out, 'big.bin'))).toBe(false);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(code).toBe(130);
      expect(stderr).toContain('interrupted');
      expect(fs.existsSync(path.join(out, 'big.bin'))).toBe(false);
      expect(tempFiles(out)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('SIGINT during a multipart upload without --checkpoint-dir aborts the upload on the server', async () => {
    const b = await createBucket(client);
    const proxy = await startProxy({
      target: s3.endpoint,
      rules: [{ match: (r) => r.method === 'PUT' && 'partNumber' in r.query, action: { bytesPerSecond: 4 * MiB } }],
    });
    try {
      const dir = makeTree(tmpdir(), { 'big.bin': 30 * MiB });
      const { spawnCli } = await import('../helpers/cli.js');
      const child = spawnCli(['cp', '--no-progress', path.join(dir, 'big.bin'), `s3://${b}/big.bin`, '--part-size', '5MiB', '--parallel', '2'], {
        env: s3Env(s3, proxy.endpoint),
      });
      await new Promise((r) => setTimeout(r, 2000));
      expect(await openUploads(client, b)).toBe(1);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(code).toBe(130);
      expect(await openUploads(client, b)).toBe(0);
      expect(await listKeys(client, b)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('connection settings as aws-cli users expect', () => {
  it('--profile reads keys, region and endpoint_url from ~/.aws files', async () => {
    const home = tmpdir();
    fs.mkdirSync(path.join(home, '.aws'));
    fs.writeFileSync(path.join(home, '.aws', 'credentials'), `[backup]\naws_access_key_id = ${s3.accessKey}\naws_secret_access_key = ${s3.secretKey}\n`);
    fs.writeFileSync(path.join(home, '.aws', 'config'), `[profile backup]\nregion = ${s3.region}\nendpoint_url = ${s3.endpoint}\n`);
    const noAwsEnv = { HOME: home, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_REGION: undefined, AWS_ENDPOINT_URL: undefined };
    const dir = makeTree(tmpdir(), { 'p.txt': 'profile' });
    const res = await runCli(['cp', '--no-progress', '--profile', 'backup', path.join(dir, 'p.txt'), `s3://${bucket}/profile/p.txt`], { env: { ...env, ...noAwsEnv } });
    expect(res.code, res.stderr).toBe(0);
    expect((await getBytes(client, bucket, 'profile/p.txt')).toString()).toBe('profile');
    const wrong = await runCli(['cp', '--no-progress', '--profile', 'nosuch', path.join(dir, 'p.txt'), `s3://${bucket}/profile/q.txt`, '--endpoint-url', s3.endpoint], { env: { ...env, ...noAwsEnv } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL; --endpoint-url over both', async () => {
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const dir = makeTree(tmpdir(), { 'e.txt': 'e' });
      const viaS3Var = await runCli(['cp', '--no-progress', path.join(dir, 'e.txt'), `s3://${bucket}/ep/e.txt`], {
        env: { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_S3: proxy.endpoint },
      });
      expect(viaS3Var.code, viaS3Var.stderr).toBe(0);
      expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
      const viaFlag = await runCli(['cp', '--no-progress', path.join(dir, 'e.txt'), `s3://${bucket}/ep/f.txt`, '--endpoint-url', s3.endpoint], {
        env: { ...env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' },
      });
      expect(viaFlag.code, viaFlag.stderr).toBe(0);
      expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});

describe('bad input', () => {
  it.each([
    [['cp', '/no/such/file', 's3://bucket-x/k'], /\/no\/such\/file: no such file or directory/],
    [['cp', 'a', 's3:/b'], /invalid S3 URL 's3:\/b'/],
    [['cp', 'a', 's3://'], /no bucket name/],
    [['cp', 'a', 'b'], /both .* are local/],
    [['cp', '--part-size', '1MiB', 'a', 's3://bucket-x/k'], /below S3's minimum of 5 MiB/],
    [['cp', '--parallel', '0', 'a', 's3://bucket-x/k'], /invalid --parallel '0'/],
    [['cp', '--bigfile-threshold', 'lots', 'a', 's3://bucket-x/k'], /invalid --bigfile-threshold 'lots'/],
  ])('%j → exit 2 with one line', async (args, message) => {
    const res = await runCli(args, { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).not.toMatch(/^\s+at /m);
  });

  it('a missing object or bucket is named in the error', async () => {
    const noKey = await cp([`s3://${bucket}/no/such/key`, tmpdir()]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain(`s3://${bucket}/no/such/key: no such object`);
    const dir = makeTree(tmpdir(), { 'a.txt': 'a' });
    const noBucket = await cp([path.join(dir, 'a.txt'), 's3://no-such-bucket-s3xfer/a.txt']);
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toContain("bucket 'no-such-bucket-s3xfer' does not exist");
  });
});
