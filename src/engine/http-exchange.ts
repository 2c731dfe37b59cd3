import { Readable } from 'node:stream';
import { StalledError, TruncatedBodyError } from '../errors.js';
import type { BodySink } from './body-sink.js';
import { ResponseParser, type ResponseHead } from './http-response.js';

/** What an exchange needs of its connection (http-connection.ts). */
export interface ExchangeHost {
  /** The exchange is over: reuse the connection for the next request, or close it. */
  done(ex: Exchange, reusable: boolean): void;
  /** Start or stop reading into the connection's buffer. */
  reading(on: boolean): void;
}

/** A kept-alive connection the server had closed: the request is sent again on a new one. */
export class StaleConnection extends Error {}

type State = 'head' | 'held' | 'reading' | 'writing' | 'done' | 'failed';

/**
 * One request and its response on a connection: the head first (the request
 * resolves then, reading stopped), then, once a sink is given, the body, read
 * into the connection's buffer and handed over a read at a time.
 */
export class Exchange {
  readonly headArrived: Promise<Exchange>;
  head!: ResponseHead;
  private readonly parser = new ResponseParser();
  private state: State = 'head';
  /** Body bytes that came in the head's read, waiting for the sink. */
  private held: Buffer | undefined;
  private sink: BodySink | undefined;
  private headWaiter!: { resolve: (ex: Exchange) => void; reject: (err: unknown) => void };
  private bodyWaiter: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private failure: unknown;
  private received = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => this.fail(this.signal.reason);

  constructor(
    private readonly conn: ExchangeHost,
    private readonly signal: AbortSignal,
    stallTimeoutMs: number,
    private readonly reused: boolean,
  ) {
    this.headArrived = new Promise((resolve, reject) => (this.headWaiter = { resolve, reject }));
    this.timer = setTimeout(() => this.stalled(stallTimeoutMs), stallTimeoutMs).unref();
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Bytes of one read; true to go on reading. */
  onRead(data: Buffer): boolean {
    if (this.state !== 'head' && this.state !== 'reading') return false;
    this.received += data.length;
    this.timer.refresh();
    let body: Buffer;
    try {
      body = this.parser.push(data);
    } catch (err) {
      this.fail(err);
      return false;
    }
    if (this.state === 'head') {
      if (this.parser.head === undefined) return true;
      this.head = this.parser.head;
      this.state = 'held';
      this.held = body;
      this.headWaiter.resolve(this);
      return false;
    }
    this.consume(body);
    return this.state === 'reading';
  }

  /**
   * Read the body into `sink`, a read at a time: each view is valid until the
   * sink's promise settles (reading waits for it). Resolves once the body is whole.
   */
  drainInto(sink: BodySink): Promise<void> {
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (this.state !== 'held') return Promise.reject(new Error('the body was already read'));
    return new Promise<void>((resolve, reject) => {
      this.bodyWaiter = { resolve, reject };
      this.sink = sink;
      this.state = 'reading';
      const first = this.held!;
      this.held = undefined;
      this.consume(first);
      if (this.state === 'reading') this.conn.reading(true);
    });
  }

  /** The caller wants no (more of the) body: the connection is closed. */
  abandon(err?: unknown): void {
    this.fail(err ?? new Error('response abandoned'));
  }

  /** The socket ended or failed. */
  lost(err: Error | undefined): void {
    if (this.state === 'done' || this.state === 'failed') return;
    if (this.received === 0 && this.reused) return this.fail(new StaleConnection());
    const where = this.state === 'head' ? 'before the response head' : `${this.parser.remaining} bytes before the end of the body`;
    this.fail(err ?? new TruncatedBodyError(`the server closed the connection ${where}`));
  }

  private consume(view: Buffer): void {
    if (view.length > 0) {
      let pending: void | Promise<void>;
      try {
        pending = this.sink!(view);
      } catch (err) {
        return this.fail(err);
      }
      if (pending !== undefined) {
        this.state = 'writing';
        pending.then(() => this.written(), (err: unknown) => this.fail(err));
        return;
      }
    }
    if (this.parser.done) this.finish();
  }

  private written(): void {
    if (this.state !== 'writing') return;
    this.state = 'reading';
    // Time spent writing is not the server's silence.
    this.timer.refresh();
    if (this.parser.done) this.finish();
    else this.conn.reading(true);
  }

  private stalled(ms: number): void {
    // Held or writing, we are the ones not reading.
    if (this.state === 'held' || this.state === 'writing') return void this.timer.refresh();
    // Timers run before the poll phase: after a busy loop (a long GC, a starved CPU) the server's bytes
    // may be waiting. Judge once they are read (setImmediate runs after the poll phase).
    const seen = this.received;
    setImmediate(() => {
      if (this.state === 'done' || this.state === 'failed') return;
      if (this.received !== seen || (this.state !== 'head' && this.state !== 'reading')) return void this.timer.refresh();
      this.fail(new StalledError(`no data for ${ms / 1000} s`));
    });
  }

  private finish(): void {
    this.state = 'done';
    this.cleanUp();
    this.conn.done(this, this.head.keepAlive && !this.parser.extra);
    this.bodyWaiter?.resolve();
  }

  private fail(err: unknown): void {
    if (this.state === 'done' || this.state === 'failed') return;
    const inHead = this.state === 'head';
    this.state = 'failed';
    this.failure = err;
    this.cleanUp();
    this.conn.done(this, false);
    if (inHead) this.headWaiter.reject(err);
    else this.bodyWaiter?.reject(err);
  }

  private cleanUp(): void {
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onAbort);
  }
}

/**
 * The body as GetOutput carries it: a Readable for any reader (each read
 * copied, since the buffer is reused), and `drainInto` for the engine's sink,
 * which takes the views themselves.
 */
export class SocketBody extends Readable {
  private started = false;
  private wake: (() => void) | undefined;

  constructor(private readonly exchange: Exchange) {
    super();
  }

  drainInto(sink: BodySink): Promise<void> {
    this.started = true;
    return this.exchange.drainInto(sink);
  }

  override _read(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) return wake();
    if (this.started) return;
    this.started = true;
    const sink = (view: Buffer) => (this.push(Buffer.from(view)) ? undefined : new Promise<void>((resolve) => (this.wake = resolve)));
    this.exchange.drainInto(sink).then(
      () => this.push(null),
      (err: unknown) => this.destroy(err as Error),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.exchange.abandon(err ?? undefined);
    callback(err);
  }
}
