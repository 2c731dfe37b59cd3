import fg from 'fast-glob';
import type { Stats } from 'node:fs';
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
  warnings: string[];
}

/**
 * Every regular file under `root` (symlinks to files followed). Special files
 * (fifos, sockets, devices) are skipped with a warning: reading a fifo would hang.
 */
export async function walkLocal(root: string): Promise<WalkResult> {
  const entries = await fg('**', {
    cwd: root,
    dot: true,
    onlyFiles: false,
    stats: true,
    followSymbolicLinks: true,
    suppressErrors: true,
  });
  const files: LocalFile[] = [];
  const warnings: string[] = [];
  for (const e of entries) {
    const st = e.stats as Stats | undefined;
    if (!st || st.isDirectory()) continue;
    const absPath = path.join(root, ...e.path.split('/'));
    if (!st.isFile()) {
      warnings.push(`skipped ${absPath}: not a regular file`);
      continue;
    }
    files.push({ relPath: e.path, absPath, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
  }
  files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  return { files, warnings };
}
