import { describe, expect, it } from 'vitest';
import { ShareCounter } from '../../src/report/share.js';
import { formatEvent } from '../../src/report/format.js';

describe('ShareCounter: a worker share from the run events', () => {
  it('counts files to copy with their bytes, skipped files and refused ones; progress and retries are not files', () => {
    const c = new ShareCounter({ index: 1, count: 4 });
    c.observe({ type: 'would-copy', source: 'a', destination: 's3://b/a', size: 10, reason: 'copy' });
    c.observe({ type: 'start', id: 1, source: 'b', destination: 's3://b/b', size: 1024, multipart: false });
    c.observe({ type: 'progress', id: 1, bytes: 1024 });
    c.observe({ type: 'done', id: 1, source: 'b', destination: 's3://b/b', size: 1024, bytesSent: 1024, ms: 1 });
    c.observe({ type: 'error', id: 2, source: 'c', destination: 's3://b/c', message: 'failed after it started' });
    c.observe({ type: 'error', source: 'd', destination: 's3://b/d', message: 'refused: unsafe name' });
    c.observe({ type: 'skip', source: 'e', destination: 's3://b/e', reason: 'up to date' });
    c.observe({ type: 'retry', source: 'b', attempt: 1, delayMs: 1, message: 'x' });
    const e = c.event();
    expect(e).toEqual({ type: 'shard', index: 1, count: 4, files: 4, toCopy: 2, bytes: 1034, skipped: 1 });
    expect(formatEvent(e)).toBe('shard 1/4: 4 files in this share, 2 to copy (1.01 KiB), 1 skipped');
  });
});
