// A small HTTP reverse proxy in front of the S3 server, for tests: it records every
// request and can inject faults (errors, delays, throttling, dropped connections).
//
//   const proxy = await startProxy({ target: s3.endpoint });
//   // point the client/CLI at proxy.endpoint instead of s3.endpoint
//   proxy.setRules([{ match: (r) => r.method === 'PUT', action: { status: 503, times: 2 } }]);
//   ...
//   expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(3);
//   await proxy.close();
//
// The Host header is forwarded exactly as the client sent it: the SDK signs it
// (SigV4), and S3/MinIO checks the signature against the Host it receives.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** What a rule's `match` sees. `path` is the raw (still percent-encoded) path, without the query. */
export interface ProxyRequestInfo {
  method: string;
  path: string;
  /** Query parameters; valueless ones (`?uploads`) map to ''. */
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
}

export interface ProxyAction {
  /** Wait this long before doing anything else (forwarding or answering). */
  delayMs?: number;
  /** Throttle the request body sent upstream (uploads) to about this rate. */
  bytesPerSecond?: number;
  /** Flip one byte of the request body at this offset (bytes corrupted in transit). */
  corruptRequestAt?: number;
  /** Forward this many request body bytes upstream, then cut both connections (an upload cut mid-body). */
  resetRequestAfterBytes?: number;
  /** Throttle the response body sent back to the client (downloads) to about this rate. */
  responseBytesPerSecond?: number;
  /**
   * Answer with this HTTP status and an S3-style XML error body instead of forwarding.
   * The request body is read (and counted) first. The error code defaults from the status
   * (503 → SlowDown, 500 → InternalError, 403 → AccessDenied, ...).
   */
  status?: number;
  /** S3 error code for `status` answers, e.g. 'InternalError'. */
  errorCode?: string;
  /** Message for `status` answers. */
  errorMessage?: string;
  /**
   * Forward the response headers and this many response body bytes, then destroy the
   * client's socket. Responses shorter than this are passed through untouched.
   */
  resetAfterBytes?: number;
  /**
   * Forward the request whole (the server stores it), then cut the client's connection
   * without passing the reply on: the client cannot know whether it worked.
   */
  dropResponse?: boolean;
  /**
   * Forward the response headers and this many body bytes, then send nothing more while
   * keeping the connection open, until the client gives up.
   */
  stallAfterBytes?: number;
  /** Answer with this status instead of the server's, dropping these response headers (a server that ignores Range answers 200 without Content-Range). */
  rewriteStatus?: number;
  stripResponseHeaders?: string[];
  /** Apply to the first N matching requests only (default: every match). */
  times?: number;
}

export interface ProxyRule {
  match: (req: ProxyRequestInfo) => boolean;
  action: ProxyAction;
}

export interface RecordedRequest extends ProxyRequestInfo {
  /** Request body bytes the proxy received from the client. */
  requestBytes: number;
  /** Status sent to the client; 0 while pending or if none was sent. */
  status: number;
  /** Response body bytes sent to the client. */
  responseBytes: number;
  /** The action of the rule that matched, if any. */
  action?: ProxyAction;
  /** Set when the exchange did not complete normally (client went away, upstream failed, reset by a rule). */
  error?: string;
  /** When the proxy received the request, passed it on to the server, and finished sending the reply (Date.now()). */
  receivedAt: number;
  forwardedAt?: number;
  answeredAt?: number;
}

export interface Proxy {
  /** e.g. 'http://127.0.0.1:41234' */
  endpoint: string;
  /** Every request seen, in arrival order; entries are updated while requests are in flight. */
  requests: RecordedRequest[];
  /** TCP connections clients opened to the proxy so far (keep-alive reuse shows as fewer than requests). */
  readonly connections: number;
  /** Empties `requests` (in place). */
  clear(): void;
  /** Replaces the rules; `times` counts start afresh. */
  setRules(rules: ProxyRule[]): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

const DEFAULT_ERRORS: Record<number, [code: string, message: string]> = {
  400: ['InvalidRequest', 'Invalid request.'],
  403: ['AccessDenied', 'Access Denied.'],
  404: ['NoSuchKey', 'The specified key does not exist.'],
  409: ['OperationAborted', 'A conflicting conditional operation is currently in progress.'],
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  501: ['NotImplemented', 'A header you provided implies functionality that is not implemented.'],
  503: ['SlowDown', 'Please reduce your request rate.'],
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Yields `source`'s chunks, counting their bytes as they are read. */
async function* counted(source: Readable, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    onBytes(buf.length);
    yield buf;
  }
}

/** Re-yields `source` in small slices, paced to about `bytesPerSecond` (no pacing if undefined). */
async function* throttled(source: AsyncIterable<Buffer>, bytesPerSecond?: number): AsyncGenerator<Buffer> {
  if (!bytesPerSecond || bytesPerSecond <= 0) {
    yield* source;
    return;
  }
  const slice = Math.max(1, Math.floor(bytesPerSecond / 20)); // ~20 steps a second
  const start = Date.now();
  let sent = 0;
  for await (const chunk of source) {
    for (let off = 0; off < chunk.length; off += slice) {
      const part = chunk.subarray(off, off + slice);
      sent += part.length;
      const wait = start + (sent / bytesPerSecond) * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      yield part;
    }
  }
}

/** Writes with backpressure; resolves false if the stream was closed/destroyed instead. */
async function write(stream: Writable, chunk: Buffer): Promise<boolean> {
  if (stream.destroyed) return false;
  if (stream.write(chunk)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}

export async function startProxy(opts: { target: string; rules?: ProxyRule[] }): Promise<Proxy> {
  const target = new URL(opts.target);
  if (target.protocol !== 'http:') throw new Error(`startProxy: only http targets are supported, got ${opts.target}`);
  const targetPort = Number(target.port || 80);
  const targetHost = target.hostname.replace(/^\[|\]$/g, '');

  const requests: RecordedRequest[] = [];
  // Each rule's remaining `times`, kept aside so callers' rule objects are not mutated.
  let rules: { rule: ProxyRule; remaining: number }[] = [];
  const setRules = (next: ProxyRule[]) => {
    rules = next.map((rule) => ({ rule, remaining: rule.action.times ?? Infinity }));
  };
  setRules(opts.rules ?? []);

  const pickAction = (info: ProxyRequestInfo): ProxyAction | undefined => {
    for (const entry of rules) {
      if (entry.remaining > 0 && entry.rule.match(info)) {
        entry.remaining--;
        return entry.rule.action;
      }
    }
    return undefined;
  };

  // One upstream connection per request: no keep-alive races with the server's idle timeout.
  const agent = new http.Agent({ keepAlive: false });
  let nextId = 1;

  const sendError = (res: http.ServerResponse, rec: RecordedRequest, status: number, code: string, message: string) => {
    const id = `proxy-${nextId++}`;
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>` +
      `<Resource>${xmlEscape(rec.path)}</Resource><RequestId>${id}</RequestId></Error>`;
    rec.status = status;
    res.writeHead(status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': id,
    });
    if (rec.method !== 'HEAD') rec.responseBytes += Buffer.byteLength(body);
    res.end(body);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const info: ProxyRequestInfo = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
    };
    const rec: RecordedRequest = { ...info, requestBytes: 0, status: 0, responseBytes: 0, receivedAt: Date.now() };
    requests.push(rec);
    res.once('finish', () => (rec.answeredAt = Date.now()));
    const action = pickAction(info);
    if (action) rec.action = action;
    const body = counted(req, (n) => (rec.requestBytes += n));

    let upstream: http.ClientRequest | undefined;
    let upstreamRes: http.IncomingMessage | undefined;
    res.once('close', () => {
      if (!res.writableFinished) {
        rec.error ??= 'client connection closed early';
        upstream?.destroy();
        upstreamRes?.destroy();
      }
    });

    try {
      if (action?.delayMs) await sleep(action.delayMs);

      if (action?.status !== undefined) {
        for await (const _ of body) {
          // drain (and count) the request body, as a server would before answering
        }
        const [code, message] = DEFAULT_ERRORS[action.status] ??
          (action.status >= 500 ? DEFAULT_ERRORS[500]! : DEFAULT_ERRORS[400]!);
        sendError(res, rec, action.status, action.errorCode ?? code, action.errorMessage ?? message);
        return;
      }

      const headers: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value; // incl. the original host
      }
      // Node answered any `Expect: 100-continue` itself; the body is streamed right away.
      delete headers.expect;


      const up = http.request({
        host: targetHost,
        port: targetPort,
        method: info.method,
        path: req.url,
        headers,
        agent,
      });
      upstream = up;
      rec.forwardedAt = Date.now();
      const responded = new Promise<http.IncomingMessage>((resolve, reject) => {
        up.once('response', resolve);
        up.once('error', reject);
      });
      responded.catch(() => {}); // handled below; don't let an early rejection go unhandled

      const cutAt = action?.resetRequestAfterBytes;
      const upload = (async () => {
        let sent = 0;
        for await (let chunk of throttled(body, action?.bytesPerSecond)) {
          if (cutAt !== undefined && sent + chunk.length >= cutAt) {
            rec.error = `request reset by rule after ${cutAt} bytes`;
            up.destroy();
            req.socket.destroy();
            return;
          }
          const flip = action?.corruptRequestAt;
          if (flip !== undefined && flip >= sent && flip < sent + chunk.length) {
            const copy = Buffer.from(chunk);
            copy[flip - sent] = copy[flip - sent]! ^ 0xff;
            chunk = copy;
            rec.error = `request byte ${flip} corrupted by rule`;
          }
          sent += chunk.length;
          if (!(await write(up, chunk))) return;
        }
        up.end();
      })();
      upload.catch((err: unknown) => {
        // client aborted mid-upload, or upstream failed: drop the upstream request too
        rec.error ??= `request body: ${(err as Error).message}`;
        up.destroy();
      });

      const upRes = await responded;
      upstreamRes = upRes;
      if (action?.dropResponse) {
        upRes.resume();
        await new Promise<void>((resolve) => upRes.once('end', resolve).once('error', () => resolve()));
        rec.error = `reply (${upRes.statusCode}) dropped by rule`;
        req.socket.destroy();
        return;
      }
      const status = upRes.statusCode ?? 502;
      const resHeaders: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(upRes.headers)) {
        if (!HOP_BY_HOP.has(name) && name !== 'transfer-encoding' && value !== undefined) resHeaders[name] = value;
      }
      for (const name of action?.stripResponseHeaders ?? []) delete resHeaders[name.toLowerCase()];
      rec.status = action?.rewriteStatus ?? status;
      res.writeHead(rec.status, action?.rewriteStatus ? undefined : upRes.statusMessage, resHeaders);

      const resetAt = action?.resetAfterBytes;
      if (resetAt !== undefined && resetAt <= 0) {
        res.flushHeaders();
        await new Promise<void>((resolve) => setImmediate(resolve));
        rec.error = 'reset by rule after 0 bytes';
        req.socket.destroy();
        upRes.destroy();
        return;
      }
      const stallAt = action?.stallAfterBytes;
      for await (const chunk of throttled(upRes, action?.responseBytesPerSecond)) {
        if (stallAt !== undefined && rec.responseBytes + chunk.length >= stallAt) {
          const part = chunk.subarray(0, stallAt - rec.responseBytes);
          rec.responseBytes += part.length;
          res.write(part);
          rec.error = `stalled by rule after ${rec.responseBytes} bytes`;
          upRes.destroy();
          // Hold the connection open, silent, until the client gives up.
          await new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
          return;
        }
        let part = chunk;
        const reset = resetAt !== undefined && rec.responseBytes + part.length >= resetAt;
        if (reset) part = part.subarray(0, resetAt - rec.responseBytes);
        rec.responseBytes += part.length;
        if (reset) {
          // make sure those bytes reach the socket before cutting it
          await new Promise<void>((resolve) => res.write(part, () => resolve()));
          rec.error = `reset by rule after ${rec.responseBytes} bytes`;
          req.socket.destroy();
          upRes.destroy();
          return;
        }
        if (!(await write(res, part))) {
          upRes.destroy();
          return;
        }
      }
      res.end();
    } catch (err) {
      rec.error ??= (err as Error).message;
      if (!res.headersSent && !res.destroyed) {
        sendError(res, rec, 502, 'BadGateway', `proxy: ${(err as Error).message}`);
      } else {
        res.destroy();
      }
      upstream?.destroy();
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  let connections = 0;
  server.on('connection', () => void connections++);
  server.requestTimeout = 0; // throttled transfers may take long
  server.keepAliveTimeout = 65_000; // outlive the SDK's idle sockets: fewer reuse-after-close races

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    clear: () => {
      requests.length = 0;
    },
    setRules,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return closing;
    },
  };
}
