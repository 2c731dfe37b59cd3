import { isAbort } from '../errors.js';
import { anySignal } from './signals.js';
import { withRetry, type RetryDeps } from './retry.js';

export interface RunPartsOptions<T> {
  /** Parts in flight at once. */
  parallel: number;
  /** The transfer's signal: aborting it stops every part. */
  signal: AbortSignal;
  /** Each part is retried on its own; `work` must rebuild its request from its source every time. */
  retry: Omit<RetryDeps, 'signal'>;
  /** Called once for every part pulled, after its last attempt, whatever happened: frees a part's buffer. */
  settle?: ((part: T) => void) | undefined;
}

/**
 * The one part scheduler behind every multipart transfer (upload, ranged
 * download, standard input). Workers pull parts from `source` one at a time — a
 * list of ranges, or a stream read as it goes — so at most `parallel` are
 * pulled and in flight. The first failure stops new parts and cancels those in
 * flight (through the signal `work` gets); everything settles before it is
 * rethrown. An interrupt of the run wins over the cancellations it caused.
 */
export async function runParts<T>(
  source: Iterable<T> | AsyncIterable<T>,
  opts: RunPartsOptions<T>,
  work: (part: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const signal = anySignal(opts.signal, stop.signal);
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let failure: { err: unknown } | undefined;
  const fail = (err: unknown) => {
    failure ??= { err };
    stop.abort();
  };
  // Pulls are serialised: a stream source yields its parts in order.
  let pulling: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<IteratorResult<T>> => {
    const next = pulling.then(() => it.next());
    pulling = next.catch(() => {});
    return next;
  };
  const worker = async () => {
    while (!signal.aborted) {
      let next: IteratorResult<T>;
      try {
        next = await pull();
      } catch (err) {
        return fail(err);
      }
      if (next.done) return;
      try {
        await withRetry(() => work(next.value, signal), { ...opts.retry, signal });
      } catch (err) {
        return fail(err);
      } finally {
        opts.settle?.(next.value);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.parallel) }, worker));
  } finally {
    // A stream source may hold buffers for parts never sent: let it release them.
    await it.return?.();
  }
  if (failure) throw opts.signal.aborted && !isAbort(failure.err) ? opts.signal.reason : failure.err;
  opts.signal.throwIfAborted();
}
