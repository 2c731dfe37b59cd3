import fs from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import path from 'node:path';
import { encodeName, fsPath } from '../local-path.js';
import { isOurTempName } from '../temp-name.js';

export interface LocalFile {
  /** Relative to the walked root, with '/' separators; encoded form (see local-path.ts). */
  relPath: string;
  absPath: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface WalkResult {
  files: LocalFile[];
  /** Skipped with a reason; the copy goes on (fifos, sockets, devices, broken links, loops). */
  warnings: string[];
  /** Could not be read (an unreadable directory): reported as failures, the rest goes on. */
  errors: { path: string; message: string }[];
}

export interface WalkOptions {
  /** Directories never entered, as `dev:ino`: s3xfer's own checkpoint directory. */
  skipDirs?: ReadonlySet<string> | undefined;
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';
export const fileId = (st: { dev: number; ino: number }) => `${st.dev}:${st.ino}`;

/**
 * Every regular file under `root`, following symlinks. Hand-written rather than
 * fast-glob: a walk must report an unreadable directory and carry on, detect a
 * symlink that loops back to an ancestor (fast-glob follows such a loop until the
 * kernel's ELOOP), and read names as bytes (a name that is not UTF-8 is a real
 * file, not a broken link). Never yields s3xfer's own temp files or checkpoints.
 */
export async function walkLocal(root: string, opts: WalkOptions = {}): Promise<WalkResult> {
  const result: WalkResult = { files: [], warnings: [], errors: [] };
  const rootStat = await fs.stat(fsPath(root));
  await walkDir(root, '', [fileId(rootStat)], result, opts.skipDirs ?? new Set());
  // Byte order of the keys (UTF-8), as S3 lists them.
  result.files.sort((a, b) => Buffer.compare(Buffer.from(a.relPath), Buffer.from(b.relPath)));
  return result;
}

async function walkDir(dir: string, rel: string, ancestors: string[], out: WalkResult, skipDirs: ReadonlySet<string>): Promise<void> {
  let entries: Dirent<Buffer>[];
  try {
    entries = await fs.readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    out.errors.push({ path: dir, message: `${dir}: cannot read directory (${code(err)}); its files were not copied` });
    return;
  }
  for (const entry of entries) {
    const name = encodeName(entry.name);
    const absPath = path.join(dir, name);
    const relPath = rel ? `${rel}/${name}` : name;
    let st: Stats;
    try {
      // stat follows symlinks: a link to a file is copied as that file.
      st = entry.isSymbolicLink() || entry.isDirectory() || entry.isFile() ? await fs.stat(fsPath(absPath)) : await fs.lstat(fsPath(absPath));
    } catch (err) {
      const why = code(err) === 'ENOENT' ? 'broken symbolic link' : code(err) === 'ELOOP' ? 'symbolic link loop' : `cannot stat (${code(err)})`;
      out.warnings.push(`skipped ${absPath}: ${why}`);
      continue;
    }
    if (st.isDirectory()) {
      const id = fileId(st);
      if (skipDirs.has(id)) continue;
      if (ancestors.includes(id)) {
        out.warnings.push(`skipped ${absPath}: symbolic link loop (points back to a directory above it)`);
        continue;
      }
      await walkDir(absPath, relPath, [...ancestors, id], out, skipDirs);
    } else if (st.isFile()) {
      // A download in progress (ours or an interrupted one's) is not data to back up.
      if (isOurTempName(name)) continue;
      out.files.push({ relPath, absPath, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
    } else {
      // Reading a fifo would block forever; sockets and devices are not data.
      out.warnings.push(`skipped ${absPath}: not a regular file (fifo, socket or device)`);
    }
  }
}
