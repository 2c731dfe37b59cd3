import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ExitCode, FatalError, TransferError, UserError, describeError, named } from '../../src/errors.js';
import { explainS3Error, opensslReason } from '../../src/engine/s3-errors.js';
import { s3Error } from '../../src/engine/s3-http.js';
import { sourceSide } from '../../src/engine/source-side.js';
import type { ObjectStore } from '../../src/engine/store.js';

const url = 's3://bkt/dir/a.txt';
const endpoint = 'https://127.0.0.1:9000';
const place = { url, local: '/tmp/a.txt', endpoint };

/** As the SDK throws a service error (control calls: list, head, create/complete…). */
const sdkError = (code: string, status: number, message = `${code} message`) =>
  Object.assign(new S3ServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: status }, message }), { Code: code });
/** As our byte path throws one (GET, PUT, UploadPart), from the XML body. */
const byteError = (code: string, status: number) =>
  s3Error(status, `<?xml version="1.0"?><Error><Code>${code}</Code><Message>${code} message</Message></Error>`, 'Forbidden');
/** As node's http/tls throw. */
const sysError = (code: string, message: string, extra: object = {}) => Object.assign(new Error(message), { code, ...extra });

const explain = (err: unknown) => explainS3Error(err, place);

describe('explainS3Error: what stops the run', () => {
  it.each([
    ['InvalidTokenId', 403, /the server rejected the credentials \(InvalidTokenId\): the session token is not valid: check AWS_SESSION_TOKEN/],
    ['InvalidToken', 400, /the session token is not valid/],
    ['ExpiredToken', 400, /\(ExpiredToken\): the session token has expired: get new temporary credentials/],
    ['InvalidAccessKeyId', 403, /\(InvalidAccessKeyId\): check the access keys or --profile/],
    ['SignatureDoesNotMatch', 403, /\(SignatureDoesNotMatch\): check the access keys or --profile/],
    ['NoSuchBucket', 404, /^bucket 'bkt' does not exist: create it first/],
    ['AuthorizationHeaderMalformed', 400, /refused the request's authorization .*: check --region/],
  ])('%s (HTTP %s): a FatalError, the same from the SDK and from the byte path', (code, status, message) => {
    const fromSdk = explain(sdkError(code, status));
    const fromBytes = explain(byteError(code, status));
    expect(fromSdk).toBeInstanceOf(FatalError);
    expect(fromBytes).toBeInstanceOf(FatalError);
    expect((fromSdk as FatalError).message).toMatch(message);
    expect((fromBytes as FatalError).message).toBe((fromSdk as FatalError).message);
    expect((fromSdk as FatalError).exitCode).toBe(ExitCode.usage);
  });

  it('the byte path decodes the XML body as the SDK does (MinIO writes \' as &#39;)', () => {
    const body = "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region is wrong; expecting &#39;us-east-1&#39; &amp; &lt;more&gt; &#x41;</Message></Error>";
    expect(s3Error(400, body, 'HTTP400').message).toBe("the region is wrong; expecting 'us-east-1' & <more> A");
  });

  it("a HEAD's bodiless 403 (the SDK's Unknown, our Forbidden) stops the run", () => {
    const head = Object.assign(new S3ServiceException({ name: 'Unknown', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'UnknownError' }));
    expect(explain(head)).toBeInstanceOf(FatalError);
    expect(explain(s3Error(403, '', 'Forbidden'))).toBeInstanceOf(FatalError);
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'])('%s: the endpoint cannot be reached', (code) => {
    const e = explain(sysError(code, `connect ${code}`));
    expect(e).toBeInstanceOf(FatalError);
    expect((e as Error).message).toBe(`cannot reach the S3 endpoint (${code}): check --endpoint-url and that the server is running`);
  });

  it('no credentials at all', () => {
    const e = explain(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    expect(e).toBeInstanceOf(FatalError);
    expect((e as Error).message).toMatch(/^no usable credentials \(Could not load credentials from any providers\): set AWS_ACCESS_KEY_ID/);
  });
});

describe('explainS3Error: TLS, in one line', () => {
  const eproto = 'write EPROTO 80CC4463B57F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n';
  it.each([
    ['https:// to a plain-http server', sysError('EPROTO', eproto), 'the server at https://127.0.0.1:9000 does not speak TLS: use http://127.0.0.1:9000 (or the port that serves HTTPS)'],
    ['a self-signed certificate', sysError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'the certificate of 127.0.0.1:9000 is not trusted (self-signed): pass --ca-bundle FILE with the CA that signed it, or --no-verify-ssl'],
    ['a self-signed CA in the chain', sysError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), /is not trusted \(a self-signed CA in its chain\): pass --ca-bundle FILE/],
    ['an unknown CA', sysError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), /is not trusted \(signed by an unknown CA\): pass --ca-bundle FILE/],
    ['an unknown issuer', sysError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'), /is not trusted \(signed by an unknown CA\)/],
    [
      'a hostname mismatch',
      sysError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ", {
        host: '127.0.0.1',
        reason: "IP: 127.0.0.1 is not in the cert's list: ",
        cert: { subjectaltname: 'DNS:other.example, DNS:www.other.example' },
      }),
      'the certificate of 127.0.0.1 is for another name (it names DNS:other.example, DNS:www.other.example): use a name it lists in --endpoint-url, or --no-verify-ssl',
    ],
    [
      'a hostname mismatch, certificate without alternative names',
      sysError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: Host: s3.local. is not cert's CN: minio", {
        host: 's3.local',
        reason: "Host: s3.local. is not cert's CN: minio",
        cert: { subject: { CN: 'minio' } },
      }),
      /^the certificate of s3.local is for another name \(it names CN=minio\)/,
    ],
    ['an expired certificate', sysError('CERT_HAS_EXPIRED', 'certificate has expired'), 'the certificate of 127.0.0.1:9000 has expired: renew it on the server, or pass --no-verify-ssl'],
    ['another handshake failure', sysError('EPROTO', 'C0:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1586:\n'), /^the TLS handshake with https:\/\/127.0.0.1:9000 failed \(sslv3 alert handshake failure\): check that it serves HTTPS/],
  ])('%s', (_name, err, message) => {
    const e = explain(err);
    expect(e).toBeInstanceOf(FatalError);
    expect((e as Error).message).toMatch(typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message);
    expect((e as Error).message).not.toContain('\n');
    // A protocol error that is not about TLS is left alone.
    const plain = sysError('EPROTO', 'read EPROTO');
    expect(explain(plain)).toBe(plain);
  });

  it("OpenSSL's reason is the part a user can read", () => {
    expect(opensslReason(eproto)).toBe('wrong version number');
    expect(opensslReason('just a message\nsecond line')).toBe('just a message');
  });
});

describe('explainS3Error: what fails one transfer only', () => {
  it.each([
    ['AccessDenied', sdkError('AccessDenied', 403), /^s3:\/\/bkt\/dir\/a.txt: access denied: the credentials lack permission/],
    ['disk full', sysError('ENOSPC', 'no space', { path: '/tmp/a.txt' }), /^no space left writing \/tmp\/a.txt/],
    ['permission', sysError('EACCES', 'denied'), /^cannot access \/tmp\/a.txt \(EACCES\)/],
  ])('%s: a TransferError (exit 1), the run goes on', (_n, err, message) => {
    const e = explain(err);
    expect(e).toBeInstanceOf(TransferError);
    expect(e).not.toBeInstanceOf(FatalError);
    expect((e as UserError).exitCode).toBe(ExitCode.partial);
    expect((e as Error).message).toMatch(message);
    // Nor do these, which pass through unchanged: a key the server refuses (400), throttling, a reset.
    for (const other of [byteError('XMinioInvalidObjectName', 400), sdkError('SlowDown', 503), sysError('ECONNRESET', 'socket hang up')]) {
      expect(explain(other)).toBe(other);
    }
  });
});

describe('named: every per-file line names its file or key', () => {
  it('prefixes the first name when the message names none', () => {
    const msg = describeError(byteError('XMinioInvalidObjectName', 400));
    expect(named(msg, url, '/tmp/a.txt')).toBe(`${url}: XMinioInvalidObjectName message (XMinioInvalidObjectName, HTTP 400)`);
  });
  it('leaves a message that names the file or the key alone', () => {
    expect(named(`cannot access /tmp/a.txt (EACCES)`, url, '/tmp/a.txt')).toBe('cannot access /tmp/a.txt (EACCES)');
    expect(named(`${url}: access denied`, url, '/tmp/a.txt')).toBe(`${url}: access denied`);
  });
  it("'-' (standard input) counts as no name", () => {
    expect(named('self-signed thing', url, '-')).toBe(`${url}: self-signed thing`);
  });
});

describe('explainS3Error: the source of a copy from another endpoint', () => {
  const refusedBy = async (status: number, name: string) => {
    const failing = {
      head: async () => {
        throw Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
      },
    } as unknown as ObjectStore;
    return sourceSide(failing).head('b', 'k', new AbortController().signal).catch((e: unknown) => e);
  };

  it("a bare 403 with an SSE-C key is the object's key, one transfer's failure, not the source's credentials", async () => {
    const out = explainS3Error(await refusedBy(403, 'Forbidden'), { url: 's3://b/k', endpoint: 'http://dst:9000', sourceEndpoint: 'http://src:9000', customerKey: true });
    expect(out).toBeInstanceOf(TransferError);
    expect(out).not.toBeInstanceOf(FatalError);
    expect((out as Error).message).toMatch(/sse-c-key/);
  });

  it("without a key, a HEAD's bare 403 on the source stops the run naming the --source-* flags", async () => {
    const out = explainS3Error(await refusedBy(403, 'Forbidden'), { url: 's3://b/k', endpoint: 'http://dst:9000', sourceEndpoint: 'http://src:9000' });
    expect(out).toBeInstanceOf(FatalError);
    expect((out as Error).message).toMatch(/--source-profile/);
  });
});
