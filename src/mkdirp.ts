import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * mkdir -p, returning the first directory it created (as fs.mkdir's `recursive`
 * does). Not `recursive: true` itself: on a filesystem that refuses new entries
 * with ENOENT although the parent exists (/proc), Node's version loops forever
 * at full CPU; here a parent that exists and a child that still cannot be made
 * is an error at once.
 */
export async function mkdirp(dir: string | Buffer, mode = 0o777): Promise<string | undefined> {
  try {
    await fs.mkdir(dir, { mode });
    return dir.toString();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await fs.stat(dir)).isDirectory()) return undefined;
      throw err;
    }
    const parent = typeof dir === 'string' ? path.dirname(dir) : Buffer.from(path.dirname(dir.toString('latin1')), 'latin1');
    if (code !== 'ENOENT' || parent.toString() === dir.toString()) throw err;
    const first = await mkdirp(parent, mode);
    await fs.mkdir(dir, { mode }).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again;
    });
    return first ?? dir.toString();
  }
}
