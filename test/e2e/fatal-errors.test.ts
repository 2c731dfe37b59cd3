// Errors that no transfer can escape stop the run at once: exit 2, one line naming the problem and
// the fix, said once. And the TLS options (--ca-bundle, AWS_CA_BUNDLE, --no-verify-ssl) against a
// MinIO serving https:// with a certificate made here.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { MinioServer } from '../../scripts/minio.mjs';
import { createBucket, runCli, s3Env, tmpdir, type S3Info, e2eContext } from '../helpers/cli.js';
import { certificate, startTlsMinio } from '../helpers/tls-minio.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, listKeys, makeTree, readTree } from './fixtures.js';

const { s3, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

const cp = (args: string[], env: NodeJS.ProcessEnv) => runCli(['cp', '--no-progress', ...args], { env });
/** All of stderr is one line: the message once, no stack, no OpenSSL dump. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}
/** What a fatal line says after the key it names: the same whichever file or request met it first. */
const problem = (line: string) => line.replace(/^s3xfer: s3:\/\/\S+: /, '');
const smallTree = (n: number) => makeTree(tmpdir(), Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i % 10}/f${i}.txt`, `file ${i}`])));

describe('rejected credentials stop the run', () => {
  it('a bogus AWS_SESSION_TOKEN and a tree of 200 files: exit 2, the message once, few requests sent', async () => {
    const proxy = await startProxy({ target: s3.endpoint });
    onTestFinished(() => proxy.close());
    const env = { ...s3Env(s3, proxy.endpoint), AWS_SESSION_TOKEN: 'bogus-session-token' };
    const res = await cp(['-r', smallTree(200), `s3://${bucket}/token/`], env);
    expect(res.code).toBe(2);
    const line = oneLine(res.stderr);
    expect(problem(line)).toBe(
      "the server rejected the credentials (InvalidTokenId): the session token is not valid: check AWS_SESSION_TOKEN or the profile's aws_session_token (unset it with long-term keys)",
    );
    // Only the files already in flight (--jobs, 32 by default) reached the server, not one request per file.
    expect(proxy.requests.length).toBeLessThanOrEqual(32);
    expect(await listKeys(client, bucket, 'token/')).toEqual([]);

    // A download lists first, through the SDK: the same problem, the same words.
    proxy.clear();
    const down = await cp(['-r', `s3://${bucket}/`, tmpdir()], env);
    expect(down.code).toBe(2);
    expect(problem(oneLine(down.stderr))).toBe(problem(line));
    expect(proxy.requests).toHaveLength(1);
  });

  it.each([
    ['InvalidToken', 400, "the session token is not valid: check AWS_SESSION_TOKEN or the profile's aws_session_token (unset it with long-term keys)"],
    ['ExpiredToken', 400, 'the session token has expired: get new temporary credentials'],
  ])('%s: a PUT (our byte path) and a listing (the SDK) are judged alike, with the fix for a session token', async (code, status, fix) => {
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: () => true, action: { status, errorCode: code } }] });
    onTestFinished(() => proxy.close());
    const env = { ...s3Env(s3, proxy.endpoint), AWS_SESSION_TOKEN: 'some-session-token' };
    const up = await cp(['-r', smallTree(40), `s3://${bucket}/creds/`], env);
    expect(proxy.requests.length).toBeLessThanOrEqual(32);
    const down = await cp(['-r', `s3://${bucket}/creds/`, tmpdir()], env);
    expect([up.code, down.code]).toEqual([2, 2]);
    expect(problem(oneLine(up.stderr))).toBe(`the server rejected the credentials (${code}): ${fix}`);
    expect(problem(oneLine(down.stderr))).toBe(problem(oneLine(up.stderr)));
  });
});

describe('a wrong region stops the run', () => {
  it('MinIO refuses the signature (AuthorizationHeaderMalformed): exit 2, the same line from a PUT and a listing', async () => {
    const env = { ...s3Env(s3), AWS_REGION: 'eu-west-1' };
    const up = await cp(['-r', smallTree(40), `s3://${bucket}/region/`], env);
    const down = await cp(['-r', `s3://${bucket}/region/`, tmpdir()], env);
    expect([up.code, down.code]).toEqual([2, 2]);
    expect(problem(oneLine(up.stderr))).toMatch(/^the server refused the request's authorization \(.*the region is wrong; expecting 'us-east-1'.*\): check --region$/);
    expect(problem(oneLine(down.stderr))).toBe(problem(oneLine(up.stderr)));
  });
});

describe('per-file errors name the file or key', () => {
  it('keys the server refuses with HTTP 400 (MinIO: XMinioInvalidObjectName): each line names its key, exit 1', async () => {
    const res = await cp(['-r', smallTree(3), `s3://${bucket}/bad//`], s3Env(s3));
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/^error: s3:\/\/\S+\/bad\/\/d\d\/f\d\.txt: .*\(XMinioInvalidObjectName, HTTP 400\)$/);
  });
});

describe('https:// to a plain-http server', () => {
  it('exit 2, one line saying to use http://, no OpenSSL dump; uploads and listings alike', async () => {
    const secure = s3.endpoint.replace(/^http:/, 'https:');
    const env = s3Env(s3, secure);
    const up = await cp(['-r', smallTree(20), `s3://${bucket}/tls/`], env);
    const down = await cp(['-r', `s3://${bucket}/`, tmpdir()], env);
    const expected = `s3xfer: the server at ${secure} does not speak TLS: use ${s3.endpoint} (or the port that serves HTTPS)`;
    expect([up.code, down.code]).toEqual([2, 2]);
    expect(oneLine(up.stderr)).toBe(expected);
    expect(oneLine(down.stderr)).toBe(expected);
    expect(up.stderr + down.stderr).not.toMatch(/SSL routines|openssl/i);
  });
});

describe('a server with a self-signed certificate', () => {
  let server: MinioServer;
  let tlsS3: S3Info;
  let caFile: string;
  let tlsBucket: string;
  beforeAll(async () => {
    const started = await startTlsMinio();
    ({ server, caFile, s3: tlsS3 } = started);
    tlsBucket = await createBucket(started.client);
  });
  afterAll(() => server?.stop());

  it('is refused without --ca-bundle: exit 2, one line naming --ca-bundle; uploads and listings alike', async () => {
    const env = s3Env(tlsS3);
    const up = await cp(['-r', smallTree(20), `s3://${tlsBucket}/x/`], env);
    const down = await cp(['-r', `s3://${tlsBucket}/`, tmpdir()], env);
    const host = new URL(tlsS3.endpoint).host;
    const expected = `s3xfer: the certificate of ${host} is not trusted (self-signed): pass --ca-bundle FILE with the CA that signed it, or --no-verify-ssl`;
    expect([up.code, down.code]).toEqual([2, 2]);
    expect(oneLine(up.stderr)).toBe(expected);
    expect(oneLine(down.stderr)).toBe(expected);
  });

  it('works with --ca-bundle (single PUTs, multipart, listing, GETs) and with AWS_CA_BUNDLE: the bytes round-trip', async () => {
    const src = makeTree(tmpdir(), { 'small.txt': 'hello over TLS', 'sub/big.bin': 6 * MiB + 123 });
    const env = s3Env(tlsS3);
    const multipart = ['--bigfile-threshold', '5MiB', '--part-size', '5MiB'];
    const up = await cp(['-r', src, `s3://${tlsBucket}/ca/`, '--ca-bundle', caFile, ...multipart], env);
    expect(up.code, up.stderr).toBe(0);
    const dst = tmpdir();
    const down = await cp(['-r', `s3://${tlsBucket}/ca/`, dst, ...multipart], { ...env, AWS_CA_BUNDLE: caFile });
    expect(down.code, down.stderr).toBe(0);
    // Buffer.equals: a deep toEqual over 6 MiB takes tens of seconds.
    const [got, want] = [readTree(dst), readTree(src)];
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [name, bytes] of Object.entries(want)) expect(got[name]!.equals(bytes), name).toBe(true);
  });

  it('works with --no-verify-ssl, which warns once on stderr', async () => {
    const src = makeTree(tmpdir(), { 'a.txt': 'unverified' });
    const res = await cp(['-r', src, `s3://${tlsBucket}/nv/`, '--no-verify-ssl'], s3Env(tlsS3));
    expect(res.code, res.stderr).toBe(0);
    expect(oneLine(res.stderr)).toBe(
      's3xfer: warning: TLS certificates are not checked (--no-verify-ssl): anyone on the network path could read or alter the data',
    );
    const dst = tmpdir();
    const down = await cp([`s3://${tlsBucket}/nv/a.txt`, `${dst}/`, '--no-verify-ssl'], s3Env(tlsS3));
    expect(down.code, down.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dst, 'a.txt'), 'utf8')).toBe('unverified');
  });
});

describe('a certificate for another name', () => {
  it('is one clear line (exit 2); with --no-verify-ssl the same server works', async () => {
    // A TLS front for the test MinIO whose certificate names other.example only.
    const { cert, key } = await certificate([{ type: 2, value: 'other.example' }]);
    const target = new URL(s3.endpoint);
    const front = tls.createServer({ cert, key }, (sock) => {
      const up = net.connect(Number(target.port || 80), target.hostname);
      sock.pipe(up).pipe(sock);
      sock.on('error', () => up.destroy());
      up.on('error', () => sock.destroy());
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => front.close(() => resolve())));
    const endpoint = `https://127.0.0.1:${(front.address() as net.AddressInfo).port}`;
    const caFile = path.join(tmpdir(), 'other.crt');
    fs.writeFileSync(caFile, cert);
    const src = smallTree(5);

    const res = await cp(['-r', src, `s3://${bucket}/name/`, '--ca-bundle', caFile], s3Env(s3, endpoint));
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toBe(
      's3xfer: the certificate of 127.0.0.1 is for another name (it names DNS:other.example): use a name it lists in --endpoint-url, or --no-verify-ssl',
    );
    const insecure = await cp(['-r', src, `s3://${bucket}/name/`, '--no-verify-ssl'], s3Env(s3, endpoint));
    expect(insecure.code, insecure.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'name/')).toHaveLength(5);
  });
});
