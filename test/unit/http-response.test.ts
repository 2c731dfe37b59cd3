import { describe, expect, it } from 'vitest';
import { MAX_HEAD_BYTES, MalformedResponseError, ResponseParser } from '../../src/engine/http-response.js';

const HEAD = 'HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nContent-Range: bytes 0-9/100\r\nETag: "abc"\r\nx-amz-meta-mtime: 1700000000\r\n\r\n';
const BODY = '0123456789';

/** Feed `text` in pieces cut at `cuts`; each piece is copied into one reused buffer, as socket reads are. */
function feed(text: string, cuts: number[]) {
  const all = Buffer.from(text, 'latin1');
  const p = new ResponseParser();
  const reused = Buffer.alloc(all.length + 1);
  const body: string[] = [];
  let from = 0;
  for (const to of [...cuts, all.length]) {
    const n = all.copy(reused, 0, from, to);
    body.push(p.push(reused.subarray(0, n)).toString('latin1'));
    from = to;
  }
  return { p, body: body.join('') };
}

describe('ResponseParser', () => {
  it('reads a head and a Content-Length body cut anywhere (one and two cuts)', () => {
    const text = HEAD + BODY;
    for (let i = 0; i <= text.length; i++) {
      for (const j of [i, Math.min(text.length, i + 1), Math.min(text.length, i + 7)]) {
        const { p, body } = feed(text, [i, j]);
        expect(body, `cut at ${i}, ${j}`).toBe(BODY);
        expect(p.done).toBe(true);
        expect(p.extra).toBe(false);
        expect(p.head).toMatchObject({ status: 206, framing: 'length', contentLength: 10, keepAlive: true });
        expect(p.head!.headers).toMatchObject({ 'content-range': 'bytes 0-9/100', etag: '"abc"', 'x-amz-meta-mtime': '1700000000' });
      }
    }
  });

  it('a body that ends exactly at a read boundary is done, with nothing extra', () => {
    const { p, body } = feed(HEAD + BODY, [HEAD.length]);
    expect(body).toBe(BODY);
    expect(p.done).toBe(true);
    expect(p.remaining).toBe(0);
  });

  it('bytes after the body are not body, and mark the connection as unusable', () => {
    const { p, body } = feed(`${HEAD}${BODY}HTTP/1.1 200 OK\r\n`, [HEAD.length + 4]);
    expect(body).toBe(BODY);
    expect(p.extra).toBe(true);
  });

  it('a short body is not done', () => {
    const { p } = feed(HEAD + BODY.slice(0, 4), []);
    expect(p.done).toBe(false);
    expect(p.remaining).toBe(6);
  });

  it.each([
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['until close', 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n'],
    ['an interim 100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['chunked beside a Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'],
  ])('%s: unsupported, for node:http to read, and never reused', (_what, head) => {
    const { p, body } = feed(`${head}5\r\nhello\r\n0\r\n\r\n`, []);
    expect(p.head!.framing).toBe('unsupported');
    expect(p.head!.keepAlive).toBe(false);
    expect(body).toBe('');
  });

  it('304 and 204 have no body; HTTP/1.0 and Connection: close are not kept alive', () => {
    expect(feed('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n', []).p).toMatchObject({ done: true, head: { framing: 'none', keepAlive: true } });
    expect(feed('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', []).p.head!.keepAlive).toBe(false);
    expect(feed('HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n', []).p.head!.keepAlive).toBe(false);
    expect(feed('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n', []).p).toMatchObject({ done: true, head: { keepAlive: true } });
  });

  it('repeated headers are joined; equal Content-Lengths are one', () => {
    const { p } = feed('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: 1\r\nx-a: 2\r\ncontent-length: 3\r\n\r\nabc', []);
    expect(p.head!.headers['x-a']).toBe('1, 2');
    expect(p.head!.contentLength).toBe(3);
  });

  it.each([
    ['not HTTP', 'ICY 200 OK\r\n\r\n'],
    ['HTTP/2 text', 'HTTP/2 200\r\n\r\n'],
    ['a folded header', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n'],
    ['a header without a colon', 'HTTP/1.1 200 OK\r\nnonsense\r\n\r\n'],
    ['a bare LF', 'HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\nContent-Length: 0\r\n\r\n'],
    ['two Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n'],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n'],
  ])('%s: refused', (_what, head) => {
    expect(() => feed(head, [])).toThrow(MalformedResponseError);
  });

  it('a head that never ends is refused once it passes the limit, even a read at a time', () => {
    const p = new ResponseParser();
    const line = Buffer.from(`X-Pad: ${'a'.repeat(1000)}\r\n`);
    p.push(Buffer.from('HTTP/1.1 200 OK\r\n'));
    expect(() => {
      for (let i = 0; i * line.length <= MAX_HEAD_BYTES; i++) p.push(line);
    }).toThrow(/longer than/);
  });
});
