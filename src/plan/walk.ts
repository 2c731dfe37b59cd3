import fs from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import path from 'node:path';

export interface LocalFile {
  /** Relative to the walked root, with '/' separators. */
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

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';

/**
 * Every regular file under `root`, following symlinks. Hand-written rather than
 * fast-glob: a walk must report an unreadable directory and carry on, and must
 * detect a symlink that loops back to an ancestor (fast-glob follows such a loop
 * until the kernel's ELOOP, copying the tree dozens of times).
 */
export async function walkLocal(root: string): Promise<WalkResult> {
  const result: WalkResult = { files: [], warnings: [], errors: [] };
  const rootStat = await fs.stat(root);
  await walkDir(root, '', [`${rootStat.dev}:${rootStat.ino}`], result);
  result.files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  return result;
}

async function walkDir(dir: string, rel: string, ancestors: string[], out: WalkResult): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    out.errors.push({ path: dir, message: `${dir}: cannot read directory (${code(err)}); its files were not copied` });
    return;
  }
  for (const entry of entries) {
    const absPath = path.join(dir, entry.name);
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    let st: Stats;
    try {
      // stat follows symlinks: a link to a file is copied as that file.
      st = entry.isSymbolicLink() || entry.isDirectory() || entry.isFile() ? await fs.stat(absPath) : await fs.lstat(absPath);
    } catch (err) {
      const why = code(err) === 'ENOENT' ? 'broken symbolic link' : code(err) === 'ELOOP' ? 'symbolic link loop' : `cannot stat (${code(err)})`;
      out.warnings.push(`skipped ${absPath}: ${why}`);
      continue;
    }
    if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (ancestors.includes(id)) {
        out.warnings.push(`skipped ${absPath}: symbolic link loop (points back to a directory above it)`);
        continue;
      }
      await walkDir(absPath, relPath, [...ancestors, id], out);
    } else if (st.isFile()) {
      out.files.push({ relPath, absPath, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
    } else {
      // Reading a fifo would block forever; sockets and devices are not data.
      out.warnings.push(`skipped ${absPath}: not a regular file (fifo, socket or device)`);
    }
  }
}
