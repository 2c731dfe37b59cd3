import net from 'node:net';
import { Exchange, StaleConnection, type ExchangeHost } from './http-exchange.js';

export { SocketBody, type Exchange } from './http-exchange.js';

/**
 * Plain-HTTP connections that read straight into one fixed buffer each
 * (`net.Socket`'s `onread`), for GET bodies: node:http reads its sockets 64 KiB
 * at a time into a new Buffer each, and those allocations (with the garbage
 * collections they cause) cost more CPU than everything else a download does.
 * Here a read lands in the buffer, its body bytes go to the sink as a view,
 * and reading stops while the sink writes them out: no copy, no garbage.
 *
 * A connection belongs to its buffer: the buffer a range takes from the run's
 * budget picks the connection, so no two requests ever share either. An idle
 * connection does not read (its buffer may serve something else meanwhile).
 *
 * Plain TCP only: a TLS socket keeps calling `onread` after the callback asked
 * it to stop (its TLS layer drains what it decrypted), so a buffer could not
 * be held while it is written out; https goes through node:http.
 */

export interface Endpoint {
  host: string;
  port: number;
}

export interface ConnectionOptions {
  /** A connection that sends nothing for this long is cut (StalledError, retried). */
  stallTimeoutMs: number;
  /** An idle connection is closed after this long. */
  idleMs?: number | undefined;
}

/** Idle connections outlive a run's gaps between requests, not a server's idle timeout (often 5 s or more). */
const IDLE_MS = 4000;

export class ConnectionPool {
  private readonly idle = new Map<Buffer, Connection>();

  constructor(private readonly opts: ConnectionOptions) {}

  /**
   * Send `request` (a whole request head, no body) on the connection of
   * `buffer` (a new one if it has none), and wait for the response head.
   */
  async request(endpoint: Endpoint, request: string, buffer: Buffer, signal: AbortSignal): Promise<Exchange> {
    signal.throwIfAborted();
    const key = `${endpoint.host}:${endpoint.port}`;
    const kept = this.idle.get(buffer);
    if (kept) {
      this.idle.delete(buffer);
      if (kept.key === key) {
        try {
          return await kept.send(request, signal, true);
        } catch (err) {
          if (!(err instanceof StaleConnection)) throw err;
        }
      } else kept.destroy();
    }
    const conn = new Connection(key, endpoint, buffer, this.opts.stallTimeoutMs, (c) => this.park(c));
    return conn.send(request, signal, false);
  }

  private park(conn: Connection): void {
    this.idle.get(conn.buffer)?.destroy();
    this.idle.set(conn.buffer, conn);
    conn.idle(this.opts.idleMs ?? IDLE_MS, () => {
      if (this.idle.get(conn.buffer) === conn) this.idle.delete(conn.buffer);
    });
  }
}

class Connection implements ExchangeHost {
  private readonly socket: net.Socket;
  private exchange: Exchange | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private onGone: (() => void) | undefined;

  constructor(
    readonly key: string,
    endpoint: Endpoint,
    readonly buffer: Buffer,
    private readonly stallTimeoutMs: number,
    private readonly park: (c: Connection) => void,
  ) {
    this.socket = net.connect({
      host: endpoint.host,
      port: endpoint.port,
      noDelay: true,
      // Reading while idle would be a protocol error (and the buffer may be in use elsewhere): stop.
      onread: { buffer, callback: (n: number) => this.exchange?.onRead(buffer.subarray(0, n)) ?? false },
    });
    this.socket.on('error', (err) => this.gone(err));
    this.socket.on('end', () => this.gone(undefined));
    this.socket.on('close', () => this.gone(undefined));
  }

  send(request: string, signal: AbortSignal, reused: boolean): Promise<Exchange> {
    clearTimeout(this.idleTimer);
    this.socket.ref();
    const ex = new Exchange(this, signal, this.stallTimeoutMs, reused);
    this.exchange = ex;
    this.socket.write(request, 'latin1');
    if (reused) this.socket.resume();
    return ex.headArrived;
  }

  /** The exchange is over: keep the connection for the next request, or close it. */
  done(ex: Exchange, reusable: boolean): void {
    if (this.exchange !== ex) return;
    this.exchange = undefined;
    if (reusable) this.park(this);
    else this.destroy();
  }

  idle(ms: number, onGone: () => void): void {
    this.onGone = onGone;
    this.socket.unref();
    this.idleTimer = setTimeout(() => this.destroy(), ms).unref();
  }

  /** Start or stop reading into the buffer. */
  reading(on: boolean): void {
    if (on) this.socket.resume();
    else this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
    this.gone(undefined);
  }

  private gone(err: Error | undefined): void {
    clearTimeout(this.idleTimer);
    const ex = this.exchange;
    this.exchange = undefined;
    ex?.lost(err);
    this.onGone?.();
    this.onGone = undefined;
    this.socket.destroy();
  }
}
