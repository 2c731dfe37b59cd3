import { isRetryable } from './s3-errors.js';

export { isRetryable };
import type { Emit } from '../report/events.js';

export interface RetryPolicy {
  /** Total attempts, first one included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Exponential backoff with full jitter (AWS architecture blog's recommendation). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}

export interface RetryDeps {
  policy: RetryPolicy;
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export async function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  const { setTimeout } = await import('node:timers/promises');
  await setTimeout(ms, undefined, { signal });
}

/** Run `fn` until it succeeds, fails for good, or the signal aborts. `fn` must rebuild its request body each time. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, deps: RetryDeps): Promise<T> {
  const sleep = deps.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    deps.signal.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (deps.signal.aborted || attempt >= deps.policy.attempts || !isRetryable(err)) throw err;
      const delay = backoffMs(attempt, deps.policy);
      deps.onRetry?.(err, attempt, delay);
      await sleep(delay, deps.signal);
    }
  }
}

/** Each retry becomes a `retry` event naming the source. */
export function retryReporter(ctx: { emit: Emit }, source: string) {
  return (err: unknown, attempt: number, delayMs: number) =>
    ctx.emit({ type: 'retry', source, attempt, delayMs, message: err instanceof Error ? err.message : String(err) });
}
