import { FatalError, TransferError, UserError, isAbort } from '../errors.js';
import { asSourceFlags, isFromSource } from './source-side.js';

// What kind of failure an error is, asked in one place by the engine, the checkpoints and the commands.

const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
const codeOf = (err: unknown) => {
  const e = err as { Code?: string; name?: string } | undefined;
  return e?.Code ?? e?.name;
};

/** The object (or bucket) is not there: a HEAD's bodiless 404 or a NoSuchKey. */
export function isNotFound(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'NotFound' || code === 'NoSuchKey' || statusOf(err) === 404;
}

/** The multipart upload is gone: completed, aborted, or expired by a lifecycle rule. */
export function isNoSuchUpload(err: unknown): boolean {
  return codeOf(err) === 'NoSuchUpload' || (statusOf(err) === 404 && codeOf(err) !== 'NoSuchBucket');
}

/** The server answered and refused (4xx other than throttling): nothing it was asked to create exists. */
export function isClientError(err: unknown): boolean {
  const status = statusOf(err);
  return status !== undefined && status >= 400 && status < 500 && status !== 429 && !isRetryable(err);
}

/** If-Match failed: the object changed since we pinned its ETag. */
export function isPreconditionFailed(err: unknown): boolean {
  return statusOf(err) === 412 || codeOf(err) === 'PreconditionFailed';
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'RequestTimeoutException',
  'StalledError',
  // The bytes were damaged on the way (the server's checksum disagreed): send them again.
  'BadDigest',
  'XAmzContentChecksumMismatch',
]);

/**
 * Retry what a second attempt can fix (network faults, 5xx, 429, SlowDown);
 * never an abort, auth failures or other 4xx.
 */
export function isRetryable(err: unknown): boolean {
  if (isAbort(err) || !(err instanceof Error)) return false;
  const e = err as Error & { code?: string; Code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) {
    if (status === 429 || status >= 500) return true;
    if (status >= 400) return RETRYABLE_CODES.has(e.Code ?? e.name);
  }
  return RETRYABLE_CODES.has(e.code ?? '') || RETRYABLE_CODES.has(e.name) || e.$retryable !== undefined;
}


/** Where an error happened, for its message. */
export interface ErrorPlace {
  /** The s3://bucket/key (or prefix) the request was about. */
  url: string;
  /** The local file of the transfer, if any. */
  local?: string | undefined;
  /** The endpoint in use: TLS problems are about it, not about one key. */
  endpoint?: string | undefined;
  /** An S3 → S3 copy's source endpoint, when it has its own connection (its errors are marked: source-side.ts). */
  sourceEndpoint?: string | undefined;
  /** An SSE-C key was given: a 403 may be the wrong key, a 400 an object that has none. */
  customerKey?: boolean | undefined;
}

type AnyError = Error & {
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  /** Set by node on a hostname mismatch. */
  host?: string;
  reason?: string;
  cert?: { subjectaltname?: string; subject?: { CN?: string } };
};

/**
 * The one classifier of S3, network and TLS errors. The SDK's errors and our
 * byte path's (s3-http.ts) have the same shape (name/Code, $metadata), node's
 * a `code`, so both paths are judged alike. What no transfer can escape becomes
 * a FatalError (the run stops, exit 2); a per-file problem with a known fix a
 * TransferError; anything else passes through unchanged.
 */
export function explainS3Error(err: unknown, place: ErrorPlace): unknown {
  if (err instanceof UserError || !(err instanceof Error)) return err;
  const e = err as AnyError;
  if (isFromSource(err) && place.sourceEndpoint !== undefined) {
    // The source's own connection failed: its endpoint, and the --source-* flags that fix it.
    // An SSE-C refusal is the object's (a key that is not its own), not the source's credentials.
    const explained = explainTls(e, place.sourceEndpoint) ?? explainCustomerKey(e, place) ?? explainServer(e, place);
    if (!explained) return err;
    const Kind = explained instanceof FatalError ? FatalError : TransferError;
    return new Kind(asSourceFlags(explained.message).replace('the S3 endpoint', `the source endpoint ${place.sourceEndpoint}`), { cause: e });
  }
  return explainLocalError(e, place.local) ?? explainTls(e, place.endpoint) ?? explainCustomerKey(e, place) ?? explainServer(e, place) ?? err;
}

/**
 * SSE-C answers: without the key, a GET says InvalidRequest and a HEAD only 400 (no body); with a
 * key that is not the object's, 403 (AccessDenied, or a HEAD's bare 403); with a key for an object
 * that has none, a HEAD's bare 400. Only a few objects of a tree may be affected: not fatal.
 */
function explainCustomerKey(e: AnyError, { url, customerKey }: ErrorPlace): TransferError | undefined {
  const status = e.$metadata?.httpStatusCode;
  const code = e.Code ?? e.name;
  const bare = code === 'Unknown' || code === 'BadRequest' || code === 'Forbidden' || code === 'UnknownError' || /^HTTP\d+$/.test(code);
  if (!customerKey) {
    const sseC = (code === 'InvalidRequest' || code === 'InvalidArgument') && /Server Side Encryption|customer/i.test(e.message);
    if (sseC || (status === 400 && bare)) {
      return new TransferError(`${url}: refused (HTTP 400, no reason given): if the object is encrypted with SSE-C, pass its key with --sse-c-key fileb://FILE`, { cause: e });
    }
    return undefined;
  }
  if (status === 403 && (bare || code === 'AccessDenied')) {
    return new TransferError(`${url}: access denied (HTTP 403): the --sse-c-key is not the key of this object (or the credentials lack permission)`, { cause: e });
  }
  if (status === 400 && bare) {
    return new TransferError(`${url}: refused (HTTP 400, no reason given) with --sse-c-key: if the object is not encrypted with SSE-C, copy it without --sse-c-key`, { cause: e });
  }
  return undefined;
}

const CHECK_KEYS = 'check the access keys or --profile';
const BAD_TOKEN = "the session token is not valid: check AWS_SESSION_TOKEN or the profile's aws_session_token (unset it with long-term keys)";
const OLD_TOKEN = 'the session token has expired: get new temporary credentials';
/** The fix for each way a server rejects credentials: every request of the run would fail the same way. */
const CREDENTIAL_FIX: Record<string, string> = {
  InvalidAccessKeyId: CHECK_KEYS,
  SignatureDoesNotMatch: CHECK_KEYS,
  InvalidToken: BAD_TOKEN,
  InvalidTokenId: BAD_TOKEN,
  ExpiredToken: OLD_TOKEN,
  ExpiredTokenException: OLD_TOKEN,
  TokenRefreshRequired: OLD_TOKEN,
};

function explainServer(e: AnyError, { url }: ErrorPlace): UserError | undefined {
  const code = e.Code ?? e.name;
  const bucket = /^s3:\/\/([^/]+)/.exec(url)?.[1] ?? '';
  const fix = CREDENTIAL_FIX[code];
  if (fix) return new FatalError(`${url}: the server rejected the credentials (${code}): ${fix}`, { cause: e });
  switch (code) {
    case 'NoSuchBucket':
      return new FatalError(`bucket '${bucket}' does not exist: create it first or check the name in ${url}`, { cause: e });
    case 'CredentialsProviderError':
      return new FatalError(`no usable credentials (${e.message}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or check --profile`, { cause: e });
    case 'AuthorizationHeaderMalformed':
      // MinIO's answer to a wrong region; every request would get it.
      return new FatalError(`${url}: the server refused the request's authorization (${e.message}): check --region`, { cause: e });
    case 'AccessDenied':
      return new TransferError(`${url}: access denied: the credentials lack permission for this bucket or key`, { cause: e });
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    return new FatalError(`cannot reach the S3 endpoint (${e.code}): check --endpoint-url and that the server is running`, { cause: e });
  }
  if (e.$metadata?.httpStatusCode === 403 && (code === 'Forbidden' || code === 'Unknown')) {
    // A HEAD's 403 has no body: bad keys and missing permission look the same.
    return new FatalError(`${url}: access denied (HTTP 403): check the access keys or --profile, and the permissions`, { cause: e });
  }
  return undefined;
}

/** Certificates a CA bundle would make trusted, with what to call them. */
const UNTRUSTED: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'a self-signed CA in its chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by an unknown CA',
  CERT_UNTRUSTED: 'not trusted',
};

/** Other certificate verification failures node reports (OpenSSL's X509_V_ERR names). */
const CERT_REFUSED = new Set([
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'CERT_CHAIN_TOO_LONG',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'HOSTNAME_MISMATCH',
]);

/** The bytes a plain-http server answers a TLS hello with, as OpenSSL words it. */
const NOT_TLS = /wrong[ _]version[ _]number|packet[ _]length[ _]too[ _]long|http[ _]request/i;

/**
 * TLS failures: the same for every request to the endpoint, so they stop the
 * run, in one line instead of OpenSSL's multi-line dump.
 */
function explainTls(e: AnyError, endpoint: string | undefined): FatalError | undefined {
  const code = e.code ?? '';
  const server = endpoint ?? 'the endpoint';
  const host = e.host ?? hostOf(endpoint);
  const fail = (message: string) => new FatalError(message, { cause: e });
  const untrusted = UNTRUSTED[code];
  if (untrusted) return fail(`the certificate of ${host} is not trusted (${untrusted}): pass --ca-bundle FILE with the CA that signed it, or --no-verify-ssl`);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // Node's own reason lists only the certificate's names of the host's kind (none, for an IP and DNS names).
    const names = e.cert?.subjectaltname || (e.cert?.subject?.CN ? `CN=${e.cert.subject.CN}` : undefined);
    const why = names ? `it names ${names}` : (e.reason ?? e.message);
    return fail(`the certificate of ${host} is for another name (${why}): use a name it lists in --endpoint-url, or --no-verify-ssl`);
  }
  if (code === 'CERT_HAS_EXPIRED') return fail(`the certificate of ${host} has expired: renew it on the server, or pass --no-verify-ssl`);
  if (code === 'CERT_NOT_YET_VALID') return fail(`the certificate of ${host} is not valid yet: check this machine's clock and the certificate's dates`);
  if (CERT_REFUSED.has(code)) return fail(`the certificate of ${host} was refused (${code}: ${e.message}): fix the server's certificate, or pass --no-verify-ssl`);
  const tls = code.startsWith('ERR_SSL_') || (code === 'EPROTO' && /SSL|TLS/i.test(e.message));
  if (!tls) return undefined;
  if (NOT_TLS.test(code) || NOT_TLS.test(e.message)) {
    const plain = endpoint?.replace(/^https:/i, 'http:') ?? 'http://';
    return fail(`the server at ${server} does not speak TLS: use ${plain} (or the port that serves HTTPS)`);
  }
  return fail(`the TLS handshake with ${server} failed (${opensslReason(e.message)}): check that it serves HTTPS on that port`);
}

function hostOf(endpoint: string | undefined): string {
  try {
    return endpoint ? new URL(endpoint).host : 'the server';
  } catch {
    return endpoint ?? 'the server';
  }
}

/** "write EPROTO 80CC…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/…:350:\n" → "wrong version number". */
export function opensslReason(message: string): string {
  return /error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+):/.exec(message)?.[1] ?? message.trim().split('\n')[0]!;
}

/** Local filesystem errors, named with the path and what to do: they fail one transfer. */
function explainLocalError(err: AnyError & NodeJS.ErrnoException, localPath: string | undefined): TransferError | undefined {
  const where = err.path ?? localPath ?? 'the destination';
  switch (err.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new TransferError(`no space left writing ${where}: free some space, then rerun (with --checkpoint-dir it resumes)`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new TransferError(`cannot access ${where} (${err.code}): check its permissions or choose another path`, { cause: err });
    case 'ENOTDIR':
    case 'EISDIR':
      return new TransferError(`cannot use ${where} (${err.code}): a file stands where a directory is needed, or the reverse`, { cause: err });
    default:
      return undefined;
  }
}
