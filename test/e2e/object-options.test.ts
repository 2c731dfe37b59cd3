import fs from 'node:fs';
import path from 'node:path';
import { GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, e2eContext, runCli, s3Env, tmpdir } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, getBytes, makeTree, openUploads } from './fixtures.js';
import { interruptedUpload, isPart } from './interrupt.js';

// What uploads set on the objects they write, checked on the objects themselves (HEAD, GetObjectTagging)
// and on the requests sent (through the recording proxy).

const { s3, env, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

const MULTIPART = ['--bigfile-threshold', '5MiB', '--part-size', '5MiB', '--no-progress'];
const cp = (args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}) => runCli(['cp', ...args], { env: { ...env, ...opts.env }, input: opts.input });
const head = (key: string) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
const tags = async (key: string) => (await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];

/** S3's documented default for an object stored without a Content-Type. */
const S3_DEFAULT_TYPE = 'binary/octet-stream';

describe('Content-Type', () => {
  const files = { 'index.html': '<p>hi', 'style.css': 'p{}', 'app.js': 'x()', 'data.json': '{}', 'logs.tar.gz': 'gz', README: 'plain', 'big.svg': 6 * MiB };
  const guessed = { 'index.html': 'text/html', 'style.css': 'text/css', 'app.js': 'text/javascript', 'data.json': 'application/json', 'logs.tar.gz': 'application/gzip', 'big.svg': 'image/svg+xml' };

  it('is guessed from the extension for each file (single PUT and multipart) and for standard input (from the key); none without a known extension', async () => {
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const src = makeTree(tmpdir(), files);
      const up = await cp(['-r', src, `s3://${bucket}/guess/`, ...MULTIPART], { env: s3Env(s3, proxy.endpoint) });
      expect(up.code, up.stderr).toBe(0);
      // No extension: no Content-Type sent at all, so the server's default applies, as aws-cli leaves it.
      const readme = proxy.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/guess/README'));
      expect(readme).toHaveLength(1);
      expect(readme[0]!.headers['content-type']).toBeUndefined();
    } finally {
      await proxy.close();
    }
    const piped = await cp(['-', `s3://${bucket}/guess/piped.html`], { input: '<p>piped' });
    expect(piped.code, piped.stderr).toBe(0);
    for (const [name, type] of Object.entries(guessed)) expect((await head(`guess/${name}`)).ContentType, name).toBe(type);
    expect((await head('guess/piped.html')).ContentType).toBe('text/html');
    expect((await head('guess/README')).ContentType).toBe(S3_DEFAULT_TYPE);
    // .gz is a type, never an encoding a browser would undo.
    expect((await head('guess/logs.tar.gz')).ContentEncoding).toBeUndefined();
  });

  it('--content-type forces one type for every object; --no-guess-mime-type leaves it to the server', async () => {
    const src = makeTree(tmpdir(), files);
    const forced = await cp(['-r', src, `s3://${bucket}/forced/`, '--content-type', 'text/x-forced', ...MULTIPART]);
    expect(forced.code, forced.stderr).toBe(0);
    for (const name of Object.keys(files)) expect((await head(`forced/${name}`)).ContentType, name).toBe('text/x-forced');
    const off = await cp(['-r', src, `s3://${bucket}/off/`, '--no-guess-mime-type', ...MULTIPART]);
    expect(off.code, off.stderr).toBe(0);
    expect((await head('off/index.html')).ContentType).toBe(S3_DEFAULT_TYPE);
    expect((await head('off/big.svg')).ContentType).toBe(S3_DEFAULT_TYPE);
  });
});

describe('headers, metadata, storage class, tags and ACL', () => {
  const flags = [
    '--cache-control', 'max-age=60, public',
    '--content-disposition', 'attachment; filename="report.bin"',
    '--content-encoding', 'identity',
    '--content-language', 'de-CH',
    '--expires', '2030-01-02T03:04:05Z',
    '--metadata', 'owner=ci,build=42',
    '--storage-class', 'REDUCED_REDUNDANCY',
    '--tagging', 'team=web&env=prod%20eu',
    '--acl', 'bucket-owner-full-control',
  ];

  it('are on the object (HEAD, GetObjectTagging) for a single PUT, a multipart upload and standard input; the ACL is sent', async () => {
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const src = makeTree(tmpdir(), { 'small.txt': 'small', 'big.bin': 6 * MiB });
      const via = { env: s3Env(s3, proxy.endpoint) };
      const up = await cp(['-r', src, `s3://${bucket}/hdr/`, ...flags, ...MULTIPART], via);
      expect(up.code, up.stderr).toBe(0);
      const piped = await cp(['-', `s3://${bucket}/hdr/piped.txt`, ...flags, '--part-size', '5MiB'], { ...via, input: Buffer.alloc(11 * MiB, 7) });
      expect(piped.code, piped.stderr).toBe(0);
      for (const key of ['hdr/small.txt', 'hdr/big.bin', 'hdr/piped.txt']) {
        const h = await head(key);
        expect(h, key).toMatchObject({
          CacheControl: 'max-age=60, public',
          ContentDisposition: 'attachment; filename="report.bin"',
          ContentEncoding: 'identity',
          ContentLanguage: 'de-CH',
          StorageClass: 'REDUCED_REDUNDANCY',
          TagCount: 2,
        });
        expect(h.Expires?.toISOString(), key).toBe('2030-01-02T03:04:05.000Z');
        expect(h.Metadata, key).toMatchObject({ owner: 'ci', build: '42', mtime: expect.stringMatching(/^\d+\.\d{3}$/) });
        expect((await tags(key)).sort((a, b) => a.Key!.localeCompare(b.Key!)), key).toEqual([
          { Key: 'env', Value: 'prod eu' },
          { Key: 'team', Value: 'web' },
        ]);
      }
      // MinIO keeps no ACLs: that it was asked is what can be checked (on the PUTs and each CreateMultipartUpload).
      const creating = proxy.requests.filter((r) => (r.method === 'PUT' && !('partNumber' in r.query)) || (r.method === 'POST' && 'uploads' in r.query));
      expect(creating.length).toBe(3);
      for (const r of creating) expect(r.headers['x-amz-acl']).toBe('bucket-owner-full-control');
      // Parts carry none of it: the object's settings belong to the upload.
      for (const r of proxy.requests.filter(isPart)) expect(r.headers['x-amz-storage-class']).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it('a copy between buckets takes --storage-class (the source keeps its headers)', async () => {
    const src = makeTree(tmpdir(), { 'a.html': '<p>a', 'big.bin': 6 * MiB });
    expect((await cp(['-r', src, `s3://${bucket}/csrc/`, '--cache-control', 'no-cache', ...MULTIPART])).code).toBe(0);
    const res = await cp(['-r', `s3://${bucket}/csrc/`, `s3://${bucket}/cdst/`, '--storage-class', 'REDUCED_REDUNDANCY', ...MULTIPART]);
    expect(res.code, res.stderr).toBe(0);
    for (const key of ['cdst/a.html', 'cdst/big.bin']) {
      expect(await head(key), key).toMatchObject({ StorageClass: 'REDUCED_REDUNDANCY', CacheControl: 'no-cache' });
    }
    expect((await head('cdst/a.html')).ContentType).toBe('text/html');
  });
});

describe('--request-payer requester', () => {
  it('is sent on every request: listing, HEAD, PUT, the multipart calls, GETs, copies, `uploads ls`; never without the flag', async () => {
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const via = s3Env(s3, proxy.endpoint);
      const src = makeTree(tmpdir(), { 'small.txt': 'small', 'big.bin': 6 * MiB });
      const payer = ['--request-payer', 'requester'];
      const runs = [
        await cp(['-r', src, `s3://${bucket}/rp/`, ...payer, ...MULTIPART], { env: via }),
        await cp(['-r', `s3://${bucket}/rp/`, tmpdir(), ...payer, ...MULTIPART], { env: via }),
        await cp([`s3://${bucket}/rp/small.txt`, `${tmpdir()}/`, ...payer], { env: via }),
        await cp(['-r', `s3://${bucket}/rp/`, `s3://${bucket}/rp2/`, ...payer, ...MULTIPART], { env: via }),
        await runCli(['uploads', 'ls', `s3://${bucket}/rp/`, ...payer], { env: via }),
      ];
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      const kinds = new Set(proxy.requests.map((r) => `${r.method} ${Object.keys(r.query).sort().join('&')}`));
      // Every kind of request the runs make, so the check below covers them all.
      for (const kind of ['PUT ', 'PUT partNumber&uploadId', 'POST uploads', 'POST uploadId', 'HEAD ', 'GET ', 'GET list-type', 'GET uploads']) {
        expect([...kinds].some((k) => k.startsWith(kind)), kind).toBe(true);
      }
      const without = proxy.requests.filter((r) => r.headers['x-amz-request-payer'] !== 'requester');
      expect(without.map((r) => `${r.method} ${r.path}`)).toEqual([]);

      proxy.clear();
      expect((await cp([`s3://${bucket}/rp/small.txt`, `${tmpdir()}/`], { env: via })).code).toBe(0);
      expect(proxy.requests.length).toBeGreaterThan(0);
      expect(proxy.requests.filter((r) => 'x-amz-request-payer' in r.headers)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('from the config file and S3XFER_* variables', () => {
  it('every object option reads from both; a flag beats the variable, which beats the file', async () => {
    const dir = tmpdir();
    const config = path.join(dir, 'config.yaml');
    fs.writeFileSync(
      config,
      ['cache-control: max-age=5', 'content-language: fr', 'metadata:', '  team: web', 'tagging:', '  stage: beta', 'storage-class: REDUCED_REDUNDANCY', 'content-type: text/x-file', 'guess-mime-type: false'].join('\n'),
    );
    const src = makeTree(tmpdir(), { 'a.html': '<p>a' });
    const fromFile = await cp([path.join(src, 'a.html'), `s3://${bucket}/cfg/file.html`, '--config', config]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(await head('cfg/file.html')).toMatchObject({ CacheControl: 'max-age=5', ContentLanguage: 'fr', ContentType: 'text/x-file', StorageClass: 'REDUCED_REDUNDANCY', Metadata: { team: 'web' } });
    expect(await tags('cfg/file.html')).toEqual([{ Key: 'stage', Value: 'beta' }]);

    const envOver = { S3XFER_CONTENT_TYPE: 'text/x-env', S3XFER_CACHE_CONTROL: 'max-age=9', S3XFER_METADATA: 'team=env' };
    const fromEnv = await cp([path.join(src, 'a.html'), `s3://${bucket}/cfg/env.html`, '--config', config], { env: envOver });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(await head('cfg/env.html')).toMatchObject({ CacheControl: 'max-age=9', ContentType: 'text/x-env', ContentLanguage: 'fr', Metadata: { team: 'env' } });

    const flag = await cp([path.join(src, 'a.html'), `s3://${bucket}/cfg/flag.html`, '--config', config, '--content-type', 'text/x-flag'], { env: envOver });
    expect(flag.code, flag.stderr).toBe(0);
    expect((await head('cfg/flag.html')).ContentType).toBe('text/x-flag');
  });
});

describe('bad values: one line naming the option and the fix, exit 2, nothing sent', () => {
  const cases: [string, string[], RegExp, NodeJS.ProcessEnv?][] = [
    ['unknown storage class', ['--storage-class', 'COLD'], /^s3xfer: invalid --storage-class 'COLD': use one of .*STANDARD.*REDUCED_REDUNDANCY/],
    ['unknown ACL', ['--acl', 'everyone'], /^s3xfer: invalid --acl 'everyone': use one of .*public-read/],
    ['metadata without =', ['--metadata', 'owner'], /^s3xfer: invalid --metadata 'owner': use k=v,k2=v2$/],
    ['metadata that is not ASCII', ['--metadata', 'who=José'], /^s3xfer: invalid --metadata: the value of 'who' must be printable ASCII/],
    ['our own mtime key', ['--metadata', 'mtime=1'], /^s3xfer: invalid --metadata: 'mtime' is s3xfer's own/],
    ['11 tags', ['--tagging', Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&')], /^s3xfer: invalid --tagging: give 1 to 10 tags/],
    ['a date that is not ISO 8601', ['--expires', 'tomorrow'], /^s3xfer: invalid --expires 'tomorrow': use an ISO 8601 time/],
    ['a header with a line break', ['--cache-control', 'a\r\nx-amz-acl: public-read'], /^s3xfer: invalid --cache-control: it holds a control character/],
    ['unknown SSE', ['--sse', 'DES'], /^s3xfer: invalid --sse 'DES': use one of AES256, aws:kms/],
    ['a KMS key without aws:kms', ['--sse-kms-key-id', 'k1'], /^s3xfer: --sse-kms-key-id needs --sse aws:kms$/],
    ['an SSE-C key on the command line', ['--sse-c-key', 'abcdefghijklmnopqrstuvwxyz012345'], /^s3xfer: --sse-c-key: give the key as fileb:\/\/FILE .* not on the command line$/],
    ['--sse-c without a key', ['--sse-c', 'AES256'], /^s3xfer: --sse-c needs its key: --sse-c-key fileb:\/\/FILE/],
    ['request payer other than requester', ['--request-payer', 'owner'], /^s3xfer: invalid --request-payer 'owner': use one of requester/],
    ['a bad value from the environment', [], /^s3xfer: invalid storage-class 'COLD'/, { S3XFER_STORAGE_CLASS: 'COLD' }],
  ];
  it.each(cases)('%s', async (_name, args, line, extraEnv) => {
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const src = makeTree(tmpdir(), { 'a.txt': 'a' });
      const res = await cp([path.join(src, 'a.txt'), `s3://${bucket}/bad/a.txt`, ...args], { env: { ...s3Env(s3, proxy.endpoint), ...extraEnv } });
      expect(res.code).toBe(2);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr.trim()).toMatch(line);
      expect(proxy.requests).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('a key file of the wrong size, an SSE-C key over http://, SSE with SSE-C, a bad config value: one line each', async () => {
    const dir = tmpdir();
    const short = path.join(dir, 'short.key');
    const good = path.join(dir, 'good.key');
    fs.writeFileSync(short, Buffer.alloc(16, 1));
    fs.writeFileSync(good, Buffer.alloc(32, 2));
    const config = path.join(dir, 'bad.yaml');
    fs.writeFileSync(config, 'sse: DES\n');
    const src = makeTree(tmpdir(), { 'a.txt': 'a' });
    const run = (args: string[]) => cp([path.join(src, 'a.txt'), `s3://${bucket}/bad/a.txt`, ...args]);
    const results = await Promise.all([
      run(['--sse-c-key', `fileb://${short}`]),
      run(['--sse-c-key', `fileb://${good}`]),
      run(['--sse-c-key', `fileb://${good}`, '--sse', 'AES256', '--endpoint-url', 'https://127.0.0.1:1']),
      run(['--config', config]),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results.map((r) => r.stderr.trim())).toEqual([
      `s3xfer: --sse-c-key: ${short} holds 16 bytes; an SSE-C key is 32 raw bytes (e.g. \`openssl rand 32 > ${short}\`)`,
      `s3xfer: --sse-c-key with ${s3.endpoint}: the key would cross the network in the clear (S3 refuses SSE-C without TLS); use an https:// endpoint`,
      's3xfer: --sse and --sse-c exclude each other: an object has one kind of encryption',
      expect.stringMatching(new RegExp(`^s3xfer: config file ${config}: key 'sse': `)),
    ]);
  });
});

describe('a checkpoint records the options that change the object', () => {
  it('a rerun with other options says which and keeps the upload; `resume` finishes it with the recorded ones', async () => {
    const recorded = ['--storage-class', 'REDUCED_REDUNDANCY', '--metadata', 'run=first', '--cache-control', 'max-age=1'];
    const run = await interruptedUpload(s3, { bucket, key: 'ck/big.bin', signal: 'SIGKILL', parts: 2, savedParts: 1, extraArgs: recorded });
    try {
      const ucp = fs.readdirSync(run.ckpt).find((f) => f.endsWith('.ucp'))!;
      const id = ucp.replace(/\.ucp$/, '');
      const saved = JSON.parse(fs.readFileSync(path.join(run.ckpt, ucp), 'utf8')) as { object: Record<string, string> };
      expect(saved.object).toEqual({
        'content-type': 'application/octet-stream',
        'cache-control': 'max-age=1',
        metadata: '{"run":"first"}',
        'storage-class': 'REDUCED_REDUNDANCY',
      });
      run.proxy.setRules([]);
      const base = run.args.slice(0, run.args.length - recorded.length);
      const other = await runCli([...base, '--storage-class', 'STANDARD', '--metadata', 'run=first', '--cache-control', 'max-age=1'], { env: s3Env(s3, run.proxy.endpoint) });
      expect(other.code).toBe(1);
      expect(other.stderr).toContain(
        `${run.file}: the checkpoint was started with --storage-class 'REDUCED_REDUNDANCY', this run asks for 'STANDARD'; rerun with the same options to resume, or \`s3xfer checkpoint clean ${id}\` to start over`,
      );
      // Nothing was discarded or mixed: the upload and its checkpoint wait for the right options.
      expect(fs.existsSync(path.join(run.ckpt, ucp))).toBe(true);
      expect(await openUploads(client, bucket, 'ck/')).toBe(1);
      const show = await runCli(['checkpoint', 'show', id, '--checkpoint-dir', run.ckpt], { env: s3Env(s3, run.proxy.endpoint) });
      expect(show.stdout).toContain(
        `options:      --content-type 'application/octet-stream' --cache-control 'max-age=1' --metadata '{"run":"first"}' --storage-class 'REDUCED_REDUNDANCY'\n`,
      );

      run.proxy.clear();
      const resumed = await runCli(['resume', '--all', '--checkpoint-dir', run.ckpt], { env: s3Env(s3, run.proxy.endpoint) });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(run.proxy.requests.filter((r) => r.method === 'POST' && 'uploads' in r.query)).toHaveLength(0);
      expect(await head('ck/big.bin')).toMatchObject({ StorageClass: 'REDUCED_REDUNDANCY', CacheControl: 'max-age=1', ContentType: 'application/octet-stream', Metadata: { run: 'first' } });
      expect((await getBytes(client, bucket, 'ck/big.bin')).equals(fs.readFileSync(run.file))).toBe(true);
      expect(await openUploads(client, bucket, 'ck/')).toBe(0);
    } finally {
      await run.proxy.close();
    }
  });
});
