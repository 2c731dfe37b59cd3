import fs from 'node:fs/promises';
import { constants as fsc, readFileSync } from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { LockedError } from '../errors.js';

/**
 * One run per checkpoint. Overlapping cron jobs are normal: the second run must
 * never work on a transfer the first one holds (two runs on one upload orphan
 * it or resend everything). A lock is `<id>.lock` beside the checkpoint, created
 * exclusively (O_EXCL), holding who owns it; released when the transfer ends. A
 * lock whose owner is gone (its pid no longer runs on this host, or runs a
 * different process) is taken over.
 */
export interface LockOwner {
  pid: number;
  host: string;
  /** The owner's start time in clock ticks since boot (Linux), to tell a reused pid apart. */
  processStart?: string | undefined;
  since: string;
  nonce: string;
}


/** An unreadable lock younger than this is being written; older, it is a crash's leftover. */
const UNREADABLE_GRACE_MS = 30_000;

function processStart(pid: number | 'self'): string | undefined {
  try {
    // Field 22 of /proc/PID/stat, counted after the command name (which may hold spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true; // cannot tell: assume it runs
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(owner.pid);
  return owner.processStart === undefined || start === undefined || start === owner.processStart;
}

async function readOwner(file: string): Promise<{ owner?: LockOwner; ageMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    const ageMs = Date.now() - st.mtimeMs;
    try {
      const o = JSON.parse(text) as LockOwner;
      return Number.isInteger(o.pid) && typeof o.host === 'string' ? { owner: o, ageMs } : { ageMs };
    } catch {
      return { ageMs };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The live run holding `file`, if any. */
export async function lockHolder(file: string): Promise<LockOwner | undefined> {
  const read = await readOwner(file);
  return read?.owner && ownerAlive(read.owner) ? read.owner : undefined;
}

export class CheckpointLock {
  private released = false;
  private constructor(
    readonly file: string,
    private readonly owner: LockOwner,
  ) {}

  /** Take the lock, taking over a dead owner's; throws LockedError when a live run holds it. */
  static async acquire(file: string, what: string, now: () => Date = () => new Date()): Promise<CheckpointLock> {
    const owner: LockOwner = { pid: process.pid, host: os.hostname(), processStart: processStart('self'), since: now().toISOString(), nonce: randomBytes(8).toString('hex') };
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * attempt));
      if (await create(file, owner)) return new CheckpointLock(file, owner);
      const read = await readOwner(file);
      if (!read) continue; // released meanwhile: try again
      const stale = read.owner ? !ownerAlive(read.owner) : read.ageMs > UNREADABLE_GRACE_MS;
      if (!stale) throw lockedError(what, read.owner, file);
      await takeOver(file, read.owner);
    }
    throw lockedError(what, undefined, file);
  }

  /** Remove the lock if it is still ours; idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const read = await readOwner(this.file).catch(() => undefined);
    if (read?.owner?.nonce === this.owner.nonce) await fs.rm(this.file, { force: true });
  }
}

async function create(file: string, owner: LockOwner): Promise<boolean> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.chmod(0o600); // whatever the umask
    await fh.writeFile(`${JSON.stringify(owner)}\n`);
  } finally {
    await fh.close();
  }
  return true;
}

/** A take-over guard left by a run that died while taking over: older than this, it is removed. */
const GUARD_STALE_MS = 10_000;

/**
 * Remove a dead owner's lock so that `create` can race for it. Take-overs are
 * serialised by a guard directory (mkdir is atomic): inside it, the lock is read
 * again and removed only if it is still the dead owner's, so no run ever
 * removes a lock a live run has just taken. Ordinary creators need no guard:
 * O_EXCL fails while any lock file exists.
 */
async function takeOver(file: string, dead: LockOwner | undefined): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await fs.mkdir(guard, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const st = await fs.stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > GUARD_STALE_MS) await fs.rmdir(guard).catch(() => {});
    return; // someone else is taking over: the caller tries again
  }
  try {
    const now = await readOwner(file);
    const same = now && (dead ? now.owner?.nonce === dead.nonce : !now.owner && now.ageMs > UNREADABLE_GRACE_MS);
    if (same) await fs.rm(file, { force: true });
  } finally {
    await fs.rmdir(guard).catch(() => {});
  }
}

function lockedError(what: string, owner: LockOwner | undefined, file: string): LockedError {
  const who = owner ? `pid ${owner.pid} on ${owner.host}, since ${owner.since}` : 'a run that is starting';
  return new LockedError(
    `${what}: skipped, another s3xfer run (${who}) is working on it; rerun when it is done (if that run is gone, remove ${file})`,
  );
}
