import type { Readable } from 'node:stream';
import { formatS3 } from '../location.js';
import type { Exchange } from './http-connection.js';
import { etagIsMd5, type GetInput, type GetOutput } from './store.js';
import { customerKeyHeaders } from './object-wire.js';

// A GET as both our byte paths send and read it (s3-http.ts: our connections and node:http;
// sdk-data-path.ts checks ranges the same way).

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

export type Headers = Record<string, string | string[] | undefined>;
export const header = (h: Headers, name: string) => (typeof h[name] === 'string' ? h[name] : undefined);

export function getRequest(input: GetInput): { headers: Record<string, string>; query?: Record<string, string> } {
  const headers: Record<string, string> = customerKeyHeaders(input.customerKey);
  if (input.range) headers.range = `bytes=${input.range.start}-${input.range.end}`;
  if (input.ifMatch) headers['if-match'] = input.ifMatch;
  if (input.checksumMode) headers['x-amz-checksum-mode'] = 'ENABLED';
  return input.versionId ? { headers, query: { versionId: input.versionId } } : { headers };
}

export function getOutput(h: Headers, body: Readable): GetOutput {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = value;
  }
  const lastModified = header(h, 'last-modified');
  return {
    body,
    contentLength: Number(header(h, 'content-length') ?? 0),
    etag: header(h, 'etag') ?? '',
    metadata,
    lastModifiedMs: lastModified ? Date.parse(lastModified) : 0,
    checksumCRC32C: header(h, 'x-amz-checksum-crc32c'),
    etagIsMd5: etagIsMd5(header(h, 'x-amz-server-side-encryption'), header(h, 'x-amz-server-side-encryption-customer-algorithm')),
  };
}

/** A request head as it goes on the wire; a header that could split it is refused. */
export function requestHead(method: string, path: string, headers: Record<string, string>): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(name + value)) throw new TypeError(`header ${name} holds a line break`);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/** An error's XML body, if short (S3's are a few hundred bytes); a failure to read it leaves the status alone. */
export async function errorText(ex: Exchange): Promise<string> {
  if (ex.head.contentLength > 64 * 1024) {
    ex.abandon();
    return '';
  }
  const pieces: Buffer[] = [];
  await ex.drainInto((view) => void pieces.push(Buffer.from(view))).catch(() => {});
  return Buffer.concat(pieces).toString('utf8');
}
