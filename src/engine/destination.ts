import fs from 'node:fs/promises';
import path from 'node:path';
import { UnsafeDestinationError } from '../errors.js';
import { encodeName, fsPath } from '../local-path.js';
import { tempOwnerPid, tempStem } from '../temp-name.js';
import { mkdirp } from '../mkdirp.js';


/** `dir` is strictly inside `root`. */
const isBelow = (root: string, dir: string) => dir !== root && dir.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** A process with this id runs (ours or another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Where downloads land. The destination root is the directory the user named
 * (a symlink there is their choice); below it, every directory is created or
 * checked one component at a time without following links, and checked again
 * (realpath) just before each file is created: a link planted inside the
 * destination never makes s3xfer write outside it.
 */
export class Destination {
  private readonly dirs = new Map<string, Promise<void>>();
  private readonly realRoots = new Map<string, Promise<string>>();
  private readonly tempListings = new Map<string, Promise<string[]>>();

  /** mkdir -p of `dir` (at or under `root`), each directory once per run. */
  ensureDir(root: string, dir: string): Promise<void> {
    let p = this.dirs.get(dir);
    if (!p) {
      p = !isBelow(root, dir) ? makeRoot(dir) : this.ensureDir(root, path.dirname(dir)).then(() => mkdirOne(dir, root));
      this.dirs.set(dir, p);
      // A failure is reported to this caller and retried by the next.
      p.catch(() => this.dirs.delete(dir));
    }
    return p;
  }

  /** Just before a file is created in `dir`: the real path must be the root's real path plus the same names. */
  async assertInside(root: string, dir: string): Promise<void> {
    if (dir === root) return;
    const expected = await this.expectedReal(root, dir);
    const actual = await realpathOf(dir);
    if (actual !== expected) throw outside(dir, actual, root);
  }

  /**
   * After the temp file is created: where it really is (the kernel's name for
   * the open descriptor) must be the expected directory; else it is removed at
   * once if this run created it. Closes the window between the check above and the open.
   */
  async assertOpenedInside(root: string, dir: string, fd: number, created: boolean): Promise<void> {
    const expected = await this.expectedReal(root, dir);
    let actual: string;
    try {
      actual = encodeName(await fs.readlink(`/proc/self/fd/${fd}`, { encoding: 'buffer' }));
    } catch {
      return; // no /proc: the check before the open is what there is
    }
    if (path.dirname(actual) === expected) return;
    // Only a file this run just created is ours to remove; an existing one is left alone.
    if (created) await fs.rm(fsPath(actual), { force: true });
    throw outside(dir, path.dirname(actual), root);
  }

  private async expectedReal(root: string, dir: string): Promise<string> {
    const rel = path.relative(root, dir);
    if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) throw outside(dir, dir, root);
    let realRoot = this.realRoots.get(root);
    if (!realRoot) {
      realRoot = realpathOf(root);
      this.realRoots.set(root, realRoot);
    }
    return path.join(await realRoot, rel);
  }

  /**
   * Temp files an earlier, killed run left for `dest` (its pid is gone): removed
   * when this run writes that file. `keep` is a temp file a checkpoint resumes.
   */
  async removeStaleTemps(dest: string, keep?: string): Promise<void> {
    const dir = path.dirname(dest);
    let listing = this.tempListings.get(dir);
    if (!listing) {
      // One listing per directory per run, kept to the temp names only.
      listing = fs
        .readdir(fsPath(dir), { encoding: 'buffer' })
        .then((names) => names.map(encodeName).filter((n) => n.startsWith('.') && n.endsWith('.part') && tempOwnerPid(n) !== undefined))
        .catch(() => []);
      this.tempListings.set(dir, listing);
    }
    const prefix = `.${tempStem(path.basename(dest))}.s3xfer-`;
    const stale = (await listing).filter((n) => n.startsWith(prefix) && path.join(dir, n) !== keep && !pidAlive(tempOwnerPid(n)!));
    await Promise.all(stale.map((n) => fs.rm(fsPath(path.join(dir, n)), { force: true })));
  }
}

function outside(dir: string, actual: string, root: string): UnsafeDestinationError {
  return new UnsafeDestinationError(
    `${dir} leads to ${actual} through a symbolic link inside the destination; refusing to write outside ${root}: remove the link or choose another destination`,
  );
}

async function realpathOf(p: string): Promise<string> {
  return encodeName(await fs.realpath(fsPath(p), { encoding: 'buffer' }));
}

async function makeRoot(dir: string): Promise<void> {
  await mkdirp(fsPath(dir));
}

/** One directory below the root: created, or found to be a real directory (never a link). */
async function mkdirOne(dir: string, root: string): Promise<void> {
  try {
    await fs.mkdir(fsPath(dir));
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await fs.lstat(fsPath(dir)).catch((err: unknown) => {
    if (isMissing(err)) return undefined;
    throw err;
  });
  if (st?.isSymbolicLink()) {
    throw new UnsafeDestinationError(
      `${dir} is a symbolic link inside the destination ${root}; s3xfer does not write through links there: remove it or choose another destination`,
    );
  }
  if (!st?.isDirectory()) {
    throw new UnsafeDestinationError(`${dir} is not a directory: a file stands where the destination needs a directory`);
  }
}
