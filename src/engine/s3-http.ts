import { StalledError } from '../errors.js';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import type { DataPath, GetInput, GetOutput, PartInput, PutInput } from './store.js';
import { bodySize, type RequestBody } from './file-body.js';
import { ConnectionPool, SocketBody } from './http-connection.js';
import { checkContentRange, errorText, getOutput, getRequest, header, requestHead } from './s3-get.js';
import { customerKeyHeaders, settingsHeaders } from './object-wire.js';

/**
 * The byte path, without the SDK's per-request machinery: measured here, the
 * SDK spends ~1.3 ms of CPU per request (endpoint rules, middleware, body
 * wrappers) and its response streams cost more than the network. GET, PUT and
 * UploadPart are signed with the SDK's own SigV4 signer; PUT and UploadPart go
 * with node:http on our keep-alive agents, GET bodies over plain HTTP are read
 * on our own connections straight into the range's buffer (http-connection.ts).
 * Every control call still goes through the SDK.
 */
export interface DataPathOptions {
  /** Custom endpoint, or undefined for AWS's regional one. */
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  credentials: Provider<AwsCredentialIdentity>;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  stallTimeoutMs: number;
  /** The SDK's measured clock skew, in ms. */
  clockOffsetMs: () => number;
  /** --request-payer requester: every request says the requester pays. */
  requestPayer?: boolean | undefined;
}


type SourceData = string | ArrayBuffer | ArrayBufferView;
const toBuffer = (d: SourceData) =>
  typeof d === 'string' ? Buffer.from(d) : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

/** SHA-256 / HMAC-SHA-256 for the signer, from node:crypto. */
class Sha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.h = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

/** RFC 3986, as the SigV4 signer escapes: what is sent must be what was signed. */
const escapeUri = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Each key segment escaped; '/' stays a separator. */
export function encodeKey(key: string): string {
  return key.split('/').map(escapeUri).join('/');
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** Text of an XML element, entities decoded as the SDK's parser does (MinIO writes ' as &#39;). */
function xmlText(raw: string): string {
  return raw.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, e: string) => {
    if (e[0] !== '#') return XML_ENTITIES[e] ?? whole;
    const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1));
    return n <= 0x10ffff ? String.fromCodePoint(n) : whole;
  });
}

/** An S3 error as the SDK would shape it, so retry and explain rules treat both alike. */
export function s3Error(status: number, body: string, fallback: string): Error {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? fallback;
  const raw = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  const message = raw === undefined ? `HTTP ${status}` : xmlText(raw);
  return Object.assign(new Error(message), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}



const STATUS_NAMES: Record<number, string> = { 304: 'NotModified', 403: 'Forbidden', 404: 'NotFound', 412: 'PreconditionFailed' };

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A streamed body goes piece by piece, the next one asked for only once the last
 * is flushed to the socket (its buffer is then reused); a failure ends the request.
 * While we wait for our own next piece (a body paced by --bwlimit, a slow disk)
 * the stall timer is off: that silence is ours, not the server's.
 */
function writeBody(req: http.ClientRequest, body: RequestBody | undefined, stallTimeoutMs: number): void {
  if (body === undefined || Buffer.isBuffer(body)) {
    req.end(body);
    return;
  }
  const pieces = body.pieces()[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      req.setTimeout(0);
      const next = await pieces.next();
      req.setTimeout(stallTimeoutMs);
      if (next.done) break;
      if (req.destroyed) return;
      await new Promise<void>((resolve, reject) => req.write(next.value, (err) => (err ? reject(err) : resolve())));
    }
    req.end();
  })()
    .catch((err: unknown) => req.destroy(err as Error))
    // Stopped early: the body's own cleanup (its buffer back to the budget) still runs.
    .finally(() => void pieces.return?.(undefined).catch(() => {}));
}

interface RequestParts {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: RequestBody;
}

interface SignedRequest {
  protocol: string;
  hostname: string;
  port: number | undefined;
  /** With the query. */
  path: string;
  headers: Record<string, string>;
}

export class S3DataPath implements DataPath {
  private readonly signer: SignatureV4;
  private readonly base: URL;
  private readonly pool: ConnectionPool;
  /** Our own connections for GETs, until a response shows they cannot read this server's. */
  private direct = true;

  constructor(private readonly opts: DataPathOptions) {
    this.signer = new SignatureV4({ credentials: opts.credentials, region: opts.region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
    this.base = new URL(opts.endpoint ?? `https://s3.${opts.region}.amazonaws.com`);
    this.pool = new ConnectionPool({ stallTimeoutMs: opts.stallTimeoutMs });
  }

  /** Path-style with a custom endpoint (or when asked, or for dotted bucket names under TLS), else virtual-host. */
  private target(bucket: string, key: string) {
    const pathStyle = this.opts.forcePathStyle || (this.base.protocol === 'https:' && bucket.includes('.'));
    const basePath = this.base.pathname.replace(/\/$/, '');
    return {
      protocol: this.base.protocol,
      hostname: pathStyle ? this.base.hostname : `${bucket}.${this.base.hostname}`,
      port: this.base.port ? Number(this.base.port) : undefined,
      path: pathStyle ? `${basePath}/${bucket}/${encodeKey(key)}` : `${basePath}/${encodeKey(key)}`,
    };
  }

  /** The one place requests are signed: where a request goes, its path with the query, its signed headers. */
  private async sign(method: string, bucket: string, key: string, opts: RequestParts): Promise<SignedRequest> {
    const t = this.target(bucket, key);
    const host = t.port ? `${t.hostname}:${t.port}` : t.hostname;
    const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...opts.headers };
    if (this.opts.requestPayer) headers['x-amz-request-payer'] = 'requester';
    if (opts.body) headers['content-length'] = String(bodySize(opts.body));
    const signed = await this.signer.sign(
      { method, protocol: t.protocol, hostname: t.hostname, port: t.port, path: t.path, query: opts.query ?? {}, headers },
      // The SDK corrects for a skewed local clock on its own calls; ours use the same offset.
      { signingDate: new Date(Date.now() + this.opts.clockOffsetMs()) },
    );
    const query = Object.entries(opts.query ?? {})
      .map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`)
      .join('&');
    return { ...t, path: query ? `${t.path}?${query}` : t.path, headers: signed.headers };
  }

  private async send(method: string, bucket: string, key: string, opts: RequestParts & { signal: AbortSignal }): Promise<http.IncomingMessage> {
    const signedReq = await this.sign(method, bucket, key, opts);
    const lib = signedReq.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        {
          method,
          hostname: signedReq.hostname,
          port: signedReq.port,
          path: signedReq.path,
          headers: signedReq.headers,
          agent: signedReq.protocol === 'https:' ? this.opts.httpsAgent : this.opts.httpAgent,
          signal: opts.signal,
        },
        resolve,
      );
      // Inactivity, not total time: waiting for the reply or, later, for the body.
      req.setTimeout(this.opts.stallTimeoutMs, () => req.destroy(new StalledError(`no data for ${this.opts.stallTimeoutMs / 1000} s`)));
      req.on('error', reject);
      writeBody(req, opts.body, this.opts.stallTimeoutMs);
    });
  }

  private async expectOk(res: http.IncomingMessage, ok: number[]): Promise<void> {
    const status = res.statusCode ?? 0;
    if (ok.includes(status)) return;
    throw s3Error(status, await readAll(res), STATUS_NAMES[status] ?? `HTTP${status}`);
  }

  /**
   * A GET: over plain HTTP and with a buffer to read into, on our own
   * connections (http-connection.ts); otherwise, or for a response those do
   * not read (chunked, until close), through node:http.
   */
  async get(input: GetInput, signal: AbortSignal): Promise<GetOutput> {
    if (input.buffer && this.direct && this.base.protocol === 'http:') {
      const out = await this.directGet(input, input.buffer, signal);
      if (out) return out;
    }
    const res = await this.send('GET', input.bucket, input.key, { ...getRequest(input), signal });
    // 200 to a ranged GET means the Range was ignored: caught just below, with a clear message.
    await this.expectOk(res, input.range ? [200, 206] : [200]);
    if (input.range) {
      try {
        checkContentRange(input, res.statusCode, header(res.headers, 'content-range'));
      } catch (err) {
        res.destroy();
        throw err;
      }
    }
    return getOutput(res.headers, res as Readable);
  }

  /** The GET on a connection of `buffer`; undefined when the response must be read by node:http. */
  private async directGet(input: GetInput, buffer: Buffer, signal: AbortSignal): Promise<GetOutput | undefined> {
    const req = await this.sign('GET', input.bucket, input.key, getRequest(input));
    const endpoint = { host: req.hostname.replace(/^\[(.*)\]$/, '$1'), port: req.port ?? 80 };
    const ex = await this.pool.request(endpoint, requestHead('GET', req.path, req.headers), buffer, signal);
    const { status, headers } = ex.head;
    if (ex.head.framing === 'unsupported') {
      ex.abandon();
      // A server (or proxy) that frames a body so once does it again: node:http from now on.
      if (status >= 200 && status < 300) this.direct = false;
      return undefined;
    }
    if (status !== 200 && !(status === 206 && input.range)) throw s3Error(status, await errorText(ex), STATUS_NAMES[status] ?? `HTTP${status}`);
    if (input.range) {
      try {
        checkContentRange(input, status, headers['content-range']);
      } catch (err) {
        ex.abandon();
        throw err;
      }
    }
    return getOutput(headers, new SocketBody(ex));
  }

  private async putBody(bucket: string, key: string, body: RequestBody, headers: Record<string, string>, query: Record<string, string> | undefined, signal: AbortSignal) {
    const res = await this.send('PUT', bucket, key, { headers, body, signal, ...(query ? { query } : {}) });
    await this.expectOk(res, [200]);
    res.resume();
    return { etag: String(res.headers.etag ?? '') };
  }

  put(input: PutInput, signal: AbortSignal): Promise<{ etag: string }> {
    const headers: Record<string, string> = { 'x-amz-checksum-crc32c': input.crc32c, ...settingsHeaders(input.settings), ...customerKeyHeaders(input.customerKey) };
    for (const [k, v] of Object.entries(input.metadata)) headers[`x-amz-meta-${k}`] = v;
    return this.putBody(input.bucket, input.key, input.body, headers, undefined, signal);
  }

  uploadPart(input: PartInput, signal: AbortSignal): Promise<{ etag: string }> {
    return this.putBody(
      input.bucket,
      input.key,
      input.body,
      { 'x-amz-checksum-crc32c': input.crc32c, ...customerKeyHeaders(input.customerKey) },
      { partNumber: String(input.partNumber), uploadId: input.uploadId },
      signal,
    );
  }
}
