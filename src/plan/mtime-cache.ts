import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { compareKeys } from './key-order.js';
import { pidAlive } from '../engine/destination.js';

/**
 * What a HEAD would tell about an object version: the `mtime` its uploader recorded, which a
 * listing does not carry. Keyed by ETag and LastModified together (a copy that replaces the
 * metadata keeps the ETag but not the LastModified), so an entry can only ever be used for
 * the very version it was read from: a stale or foreign cache costs a HEAD, never a wrong skip.
 */
export interface CachedMtime {
  key: string;
  etag: string;
  lastModifiedMs: number;
  mtimeMs: number;
}

/** Entries waiting for an earlier download to finish before they can be written in order; beyond, the oldest is dropped. */
const MAX_WAITING = 10_000;

/** `$XDG_CACHE_HOME/s3xfer/mtimes/<hash>.ndjson`: one file per (endpoint, bucket, prefix, destination directory). */
export function mtimeCachePath(env: NodeJS.ProcessEnv, home: string, parts: { endpoint: string; bucket: string; prefix: string; root: string }): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || home, '.cache');
  const id = createHash('sha256').update([parts.endpoint, parts.bucket, parts.prefix, parts.root].join('\0')).digest('hex').slice(0, 32);
  return path.join(base, 's3xfer', 'mtimes', `${id}.ndjson`);
}

/**
 * A small sorted file (one JSON line per object, key order) that lets `-u` downloads of a tree
 * decide from the listing alone, and is rewritten as the run goes: read and written as two
 * streams in step with the listing, so it never sits in memory whole. Any I/O failure only
 * turns the cache off.
 */
export class MtimeCache {
  private readonly lines: AsyncIterator<string> | undefined;
  private current: CachedMtime | undefined;
  private readonly out: WriteStream | undefined;
  private readonly waiting: { entry: CachedMtime | null | undefined }[] = [];
  private lastWritten: string | undefined;
  private failed = false;
  /** Lines not yet handed to the stream: one write per 64 KiB, not one per object (each is a thread-pool job). */
  private pending = '';

  private constructor(
    private readonly file: string,
    private readonly temp: string,
    lines: AsyncIterator<string> | undefined,
    out: WriteStream | undefined,
  ) {
    this.lines = lines;
    this.out = out;
    out?.on('error', () => (this.failed = true));
  }

  /** Open `file` to read (if it exists and `read`), and a temp file beside it to `write` (not in a dry run). */
  static async open(file: string, { read, write }: { read: boolean; write: boolean }): Promise<MtimeCache> {
    const exists = read && (await fs.stat(file).then(() => true, () => false));
    // The iterator is taken at once: lines read before anyone listens would be lost, and after
    // the stream's end an iterator would wait forever.
    const lines = exists ? createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })[Symbol.asyncIterator]() : undefined;
    const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    let out: WriteStream | undefined;
    if (write) {
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 }).catch(() => undefined);
      await removeStaleTemps(file);
      out = await new Promise<WriteStream | undefined>((resolve) => {
        const ws = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
        ws.once('open', () => resolve(ws)).once('error', () => resolve(undefined));
      });
    }
    return new MtimeCache(file, temp, lines, out);
  }

  /** The entry for `key` if it holds one for this version. Keys must be asked in increasing order. */
  async find(key: string, version: { etag: string; lastModifiedMs: number }): Promise<CachedMtime | undefined> {
    while (this.lines && (this.current === undefined || compareKeys(this.current.key, key) < 0)) {
      const next = await this.readEntry();
      if (next === undefined) break;
      this.current = next;
    }
    const e = this.current;
    return e && e.key === key && e.etag === version.etag && e.lastModifiedMs === version.lastModifiedMs ? e : undefined;
  }

  private async readEntry(): Promise<CachedMtime | undefined> {
    for (;;) {
      const r = await this.lines!.next().catch(() => ({ done: true as const, value: undefined }));
      if (r.done) return undefined;
      try {
        const [key, etag, lastModifiedMs, mtimeMs] = JSON.parse(r.value) as unknown[];
        if (typeof key === 'string' && typeof etag === 'string' && Number.isFinite(lastModifiedMs) && Number.isFinite(mtimeMs)) {
          return { key, etag, lastModifiedMs: lastModifiedMs as number, mtimeMs: mtimeMs as number };
        }
      } catch {
        // A damaged line is skipped: it only costs a HEAD.
      }
    }
  }

  /** Reserve the next place in key order; call the result with the entry once known (undefined: none). */
  reserve(): (entry: CachedMtime | undefined) => void {
    const slot: { entry: CachedMtime | null | undefined } = { entry: undefined };
    this.waiting.push(slot);
    // A long download must not hold back an unbounded queue of later entries: its own is dropped.
    if (this.waiting.length > MAX_WAITING && this.waiting[0]!.entry === undefined) this.waiting[0]!.entry = null;
    this.flush();
    return (entry) => {
      if (slot.entry !== undefined) return;
      slot.entry = entry ?? null;
      this.flush();
    };
  }

  private flush(): void {
    while (this.waiting.length > 0 && this.waiting[0]!.entry !== undefined) {
      const { entry } = this.waiting.shift()!;
      if (entry) this.write(entry);
    }
  }

  private write(e: CachedMtime): void {
    if (!this.out || this.failed) return;
    if (this.lastWritten !== undefined && compareKeys(this.lastWritten, e.key) >= 0) return;
    this.lastWritten = e.key;
    this.pending += `${JSON.stringify([e.key, e.etag, e.lastModifiedMs, e.mtimeMs])}\n`;
    if (this.pending.length >= 65_536) this.drain();
  }

  private drain(): void {
    if (this.pending && this.out && !this.failed) this.out.write(this.pending);
    this.pending = '';
  }

  /**
   * Replace the old cache with the new one. When the run stopped early (`complete` false), the
   * old entries beyond the last key reached are carried over: the listing never got there.
   */
  async close(complete: boolean): Promise<void> {
    for (const slot of this.waiting) slot.entry ??= null;
    this.flush();
    if (!complete && this.lines) {
      if (this.current && (this.lastWritten === undefined || compareKeys(this.lastWritten, this.current.key) < 0)) this.write(this.current);
      for (let e = await this.readEntry(); e; e = await this.readEntry()) this.write(e);
    }
    await this.lines?.return?.();
    this.drain();
    if (!this.out) return;
    await new Promise<void>((resolve) => this.out!.end(resolve));
    if (this.failed) await fs.rm(this.temp, { force: true });
    else await fs.rename(this.temp, this.file).catch(() => fs.rm(this.temp, { force: true }));
  }
}

/** Temp files of runs that were killed before they could rename theirs (their pid no longer runs). */
async function removeStaleTemps(file: string): Promise<void> {
  const base = path.basename(file);
  const names = await fs.readdir(path.dirname(file)).catch(() => [] as string[]);
  for (const name of names) {
    const m = name.startsWith(`${base}.`) ? /\.(\d+)-[0-9a-f]{8}\.tmp$/.exec(name) : null;
    if (m && !pidAlive(Number(m[1]))) await fs.rm(path.join(path.dirname(file), name), { force: true }).catch(() => undefined);
  }
}
