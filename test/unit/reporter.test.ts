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

describe('tree progress', () => {
  const found = (complete: boolean, ms: number): TransferEvent => ({ type: 'tree', filesDone: 1200, filesFound: 5000, bytesDone: 10 * 1024 * 1024, bytesFound: 40 * 1024 * 1024, complete, ms });
  it('plain: found so far marked +, no ETA until the walk or listing has ended; at most one line per 10 s', () => {
    const out = sink();
    const err = sink();
    const r = new TextReporter({ stdout: out.stream, stderr: err.stream });
    for (const e of [found(false, 10_000), found(false, 12_000), found(true, 20_000)]) r.emit(e);
    expect(err.text()).toBe(
      'progress: 1,200/5,000+ files, 10.0 MiB/40.0 MiB+, 1.00 MiB/s\nprogress: 1,200/5,000 files, 10.0 MiB/40.0 MiB, 512 KiB/s, ETA 1 min 0 s\n',
    );
    expect(out.text()).toBe('');
  });
  it('JSON: every tree event is a line', () => {
    const out = sink();
    const r = new JsonReporter(out.stream);
    r.emit(found(false, 1000));
    expect(JSON.parse(out.text())).toMatchObject({ type: 'tree', filesDone: 1200, filesFound: 5000, complete: false });
  });
  it('TTY: the total shows files found so far and no ETA before the end', () => {
    const term = sink(true);
    const r = new TtyReporter({ stdout: term.stream, stderr: term.stream });
    r.emit(found(false, 1000));
    r.close();
    expect(term.text()).toContain('1,200/5,000+ files');
    expect(term.text()).not.toContain('ETA');
  });
});
