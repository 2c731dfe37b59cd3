/**
 * A minimal, strict HTTP/1.1 response reader for what S3 answers a GET: a
 * status line, headers, and a body framed by Content-Length. It parses bytes
 * as they come off the socket (into a buffer that the next read overwrites),
 * so it copies only the head, never the body: body bytes are handed back as
 * views of the bytes it was given. Framings it does not read (chunked,
 * until-close, interim 1xx) are reported as `unsupported`, for the caller to
 * fetch through node:http instead; a malformed head is an error.
 */

export interface ResponseHead {
  status: number;
  /** Lower-case names; a repeated header's values joined with ', '. */
  headers: Record<string, string>;
  framing: 'length' | 'none' | 'unsupported';
  /** Body bytes to read (0 unless framing is 'length'). */
  contentLength: number;
  /** HTTP/1.1 without `Connection: close`: the connection may carry the next request. */
  keepAlive: boolean;
}

/** The server's bytes are not an HTTP response we can trust: never retried on the same terms. */
export class MalformedResponseError extends Error {
  override name = 'MalformedResponse';
}

/** Larger heads are refused (node's own limit is 16 KiB; S3's user metadata alone may take 2 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024;
const END_OF_HEAD = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;

export class ResponseParser {
  head: ResponseHead | undefined;
  /** Body bytes still to come. */
  remaining = 0;
  /** Bytes came after the body: the connection's next bytes cannot be trusted. */
  extra = false;
  /** Head bytes of earlier reads (copied: the read buffer is reused). */
  private partial = EMPTY;

  /** The response is whole. */
  get done(): boolean {
    return this.head !== undefined && (this.head.framing !== 'length' || this.remaining === 0);
  }

  /**
   * Consume one read's bytes; returns the body bytes among them (a view of
   * `data`, possibly empty). Throws MalformedResponseError on a bad head.
   */
  push(data: Buffer): Buffer {
    let at = 0;
    if (this.head === undefined) {
      at = this.readHead(data);
      if (this.head === undefined) return EMPTY;
    }
    if (this.head.framing !== 'length') {
      if (at < data.length) this.extra = true;
      return EMPTY;
    }
    const take = Math.min(this.remaining, data.length - at);
    this.remaining -= take;
    if (at + take < data.length) this.extra = true;
    return data.subarray(at, at + take);
  }

  /** Where the body starts in `data`, once the head is complete (else data.length). */
  private readHead(data: Buffer): number {
    const before = this.partial.length;
    const joined = before === 0 ? data : Buffer.concat([this.partial, data.subarray(0, MAX_HEAD_BYTES)]);
    const end = joined.indexOf(END_OF_HEAD, Math.max(0, before - 3));
    if (end < 0) {
      if (joined.length >= MAX_HEAD_BYTES) throw new MalformedResponseError(`response head longer than ${MAX_HEAD_BYTES} bytes`);
      this.partial = Buffer.from(joined);
      return data.length;
    }
    if (end > MAX_HEAD_BYTES) throw new MalformedResponseError(`response head longer than ${MAX_HEAD_BYTES} bytes`);
    this.head = parseHead(joined.toString('latin1', 0, end));
    this.partial = EMPTY;
    this.remaining = this.head.contentLength;
    return end + 4 - before;
  }
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const status = STATUS_LINE.exec(lines[0]!);
  if (!status) throw new MalformedResponseError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  const lengths = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    // No bare CR or LF, no folded lines: what a lenient parser would guess, we refuse.
    const m = /[\r\n]/.test(lines[i]!) ? null : HEADER_LINE.exec(lines[i]!);
    if (!m) throw new MalformedResponseError(`bad header line: ${JSON.stringify(lines[i]!.slice(0, 80))}`);
    const name = m[1]!.toLowerCase();
    if (name === 'content-length') lengths.add(m[2]!);
    headers[name] = name in headers ? `${headers[name]}, ${m[2]!}` : m[2]!;
  }
  const code = Number(status[2]);
  const http11 = status[1] === '1';
  const keepAlive = http11 && !/(^|,)\s*close\s*(,|$)/i.test(headers.connection ?? '');
  const base = { status: code, headers, keepAlive };
  if (code < 200 || 'transfer-encoding' in headers) return { ...base, framing: 'unsupported', contentLength: 0, keepAlive: false };
  if (code === 204 || code === 304) return { ...base, framing: 'none', contentLength: 0 };
  if (lengths.size === 0) return { ...base, framing: 'unsupported', contentLength: 0, keepAlive: false };
  const [length] = lengths;
  if (lengths.size > 1 || !/^\d{1,15}$/.test(length!)) throw new MalformedResponseError(`bad Content-Length: ${headers['content-length']}`);
  return { ...base, framing: 'length', contentLength: Number(length) };
}
