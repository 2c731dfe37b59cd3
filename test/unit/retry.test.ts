import { describe, expect, it, vi } from 'vitest';
import { backoffMs, isRetryable, withRetry } from '../../src/engine/retry.js';

const s3err = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const sysErr = (code: string) => Object.assign(new Error(code), { code });

describe('isRetryable', () => {
  it.each([
    ['connection reset', sysErr('ECONNRESET'), true],
    ['timeout', sysErr('ETIMEDOUT'), true],
    ['500', s3err('InternalError', 500), true],
    ['502', s3err('BadGateway', 502), true],
    ['503 SlowDown', s3err('SlowDown', 503), true],
    ['429', s3err('TooManyRequests', 429), true],
    ['400 RequestTimeout', s3err('RequestTimeout', 400), true],
    ['403 AccessDenied', s3err('AccessDenied', 403), false],
    ['403 bad keys', s3err('InvalidAccessKeyId', 403), false],
    ['404', s3err('NoSuchKey', 404), false],
    ['412', s3err('PreconditionFailed', 412), false],
    ['abort', Object.assign(new Error('aborted'), { name: 'AbortError' }), false],
    ['not an Error', 'boom', false],
  ])('%s → %s', (_n, err, want) => expect(isRetryable(err)).toBe(want));
});

describe('backoffMs', () => {
  const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  it('grows exponentially up to the cap', () => {
    expect(backoffMs(1, policy, () => 0.999)).toBe(99);
    expect(backoffMs(3, policy, () => 0.999)).toBe(399);
    expect(backoffMs(10, policy, () => 0.999)).toBe(999);
  });
});

describe('withRetry', () => {
  const policy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
  const sleep = vi.fn(async () => {});
  it('retries retryable errors and returns the success', async () => {
    let n = 0;
    const out = await withRetry(async () => (++n < 3 ? Promise.reject(sysErr('ECONNRESET')) : 'ok'), {
      policy,
      signal: new AbortController().signal,
      sleep,
    });
    expect(out).toBe('ok');
    expect(n).toBe(3);
  });
  it('gives up after the last attempt', async () => {
    let n = 0;
    await expect(
      withRetry(async () => Promise.reject(Object.assign(sysErr('ECONNRESET'), { n: ++n })), { policy, signal: new AbortController().signal, sleep }),
    ).rejects.toThrow('ECONNRESET');
    expect(n).toBe(3);
  });
  it('never retries what is not retryable', async () => {
    let n = 0;
    await expect(
      withRetry(async () => {
        n++;
        throw s3err('AccessDenied', 403);
      }, { policy, signal: new AbortController().signal, sleep }),
    ).rejects.toThrow('AccessDenied');
    expect(n).toBe(1);
  });
  it('never retries after an abort', async () => {
    const ac = new AbortController();
    let n = 0;
    await expect(
      withRetry(async () => {
        n++;
        ac.abort();
        throw sysErr('ECONNRESET');
      }, { policy, signal: ac.signal, sleep }),
    ).rejects.toThrow();
    expect(n).toBe(1);
  });
});
