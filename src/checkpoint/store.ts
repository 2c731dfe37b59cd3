import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { UserError, ExitCode } from '../errors.js';
import { serializeCheckpoint, type Checkpoint, type CheckpointBody, type ParseResult } from './schema.js';
import { PRIVATE_FILE_MODE, checkCheckpointDir, makePrivateDir, readTrustedCheckpoint } from './trust.js';

export type CheckpointKind = 'upload' | 'download' | 'copy';
export const EXT: Record<CheckpointKind, string> = { upload: '.ucp', download: '.dcp', copy: '.ccp' };

/** A short stable id, so that the same command finds its checkpoint again. */
export function checkpointId(absSource: string, destinationUrl: string, endpoint: string): string {
  return createHash('sha256').update(`${absSource}\n${destinationUrl}\n${endpoint}`).digest('hex').slice(0, 16);
}

/** Checkpoint files in one directory, written atomically. */
export class CheckpointStore {
  private trusted: Promise<boolean> | undefined;
  private saves = 0;
  constructor(public dir: string) {}

  /** Once per command: the directory and the checkpoints in it are the user's alone (see trust.ts). */
  private trust(): Promise<boolean> {
    this.trusted ??= checkCheckpointDir(this.dir);
    return this.trusted;
  }

  pathFor(id: string, kind: CheckpointKind): string {
    return path.join(this.dir, id + EXT[kind]);
  }

  /** One run per checkpoint: see lock.ts. */
  lockPathFor(id: string): string {
    return path.join(this.dir, `${id}.lock`);
  }

  /** Create the directory (0700), check it is trusted and prove it is writable before any transfer starts. */
  async prepare(): Promise<void> {
    try {
      await makePrivateDir(this.dir);
      await this.trust();
      // From here on, the directory that was checked, not a path whose links could be re-pointed.
      this.dir = await fs.realpath(this.dir);
      await fs.access(this.dir, fs.constants.W_OK);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(
        `checkpoint directory ${this.dir} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}): choose another --checkpoint-dir`,
        ExitCode.usage,
      );
    }
  }

  async read<K extends CheckpointKind>(id: string, kind: K): Promise<ParseResult<Extract<Checkpoint, { kind: K }>> | undefined> {
    if (!(await this.trust())) return undefined;
    await this.removeStaleTemps(id, kind);
    let got: { text: string } | undefined;
    try {
      got = await readTrustedCheckpoint(this.pathFor(id, kind));
    } catch (err) {
      // Untrusted: refused (exit 2), never read nor quarantined as merely corrupt.
      if (err instanceof UserError) throw err;
      return { ok: false, problem: 'corrupt', reason: `unreadable (${(err as NodeJS.ErrnoException).code})` };
    }
    if (!got) return undefined;
    // The validator (zod) loads only now: a transfer with no checkpoint to resume never needs it.
    const { parseCheckpoint } = await import('./validate.js');
    const parsed = parseCheckpoint(got.text);
    if (parsed.ok && parsed.checkpoint.kind !== kind) {
      return { ok: false, problem: 'corrupt', reason: `holds a ${parsed.checkpoint.kind} checkpoint, not a ${kind}` };
    }
    return parsed as ParseResult<Extract<Checkpoint, { kind: K }>>;
  }

  /**
   * Temp file in the same directory, fsync, rename, fsync the directory: after
   * a SIGKILL or power cut the old or the new checkpoint is there, never a torn one.
   * Written by hand rather than with write-file-atomic, which resolves the target's
   * real path on every save (an lstat per path component, ~0.7 ms of CPU a save);
   * the directory was resolved once in prepare(), and the file name is ours.
   */
  async write(body: CheckpointBody): Promise<void> {
    const file = this.pathFor(body.id, body.kind);
    const temp = `${file}.${process.pid}${String(++this.saves).padStart(6, '0')}`;
    try {
      // 'wx' with an explicit mode: a fresh file of ours, 0600 whatever the umask.
      const fh = await fs.open(temp, 'wx', PRIVATE_FILE_MODE);
      try {
        await fh.writeFile(serializeCheckpoint(body));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(temp, file);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    await fsyncDir(this.dir);
  }

  /** A kill during a save leaves its temp file (`<id>.ucp.<digits>`) behind; the checkpoint itself is intact. */
  async removeStaleTemps(id: string, kind: CheckpointKind): Promise<void> {
    const stale = new RegExp(`^${id}\\${EXT[kind]}\\.\\d+$`);
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => stale.test(n)).map((n) => fs.rm(path.join(this.dir, n), { force: true })));
  }

  /** A checkpoint file of this directory by name (a `.corrupt` one too): removed, the directory fsynced. */
  async removeFile(file: string): Promise<void> {
    if (path.dirname(file) !== this.dir && path.dirname(path.resolve(file)) !== path.resolve(this.dir)) {
      throw new Error(`${file} is not in the checkpoint directory ${this.dir}`);
    }
    await fs.rm(file, { force: true });
    await fsyncDir(this.dir);
  }

  async remove(id: string, kind: CheckpointKind): Promise<void> {
    await fs.rm(this.pathFor(id, kind), { force: true });
    await fsyncDir(this.dir);
  }

  /** Keep a bad checkpoint aside for inspection instead of deleting it. */
  async quarantine(id: string, kind: CheckpointKind): Promise<string> {
    const from = this.pathFor(id, kind);
    const to = `${from}.corrupt`;
    await fs.rename(from, to);
    return to;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Saves coalesced: at most one write in flight, the latest state written once
 * it ends, and (with an interval) no two saves started closer together than
 * that. Saving never waits on the transfer or slows it; flush() writes at once.
 */
export class CoalescingWriter {
  private running: Promise<void> | undefined;
  private dirty = false;
  private urgent = false;
  private failure: unknown;
  private lastStart = -Infinity;
  private wake: (() => void) | undefined;

  constructor(
    private readonly save: () => Promise<void>,
    private readonly minIntervalMs = 0,
    private readonly now: () => number = () => performance.now(),
  ) {}

  schedule(): void {
    this.dirty = true;
    this.running ??= this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.dirty) {
        const wait = this.lastStart + this.minIntervalMs - this.now();
        if (wait > 0 && !this.urgent) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wake = undefined;
        }
        this.dirty = false;
        this.lastStart = this.now();
        await this.save();
        // A later save that succeeds makes an earlier failure moot.
        this.failure = undefined;
      }
    } catch (err) {
      this.failure = err;
    } finally {
      this.running = undefined;
    }
  }

  /** Write what is scheduled now and wait until it is on disk; rethrow a failed save. */
  async flush(): Promise<void> {
    this.urgent = true;
    try {
      this.wake?.();
      while (this.running) await this.running;
    } finally {
      this.urgent = false;
    }
    if (this.failure !== undefined) throw this.failure;
  }
}
