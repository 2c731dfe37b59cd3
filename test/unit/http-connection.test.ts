// Our GET connections (http-connection.ts, through S3DataPath) against a server that this test
// scripts byte by byte: how heads and bodies are cut into reads, what ends them, what reuses them.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { StalledError, TruncatedBodyError } from '../../src/errors.js';
import { isDirectBody, pumpReadable } from '../../src/engine/body-sink.js';
import { isRetryable } from '../../src/engine/s3-errors.js';
import { S3DataPath } from '../../src/engine/s3-http.js';
import type { GetInput, GetOutput } from '../../src/engine/store.js';

interface Request {
  head: string;
  conn: number;
}
type Script = (req: Request, socket: net.Socket, index: number) => void | Promise<void>;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A server that hands each request head (and its socket) to `script`. */
async function scripted(script: Script) {
  let conns = 0;
  const requests: Request[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const conn = ++conns;
    sockets.add(socket);
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
      for (let i; (i = text.indexOf('\r\n\r\n')) >= 0; ) {
        const req = { head: text.slice(0, i), conn };
        text = text.slice(i + 4);
        requests.push(req);
        void script(req, socket, requests.length - 1);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  closers.push(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const path = new S3DataPath({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 'secret' }),
    httpAgent: new http.Agent({ keepAlive: true }),
    httpsAgent: new https.Agent({ keepAlive: true }),
    stallTimeoutMs: 300,
    clockOffsetMs: () => 0,
  });
  return { path, requests, connections: () => conns };
}

const head = (status: string, headers: Record<string, string | number>) =>
  `HTTP/1.1 ${status}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
const partial = (body: Buffer, start = 0, total = 1000) =>
  head('206 Partial Content', { 'Content-Length': body.length, 'Content-Range': `bytes ${start}-${start + body.length - 1}/${total}`, ETag: '"e"' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = new AbortController().signal;

const input = (size: number, buffer = Buffer.alloc(1024 * 1024), start = 0): GetInput => ({ bucket: 'bkt', key: 'k', range: { start, end: start + size - 1 }, buffer });

/** The body through the sink, each view copied; `views` counts those that were views of the buffer. */
async function read(out: GetOutput, buffer: Buffer, slow = 0) {
  const parts: Buffer[] = [];
  let views = 0;
  const sink = async (v: Buffer) => {
    if (v.buffer === buffer.buffer) views++;
    parts.push(Buffer.from(v));
    if (slow) await sleep(slow);
  };
  if (isDirectBody(out.body)) await out.body.drainInto(sink);
  else await pumpReadable(out.body, buffer, sink);
  return { bytes: Buffer.concat(parts), views, direct: isDirectBody(out.body) };
}

describe('GET on our own connections', () => {
  it('a head split across reads and a body in pieces arrive whole, as views of the buffer; the request is signed', async () => {
    const body = randomBytes(5000);
    const s = await scripted(async (_req, socket) => {
      const h = partial(body);
      for (const piece of [h.slice(0, 5), h.slice(5, 40), h.slice(40)]) {
        socket.write(piece);
        await sleep(20);
      }
      socket.write(body.subarray(0, 1234));
      await sleep(20);
      socket.write(body.subarray(1234));
    });
    const buf = Buffer.alloc(1024 * 1024);
    const out = await s.path.get(input(body.length, buf), never);
    expect(out.etag).toBe('"e"');
    const got = await read(out, buf);
    expect(got.direct).toBe(true);
    expect(got.bytes.equals(body)).toBe(true);
    expect(got.views).toBeGreaterThan(0);
    expect(s.requests[0]!.head).toMatch(/^GET \/bkt\/k HTTP\/1\.1\r\n/);
    expect(s.requests[0]!.head).toMatch(/\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}/);
    expect(s.requests[0]!.head).toMatch(/\r\nrange: bytes=0-4999/);
  });

  it('a body that ends at a read boundary; the next request goes on the same connection', async () => {
    const bodies = [randomBytes(3000), randomBytes(10)];
    const s = await scripted((_req, socket, i) => {
      socket.write(partial(bodies[i]!));
      socket.write(bodies[i]!);
    });
    const buf = Buffer.alloc(1024 * 1024);
    for (const body of bodies) expect((await read(await s.path.get(input(body.length, buf), never), buf)).bytes.equals(body)).toBe(true);
    expect(s.requests.map((r) => r.conn)).toEqual([1, 1]);
  });

  it('a body larger than the buffer, through a slow sink: reading waits for each write', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const s = await scripted((_req, socket) => void socket.end(Buffer.concat([Buffer.from(partial(body, 0, body.length)), body])));
    const buf = Buffer.alloc(1024 * 1024);
    const got = await read(await s.path.get(input(body.length, buf), never), buf, 5);
    expect(got.bytes.equals(body)).toBe(true);
  });

  it('a short body then close: a TruncatedBodyError, retried', async () => {
    const s = await scripted((_req, socket) => void socket.end(`${partial(Buffer.alloc(100))}${'x'.repeat(40)}`));
    const buf = Buffer.alloc(1024 * 1024);
    const err = await read(await s.path.get(input(100, buf), never), buf).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TruncatedBodyError);
    expect((err as Error).message).toMatch(/closed the connection 60 bytes before the end of the body/);
    expect(isRetryable(err)).toBe(true);
  });

  it('bytes after the body: the body is whole, and the connection is not used again', async () => {
    const s = await scripted((_req, socket) => void socket.write(`${partial(Buffer.from('abcd'))}abcdEXTRA`));
    const buf = Buffer.alloc(1024 * 1024);
    expect((await read(await s.path.get(input(4, buf), never), buf)).bytes.toString()).toBe('abcd');
    expect((await read(await s.path.get(input(4, buf), never), buf)).bytes.toString()).toBe('abcd');
    expect(s.requests.map((r) => r.conn)).toEqual([1, 2]);
  });

  it('a kept-alive connection the server has closed meanwhile: the request is sent again on a new one', async () => {
    const s = await scripted((_req, socket) => void socket.end(`${partial(Buffer.from('abcd'))}abcd`));
    const buf = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 2; i++) {
      expect((await read(await s.path.get(input(4, buf), never), buf)).bytes.toString()).toBe('abcd');
      await sleep(20);
    }
    // The second request may reach the closing socket too: what matters is that it was sent again.
    expect(s.connections()).toBe(2);
    expect(s.requests.at(-1)!.conn).toBe(2);
  });

  it.each([
    ['a 200 where 206 was asked', head('200 OK', { 'Content-Length': 10 })],
    ['a wrong Content-Range', head('206 Partial Content', { 'Content-Length': 10, 'Content-Range': 'bytes 10-19/1000' })],
  ])('%s: refused as a server that ignores Range, not retried', async (_what, h) => {
    const s = await scripted((_req, socket) => void socket.write(`${h}0123456789`));
    const err = await s.path.get(input(10), never).catch((e: unknown) => e);
    expect((err as Error).name).toBe('InvalidRangeResponse');
    expect((err as Error).message).toMatch(/ignores Range requests/);
    expect(isRetryable(err)).toBe(false);
  });

  it('an error status with an XML body: the S3 error, and the connection serves the next request', async () => {
    const xml = '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';
    const s = await scripted((_req, socket, i) => {
      if (i === 0) socket.write(`${head('503 Service Unavailable', { 'Content-Length': xml.length, 'Content-Type': 'application/xml' })}${xml}`);
      else socket.write(`${partial(Buffer.from('ok'))}ok`);
    });
    const buf = Buffer.alloc(1024 * 1024);
    const err = await s.path.get(input(2, buf), never).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'SlowDown', message: 'Please reduce your request rate.', $metadata: { httpStatusCode: 503 } });
    expect(isRetryable(err)).toBe(true);
    expect((await read(await s.path.get(input(2, buf), never), buf)).bytes.toString()).toBe('ok');
    expect(s.requests.map((r) => r.conn)).toEqual([1, 1]);
  });

  it('a chunked body: fetched again through node:http, and node:http from then on', async () => {
    const s = await scripted((_req, socket) => {
      socket.write(`${head('206 Partial Content', { 'Transfer-Encoding': 'chunked', 'Content-Range': 'bytes 0-9/1000' })}5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n`);
    });
    const buf = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 2; i++) {
      const got = await read(await s.path.get(input(10, buf), never), buf);
      expect(got).toMatchObject({ direct: false });
      expect(got.bytes.toString()).toBe('0123456789');
    }
    // Ours first (no Connection header), then node:http's twice.
    expect(s.requests.map((r) => /\r\nconnection: keep-alive/i.test(r.head))).toEqual([false, true, true]);
  });

  it('a body that stops: a StalledError after the stall timeout, retried', async () => {
    const s = await scripted((_req, socket) => void socket.write(`${partial(Buffer.alloc(100))}${'x'.repeat(10)}`));
    const buf = Buffer.alloc(1024 * 1024);
    const started = Date.now();
    const err = await read(await s.path.get(input(100, buf), never), buf).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StalledError);
    expect(isRetryable(err)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('a loop too busy to read for longer than the stall timeout is not a stall: the waiting bytes count', async () => {
    const body = randomBytes(4000);
    const s = await scripted(async (_req, socket) => {
      socket.write(partial(body));
      socket.write(body.subarray(0, 1000));
      await sleep(50);
      socket.write(body.subarray(1000));
    });
    const buf = Buffer.alloc(1024 * 1024);
    const out = await s.path.get(input(body.length, buf), never);
    const parts: Buffer[] = [];
    let first = true;
    await (out.body as unknown as { drainInto: (sink: (v: Buffer) => void) => Promise<void> }).drainInto((v) => {
      parts.push(Buffer.from(v));
      // A synchronous sink that holds the loop past the 300 ms stall timeout, the rest of the body waiting.
      for (const until = Date.now() + 500; first && Date.now() < until; );
      first = false;
    });
    expect(Buffer.concat(parts).equals(body)).toBe(true);
  });

  it('a server that never answers: a StalledError too', async () => {
    const s = await scripted(() => {});
    expect(await s.path.get(input(100), never).catch((e: unknown) => e)).toBeInstanceOf(StalledError);
  });

  it('an abort ends the request with its reason and closes the connection', async () => {
    const s = await scripted((_req, socket) => void socket.write(`${partial(Buffer.alloc(100))}${'x'.repeat(10)}`));
    const buf = Buffer.alloc(1024 * 1024);
    const ac = new AbortController();
    const out = await s.path.get(input(100, buf), ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(read(out, buf)).rejects.toThrow('stop');
    expect(await s.path.get(input(100, buf), ac.signal).catch((e: unknown) => e)).toMatchObject({ message: 'stop' });
  });

  it('garbage instead of a status line: refused, not retried', async () => {
    const s = await scripted((_req, socket) => void socket.write('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    const err = await s.path.get(input(10), never).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'MalformedResponse' });
    expect(isRetryable(err)).toBe(false);
  });
});
