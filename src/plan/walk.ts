import fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { encodeName, fsPath } from '../local-path.js';
import { isOurTempName } from '../temp-name.js';
import { compareKeys } from './key-order.js';
import pLimit from 'p-limit';

export interface LocalFile {
  /** Relative to the walked root, with '/' separators; encoded form (see local-path.ts). */
  relPath: string;
  absPath: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * What a walk finds, in key order: files; warnings (skipped with a reason, the copy goes on: fifos,
 * sockets, devices, broken links, loops); errors (an unreadable directory: a failure, the rest goes on).
 */
export type WalkEvent =
  | { kind: 'file'; file: LocalFile }
  | { kind: 'warning'; message: string }
  | { kind: 'error'; path: string; message: string };

export interface WalkOptions {
  /** Directories never entered, as `dev:ino`: s3xfer's own checkpoint directory. */
  skipDirs?: ReadonlySet<string> | undefined;
  /** Symbolic links are left alone (neither entered nor yielded): a walk of what sync may delete. */
  noLinks?: boolean | undefined;
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';
export const fileId = (st: { dev: number; ino: number }) => `${st.dev}:${st.ino}`;

/** Entries stat'ed at once: the thread pool overlaps them, and only this many Stats are held. */
const STAT_WINDOW = 64;

interface Entry {
  name: string;
  /** The name as it sorts among its siblings: a directory as `name/`, since its keys all start so. */
  sortKey: string;
  st?: Stats | undefined;
  statError?: unknown;
}

/**
 * Every regular file under `root`, following symlinks, in the UTF-8 byte order of the
 * keys they become (S3's listing order), so a walk and a listing merge in step. Only one
 * directory's names are held at a time per level, never the whole tree. Hand-written
 * rather than fast-glob: a walk must report an unreadable directory and carry on,
 * detect a symlink that loops back to an ancestor, and read names as bytes (a name
 * that is not UTF-8 is a real file). Never yields s3xfer's own temp files or checkpoints.
 */
export async function* walkSorted(root: string, opts: WalkOptions = {}): AsyncGenerator<WalkEvent> {
  const rootStat = await fs.stat(fsPath(root));
  yield* walkDir(root, '', [fileId(rootStat)], opts);
}

async function* walkDir(dir: string, rel: string, ancestors: string[], opts: WalkOptions): AsyncGenerator<WalkEvent> {
  const skipDirs = opts.skipDirs ?? new Set();
  let entries: Entry[];
  try {
    entries = await sortedEntries(dir, opts.noLinks ?? false);
  } catch (err) {
    yield { kind: 'error', path: dir, message: `${dir}: cannot read directory (${code(err)}); its files were not copied` };
    return;
  }
  for (let from = 0; from < entries.length; from += STAT_WINDOW) {
    const window = entries.slice(from, from + STAT_WINDOW);
    await Promise.all(window.map((e) => (e.st || e.statError ? undefined : statEntry(path.join(dir, e.name), e))));
    for (const entry of window) {
      const absPath = path.join(dir, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const st = entry.st;
      if (!st) {
        const c = code(entry.statError);
        const why = c === 'ENOENT' ? 'broken symbolic link' : c === 'ELOOP' ? 'symbolic link loop' : `cannot stat (${c})`;
        yield { kind: 'warning', message: `skipped ${absPath}: ${why}` };
      } else if (st.isDirectory()) {
        const id = fileId(st);
        if (skipDirs.has(id)) continue;
        if (ancestors.includes(id)) {
          yield { kind: 'warning', message: `skipped ${absPath}: symbolic link loop (points back to a directory above it)` };
          continue;
        }
        yield* walkDir(absPath, relPath, [...ancestors, id], opts);
      } else if (st.isFile()) {
        // A download in progress (ours or an interrupted one's) is not data to back up.
        if (isOurTempName(entry.name)) continue;
        yield { kind: 'file', file: { relPath, absPath, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino } };
      } else {
        // Reading a fifo would block forever; sockets and devices are not data.
        yield { kind: 'warning', message: `skipped ${absPath}: not a regular file (fifo, socket or device)` };
      }
    }
    // Stats already used are dropped: memory stays at one window per level.
    for (const e of window) e.st = undefined;
  }
}

/** A directory's names in key order. A symlink (or an unknown type) is stat'ed first: it sorts as what it points to. */
async function sortedEntries(dir: string, noLinks: boolean): Promise<Entry[]> {
  const dirents = await fs.readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' });
  const entries: Entry[] = [];
  const pending: Promise<void>[] = [];
  const limit = pLimit(STAT_WINDOW);
  for (const d of dirents) {
    if (noLinks && d.isSymbolicLink()) continue;
    const name = encodeName(d.name);
    const entry: Entry = { name, sortKey: d.isDirectory() ? `${name}/` : name };
    if (d.isSymbolicLink() || !(d.isDirectory() || d.isFile() || d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice())) {
      pending.push(
        limit(() => statEntry(path.join(dir, name), entry)).then(() => {
          if (entry.st?.isDirectory()) entry.sortKey = `${name}/`;
        }),
      );
    }
    entries.push(entry);
  }
  await Promise.all(pending);
  return entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
}

async function statEntry(absPath: string, entry: Entry): Promise<void> {
  try {
    // stat follows symlinks: a link to a file is copied as that file; lstat for the rest would
    // see the same thing, and a fifo is never opened by a stat.
    entry.st = await fs.stat(fsPath(absPath));
  } catch (err) {
    entry.statError = err;
  }
}
