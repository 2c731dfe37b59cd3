import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JsonReporter, TextReporter, TtyReporter } from '../../src/report/reporter.js';
import type { TransferEvent } from '../../src/report/events.js';

function sink(tty = false) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  if (tty) Object.assign(stream, { isTTY: true, columns: 120, cursorTo: () => true, moveCursor: () => true, clearLine: () => true, clearScreenDown: () => true });
  return { stream, text: () => chunks.join('') };
}

const run: TransferEvent[] = [
  { type: 'start', id: 1, source: '/d/big.bin', destination: 's3://b/big.bin', size: 10, multipart: true },
  { type: 'progress', id: 1, bytes: 10 },
  { type: 'skip', source: '/d/old.txt', destination: 's3://b/old.txt', reason: 'destination is up to date' },
  { type: 'done', id: 1, source: '/d/big.bin', destination: 's3://b/big.bin', size: 10, bytesSent: 10, ms: 5 },
  { type: 'warning', message: 'skipped /d/pipe: not a regular file' },
  { type: 'summary', copied: 1, skipped: 1, failed: 0, bytes: 10, ms: 5, interrupted: false },
];

describe('reporters', () => {
  it('text: one line per file on stdout, warnings on stderr, a summary', () => {
    const out = sink();
    const err = sink();
    const r = new TextReporter({ stdout: out.stream, stderr: err.stream });
    for (const e of run) r.emit(e);
    expect(out.text()).toBe(
      'skipped /d/old.txt: destination is up to date\ncopied /d/big.bin -> s3://b/big.bin (10 B)\n1 copied (10 B in 0.0 s, 1.95 KiB/s), 1 skipped, 0 failed\n',
    );
    expect(err.text()).toBe('warning: skipped /d/pipe: not a regular file\n');
  });

  it('TTY: every line logged while bars are drawn reaches the terminal', () => {
    const term = sink(true);
    const r = new TtyReporter({ stdout: term.stream, stderr: term.stream });
    for (const e of run) r.emit(e);
    r.close();
    const text = term.text();
    for (const line of ['skipped /d/old.txt', 'copied /d/big.bin -> s3://b/big.bin', 'warning: skipped /d/pipe', '1 copied (10 B']) {
      expect(text).toContain(line);
    }
  });

  it('JSON: one object per event, progress left out', () => {
    const out = sink();
    const r = new JsonReporter(out.stream);
    for (const e of run) r.emit(e);
    const types = out.text().trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toEqual(['start', 'skip', 'done', 'warning', 'summary']);
  });
});
