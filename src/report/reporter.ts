import cliProgress from 'cli-progress';
import { formatSize } from '../size.js';
import type { TransferEvent } from './events.js';
import { formatDuration, formatEvent, treeEta } from './format.js';

export interface Reporter {
  emit(event: TransferEvent): void;
  /** A line outside the event stream (interrupt notice, fatal error). */
  message(line: string, stream?: 'stdout' | 'stderr'): void;
  close(): void;
}

export interface ReporterOptions {
  json: boolean;
  progress: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const toStderr = (e: TransferEvent) => e.type === 'error' || e.type === 'warning' || e.type === 'tree' || (e.type === 'deletions' && e.skipped !== undefined);

/** Plain output gives a tree's progress this often at most: a log line, not a ticker. */
const PLAIN_TREE_EVERY_MS = 10_000;

/** NDJSON on stdout: one object per event (progress and retries omitted: too chatty for logs). */
export class JsonReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream) {}
  emit(e: TransferEvent): void {
    if (e.type === 'progress') return;
    this.out.write(`${JSON.stringify({ ...e, time: new Date().toISOString() })}\n`);
  }
  message(line: string): void {
    this.out.write(`${JSON.stringify({ type: 'message', message: line, time: new Date().toISOString() })}\n`);
  }
  close(): void {}
}

/** Plain lines: for logs, cron and pipes. */
export class TextReporter implements Reporter {
  private lastTree = 0;
  constructor(protected readonly opts: Pick<ReporterOptions, 'stdout' | 'stderr'>) {}
  emit(e: TransferEvent): void {
    if (e.type === 'tree') {
      if (e.ms - this.lastTree < PLAIN_TREE_EVERY_MS) return;
      this.lastTree = e.ms;
    }
    const line = formatEvent(e);
    if (line !== undefined) this.message(line, toStderr(e) ? 'stderr' : 'stdout');
  }
  message(line: string, stream: 'stdout' | 'stderr' = 'stderr'): void {
    (stream === 'stdout' ? this.opts.stdout : this.opts.stderr).write(`${line}\n`);
  }
  close(): void {}
}

/** On a terminal: a bar per large file in flight and a total, lines printed above them. */
export class TtyReporter extends TextReporter {
  private readonly bars: cliProgress.MultiBar;
  private readonly total: cliProgress.SingleBar;
  private readonly perFile = new Map<number, cliProgress.SingleBar>();
  private readonly fileBytes = new Map<number, number>();
  private readonly fileStart = new Map<number, number>();
  private totalBytes = 0;
  private doneBytes = 0;
  private readonly t0 = Date.now();

  constructor(opts: Pick<ReporterOptions, 'stdout' | 'stderr'>) {
    super(opts);
    this.bars = new cliProgress.MultiBar(
      {
        stream: opts.stderr as NodeJS.WriteStream,
        // Our own ETA: a tree's total is not known until its walk or listing ends.
        format: ' {bar} {percentage}% | {done}/{size} | {rate} | {eta} | {name}',
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 10,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.total = this.bars.create(1, 0, { name: 'total', done: '0 B', size: '0 B', rate: '', eta: '' });
  }

  override emit(e: TransferEvent): void {
    switch (e.type) {
      case 'start':
        this.totalBytes += e.size;
        if (e.multipart) {
          this.fileStart.set(e.id, Date.now());
          this.perFile.set(e.id, this.bars.create(Math.max(e.size, 1), 0, { name: e.source, done: '0 B', size: formatSize(e.size), rate: '', eta: '' }));
        }
        break;
      case 'progress': {
        this.doneBytes += e.bytes;
        const bar = this.perFile.get(e.id);
        if (bar) {
          const done = (this.fileBytes.get(e.id) ?? 0) + e.bytes;
          this.fileBytes.set(e.id, done);
          const secs = (Date.now() - (this.fileStart.get(e.id) ?? Date.now())) / 1000;
          const size = bar.getTotal();
          const eta = secs > 0 && done > 0 ? `ETA ${formatDuration(((size - done) * secs * 1000) / done)}` : '';
          bar.update(done, { done: formatSize(done), rate: secs > 0 ? `${formatSize(Math.round(done / secs))}/s` : '', eta });
        }
        break;
      }
      case 'done':
      case 'error':
        if (e.type === 'error' && e.id === undefined) break;
        this.finishBar(e.id!);
        break;
      case 'tree':
        this.tree = e;
        break;
    }
    this.updateTotal();
    if (e.type === 'summary') this.close();
    // The bar shows a tree's progress; as a line it would only scroll.
    if (e.type !== 'tree') super.emit(e);
  }

  private tree: Extract<TransferEvent, { type: 'tree' }> | undefined;

  /** The total: bytes of the files started, or for a tree, files and bytes found so far (`+` while still finding). */
  private updateTotal(): void {
    const secs = (Date.now() - this.t0) / 1000;
    const tree = this.tree;
    const total = Math.max(this.totalBytes, tree?.bytesFound ?? 0);
    this.total.setTotal(Math.max(total, 1));
    const more = tree && !tree.complete ? '+' : '';
    const eta = tree ? treeEta({ ...tree, bytesDone: this.doneBytes, ms: Date.now() - this.t0 }) : undefined;
    this.total.update(this.doneBytes, {
      done: formatSize(this.doneBytes),
      size: `${formatSize(total)}${more}`,
      rate: secs > 0 ? `${formatSize(Math.round(this.doneBytes / secs))}/s` : '',
      eta: eta === undefined ? '' : `ETA ${formatDuration(eta)}`,
      name: tree ? `total: ${tree.filesDone.toLocaleString('en-US')}/${tree.filesFound.toLocaleString('en-US')}${more} files` : 'total',
    });
  }

  private finishBar(id: number): void {
    const bar = this.perFile.get(id);
    if (!bar) return;
    this.bars.remove(bar);
    this.perFile.delete(id);
    this.fileBytes.delete(id);
    this.fileStart.delete(id);
  }

  override message(line: string, stream: 'stdout' | 'stderr' = 'stderr'): void {
    // While bars are drawn, every line goes above them so nothing is garbled.
    // \x1b[K: a shorter line must not leave the end of the bar it overwrites (cli-progress clears one line only).
    if (this.open) this.bars.log(`${line.split('\n').join('\x1b[K\n')}\x1b[K\n`);
    else super.message(line, stream);
  }

  private open = true;
  override close(): void {
    if (!this.open) return;
    this.open = false;
    // Lines logged since the last redraw are written by update(); stop() alone would drop them.
    this.bars.update();
    this.bars.stop();
  }
}

export function createReporter(opts: ReporterOptions): Reporter {
  if (opts.json) return new JsonReporter(opts.stdout);
  if (opts.progress) return new TtyReporter(opts);
  return new TextReporter(opts);
}
