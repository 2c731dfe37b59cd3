import { constants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { mkdirp } from '../mkdirp.js';

/**
 * A checkpoint is an instruction: which local file to read, where to send it,
 * which temp file to delete. Its SHA-256 catches torn writes, not forgeries, so
 * s3xfer reads checkpoints only from places nobody else can write to, checked
 * the way OpenSSH's StrictModes checks ~/.ssh.
 */

/** What s3xfer creates in a checkpoint directory, whatever the umask. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Checkpoint files, including those kept aside as corrupt (`checkpoint clean` still acts on them). */
const CHECKPOINT_NAME = /^[0-9a-f]{16}\.(ucp|dcp|ccp)(\.corrupt)?$/;

/** Without POSIX owners and modes (Windows) there is nothing to check. */
const POSIX = process.platform !== 'win32' && typeof process.getuid === 'function';

export type Role = 'directory' | 'file' | 'parent';

/** Why an owner and mode are not safe (`owner`, `writable` or both); empty when they are. Pure: table-tested. */
export function unsafeBecause(st: { uid: number; mode: number }, role: Role, me: number): ('owner' | 'writable')[] {
  const out: ('owner' | 'writable')[] = [];
  // Root can rewrite anything anyway: trusting it costs nothing, as OpenSSH does.
  if (st.uid !== me && st.uid !== 0) out.push('owner');
  // A sticky parent (/tmp) lets others create entries but not rename or remove ours.
  const sticky = role === 'parent' && (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o022) !== 0 && !sticky) out.push('writable');
  return out;
}

/** A path as the user can paste it into a shell. */
export function shellQuote(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

function userName(uid: number): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(uid);
  }
}

const WHO = ['', 'others', 'group', 'group and others'];

/** One line: what is wrong with `label`, and the command that fixes `p`. */
function refusal(label: string, p: string, st: Stats, role: Role, problems: ('owner' | 'writable')[]): UsageError {
  const me = process.getuid!();
  const why = problems
    .map((k) => (k === 'owner' ? `owned by uid ${st.uid}, not by you` : `writable by ${WHO[((st.mode & 0o020) >> 3) | ((st.mode & 0o002) >> 1)]}`))
    .join(' and ');
  const fixes = problems.map((k) => (k === 'owner' ? `${me === 0 ? '' : 'sudo '}chown ${userName(me)} ${shellQuote(p)}` : `chmod go-w ${shellQuote(p)}`));
  const or =
    role === 'file'
      ? ', or remove it'
      : role === 'parent' && !problems.includes('owner')
        ? `, or \`chmod +t ${shellQuote(p)}\``
        : ', or choose another --checkpoint-dir';
  return new UsageError(
    `${label} is ${why} (mode 0${(st.mode & 0o7777).toString(8)}): a checkpoint tells s3xfer what to send where, so it reads none that others could have written; fix: \`${fixes.join(' && ')}\`${or}`,
  );
}

function check(label: string, p: string, st: Stats, role: Role): void {
  const problems = unsafeBecause(st, role, process.getuid!());
  if (problems.length > 0) throw refusal(label, p, st, role, problems);
}

function notAFile(p: string, kind: string): UsageError {
  return new UsageError(`checkpoint file ${p} is ${kind}: s3xfer reads only the regular files it wrote; remove it (\`rm ${shellQuote(p)}\`)`);
}

/**
 * Refuse (exit 2) a checkpoint directory that someone else could write to: the
 * directory symlinks resolve to, every directory above it, and each checkpoint
 * file in it. Returns false when the directory does not exist (nothing to read).
 */
export async function checkCheckpointDir(dir: string): Promise<boolean> {
  let real: string;
  try {
    real = await fs.realpath(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!POSIX) return true;
  const st = await fs.stat(real);
  // Not a directory: the caller's readdir/mkdir reports it.
  if (!st.isDirectory()) return true;
  check(`checkpoint directory ${real === dir ? dir : `${dir} (${real})`}`, real, st, 'directory');
  for (let d = path.dirname(real); ; d = path.dirname(d)) {
    check(`${d}, above checkpoint directory ${dir},`, d, await fs.stat(d), 'parent');
    if (d === path.dirname(d)) break;
  }
  for (const name of await fs.readdir(real)) {
    if (!CHECKPOINT_NAME.test(name)) continue;
    const file = path.join(dir, name);
    const fst = await fs.lstat(file).catch(() => undefined);
    if (!fst) continue;
    if (fst.isSymbolicLink()) throw notAFile(file, 'a symbolic link');
    if (!fst.isFile()) throw notAFile(file, 'not a regular file');
    check(`checkpoint file ${file}`, file, fst, 'file');
  }
  return true;
}

/**
 * Read a checkpoint file, refusing one that is a link, not a regular file, or
 * writable by someone else. Checked on the open descriptor, so what is read is
 * what was checked. Undefined when the file does not exist.
 */
export async function readTrustedCheckpoint(file: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  let fh: fs.FileHandle;
  try {
    // O_NONBLOCK: a fifo planted under a checkpoint's name must not hang the open.
    fh = await fs.open(file, POSIX ? constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK : 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw notAFile(file, 'a symbolic link');
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notAFile(file, 'not a regular file');
    if (POSIX) check(`checkpoint file ${file}`, file, st, 'file');
    return { text: await fh.readFile('utf8'), mtimeMs: st.mtimeMs };
  } finally {
    await fh.close();
  }
}

/**
 * mkdir -p with mode 0700 for what it creates. The umask can only take bits
 * away, but one like 0277 would leave it unwritable: set the mode explicitly.
 * An existing directory keeps its mode (0755 is fine; checkCheckpointDir judges).
 */
export async function makePrivateDir(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const first = await mkdirp(abs, PRIVATE_DIR_MODE);
  if (first === undefined) return;
  for (let d = abs; ; d = path.dirname(d)) {
    await fs.chmod(d, PRIVATE_DIR_MODE);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
}
