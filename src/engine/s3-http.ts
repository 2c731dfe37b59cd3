import { StalledError } from '../errors.js';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { etagIsMd5, type DataPath, type GetInput, type GetOutput, type PartInput, type PutInput } from './store.js';
import { formatS3 } from '../location.js';
import { bodySize, type RequestBody } from './file-body.js';

/**
 * The byte path, without the SDK's per-request machinery: measured here, the
 * SDK spends ~1.3 ms of CPU per request (endpoint rules, middleware, body
 * wrappers) and its response streams cost more than the network. GET, PUT and
 * UploadPart are signed with the SDK's own SigV4 signer and sent with node:http
 * on our keep-alive agents; every control call still goes through the SDK.
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

/** A server or proxy that ignored Range would put the object's first bytes in this range's place. */
export function checkContentRange(input: GetInput, status: number | undefined, contentRange: string | undefined): void {
  const range = input.range!;
  const m = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
  if (status === 206 && m && Number(m[1]) === range.start && Number(m[2]) === range.end) return;
  const what = `asked ${formatS3(input.bucket, input.key)} for bytes ${range.start}-${range.end}, got HTTP ${status} with Content-Range '${contentRange ?? ''}'`;
  throw Object.assign(new Error(`${what}: the server or a proxy ignores Range requests`), {
    name: 'InvalidRangeResponse',
    $metadata: { httpStatusCode: status },
  });
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
 */
function writeBody(req: http.ClientRequest, body: RequestBody | undefined): void {
  if (body === undefined || Buffer.isBuffer(body)) {
    req.end(body);
    return;
  }
  void (async () => {
    for await (const piece of body.pieces()) {
      if (req.destroyed) return;
      await new Promise<void>((resolve, reject) => req.write(piece, (err) => (err ? reject(err) : resolve())));
    }
    req.end();
  })().catch((err: unknown) => req.destroy(err as Error));
}

const header = (h: http.IncomingHttpHeaders, name: string) => (typeof h[name] === 'string' ? h[name] : undefined);

export class S3DataPath implements DataPath {
  private readonly signer: SignatureV4;
  private readonly base: URL;

  constructor(private readonly opts: DataPathOptions) {
    this.signer = new SignatureV4({ credentials: opts.credentials, region: opts.region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
    this.base = new URL(opts.endpoint ?? `https://s3.${opts.region}.amazonaws.com`);
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

  private async send(
    method: string,
    bucket: string,
    key: string,
    opts: { query?: Record<string, string>; headers?: Record<string, string>; body?: RequestBody; signal: AbortSignal },
  ): Promise<http.IncomingMessage> {
    const t = this.target(bucket, key);
    const host = t.port ? `${t.hostname}:${t.port}` : t.hostname;
    const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...opts.headers };
    if (opts.body) headers['content-length'] = String(bodySize(opts.body));
    const signed = await this.signer.sign(
      { method, protocol: t.protocol, hostname: t.hostname, port: t.port, path: t.path, query: opts.query ?? {}, headers },
      // The SDK corrects for a skewed local clock on its own calls; ours use the same offset.
      { signingDate: new Date(Date.now() + this.opts.clockOffsetMs()) },
    );
    const query = Object.entries(opts.query ?? {})
      .map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`)
      .join('&');
    const lib = t.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        {
          method,
          hostname: t.hostname,
          port: t.port,
          path: query ? `${t.path}?${query}` : t.path,
          headers: signed.headers,
          agent: t.protocol === 'https:' ? this.opts.httpsAgent : this.opts.httpAgent,
          signal: opts.signal,
        },
        resolve,
      );
      // Inactivity, not total time: waiting for the reply or, later, for the body.
      req.setTimeout(this.opts.stallTimeoutMs, () => req.destroy(new StalledError(`no data for ${this.opts.stallTimeoutMs / 1000} s`)));
      req.on('error', reject);
      writeBody(req, opts.body);
    });
  }

  private async expectOk(res: http.IncomingMessage, ok: number[]): Promise<void> {
    const status = res.statusCode ?? 0;
    if (ok.includes(status)) return;
    throw s3Error(status, await readAll(res), STATUS_NAMES[status] ?? `HTTP${status}`);
  }

  async get(input: GetInput, signal: AbortSignal): Promise<GetOutput> {
    const headers: Record<string, string> = {};
    if (input.range) headers.range = `bytes=${input.range.start}-${input.range.end}`;
    if (input.ifMatch) headers['if-match'] = input.ifMatch;
    if (input.checksumMode) headers['x-amz-checksum-mode'] = 'ENABLED';
    const query = input.versionId ? { versionId: input.versionId } : undefined;
    const res = await this.send('GET', input.bucket, input.key, { headers, signal, ...(query ? { query } : {}) });
    // 200 to a ranged GET means the Range was ignored: caught just below, with a clear message.
    await this.expectOk(res, input.range ? [200, 206] : [200]);
    const h = res.headers;
    if (input.range) {
      try {
        checkContentRange(input, res.statusCode, h['content-range']);
      } catch (err) {
        res.destroy();
        throw err;
      }
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(h)) {
      if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = value;
    }
    return {
      body: res as Readable,
      contentLength: Number(h['content-length'] ?? 0),
      etag: String(h.etag ?? ''),
      metadata,
      lastModifiedMs: h['last-modified'] ? Date.parse(h['last-modified']) : 0,
      checksumCRC32C: typeof h['x-amz-checksum-crc32c'] === 'string' ? h['x-amz-checksum-crc32c'] : undefined,
      etagIsMd5: etagIsMd5(header(h, 'x-amz-server-side-encryption'), header(h, 'x-amz-server-side-encryption-customer-algorithm')),
    };
  }

  private async putBody(bucket: string, key: string, body: RequestBody, headers: Record<string, string>, query: Record<string, string> | undefined, signal: AbortSignal) {
    const res = await this.send('PUT', bucket, key, { headers, body, signal, ...(query ? { query } : {}) });
    await this.expectOk(res, [200]);
    res.resume();
    return { etag: String(res.headers.etag ?? '') };
  }

  put(input: PutInput, signal: AbortSignal): Promise<{ etag: string }> {
    const headers: Record<string, string> = { 'x-amz-checksum-crc32c': input.crc32c };
    for (const [k, v] of Object.entries(input.metadata)) headers[`x-amz-meta-${k}`] = v;
    return this.putBody(input.bucket, input.key, input.body, headers, undefined, signal);
  }

  uploadPart(input: PartInput, signal: AbortSignal): Promise<{ etag: string }> {
    return this.putBody(
      input.bucket,
      input.key,
      input.body,
      { 'x-amz-checksum-crc32c': input.crc32c },
      { partNumber: String(input.partNumber), uploadId: input.uploadId },
      signal,
    );
  }
}
