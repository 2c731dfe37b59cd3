import type { BodySink } from './body-sink.js';
import { bodySize, type RequestBody } from './file-body.js';
import { abortableSleep } from './retry.js';

/**
 * --bwlimit: one budget of bytes per second for the whole run, shared by every
 * byte path (upload bodies, GET bodies, whatever comes next): each asks
 * `take(n)` before it moves n bytes. Reservations, in order (GCRA, a virtual
 * clock): a caller reserves the next n/rate seconds of the link and waits for
 * its slot, so callers are served first come, first served and none starves.
 * A link idle for a while may send `burst` bytes at once, no more, so a
 * measured rate stays at the cap.
 *
 * Own code, not a library: `limiter`'s TokenBucket refuses a take larger than
 * the bucket (our reads are 1 MiB) and takes no AbortSignal; stream throttles
 * (`throttle`, `stream-throttle`) cap one stream, not a run.
 */
export class Bandwidth {
  /** When the link is free again (ms on `now`'s clock). */
  private next = 0;

  constructor(
    /** Bytes per second; 0 for no limit. */
    readonly rate: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void> = abortableSleep,
    /** What an idle link may send at once: 50 ms worth. */
    private readonly burstMs = 50,
  ) {}

  get limited(): boolean {
    return this.rate > 0;
  }

  /** Wait until `bytes` more may go; resolves at once without a limit. */
  async take(bytes: number, signal: AbortSignal): Promise<void> {
    if (!this.limited || bytes <= 0) return;
    const now = this.now();
    // A slot of bytes/rate seconds, after those reserved before; an idle link lends up to burstMs.
    const start = Math.max(this.next, now - this.burstMs);
    this.next = start + (bytes * 1000) / this.rate;
    if (start > now) await this.sleep(start - now, signal);
  }
}

/** A request body sent in slices, each one only once the budget allows it. */
const SLICE = 128 * 1024;

/** The same body, paced: a piece is handed over only once the budget allows it (no copy, no extra memory). */
export function throttleBody(bandwidth: Bandwidth, body: RequestBody, signal: AbortSignal): RequestBody {
  if (!bandwidth.limited) return body;
  return {
    size: bodySize(body),
    async *pieces() {
      for await (const piece of Buffer.isBuffer(body) ? [body] : body.pieces()) {
        for (let at = 0; at < piece.length; at += SLICE) {
          const slice = piece.subarray(at, at + SLICE);
          await bandwidth.take(slice.length, signal);
          yield slice;
        }
      }
    },
  };
}

/** A GET body's sink, paced: the reader stops while it waits (the stall check knows we are the ones not reading). */
export function throttleSink(bandwidth: Bandwidth, sink: BodySink, signal: AbortSignal): BodySink {
  if (!bandwidth.limited) return sink;
  return async (view) => {
    await bandwidth.take(view.length, signal);
    await sink(view);
  };
}
