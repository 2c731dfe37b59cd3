import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import writeFileAtomic from 'write-file-atomic';
import { UserError, ExitCode } from '../errors.js';
import { parseCheckpoint, serializeCheckpoint, type Checkpoint, type CheckpointBody, type ParseResult } from './schema.js';

export type CheckpointKind = 'upload' | 'download';
const EXT: Record<CheckpointKind, string> = { upload: '.ucp', download: '.dcp' };

/** A short stable id, so that the same command finds its checkpoint again. */
export function checkpointId(absSource: string, destinationUrl: string, endpoint: string): string {
  return createHash('sha256').update(`${absSource}\n${destinationUrl}\n${endpoint}`).digest('hex').slice(0, 16);
}

/** Checkpoint files in one directory, written atomically. */
export class CheckpointStore {
  constructor(readonly dir: string) {}

  pathFor(id: string, kind: CheckpointKind): string {
    return path.join(this.dir, id + EXT[kind]);
  }

  /** One run per checkpoint: see lock.ts. */
  lockPathFor(id: string): string {
    return path.join(this.dir, `${id}.lock`);
  }

  /** Create the directory and prove it is writable before any transfer starts. */
  async prepare(): Promise<void> {
    try {
      await fs.mkdir(this.dir, { recursive: true });
      await fs.access(this.dir, fs.constants.W_OK);
    } catch (err) {
      throw new UserError(
        `checkpoint directory ${this.dir} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}): choose another --checkpoint-dir`,
        ExitCode.usage,
      );
    }
  }

  async read<K extends CheckpointKind>(id: string, kind: K): Promise<ParseResult<Extract<Checkpoint, { kind: K }>> | undefined> {
    await this.removeStaleTemps(id, kind);
    let text: string;
    try {
      text = await fs.readFile(this.pathFor(id, kind), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { ok: false, problem: 'corrupt', reason: `unreadable (${(err as NodeJS.ErrnoException).code})` };
    }
    const parsed = parseCheckpoint(text);
    if (parsed.ok && parsed.checkpoint.kind !== kind) {
      return { ok: false, problem: 'corrupt', reason: `holds a ${parsed.checkpoint.kind} checkpoint, not a ${kind}` };
    }
    return parsed as ParseResult<Extract<Checkpoint, { kind: K }>>;
  }

  /**
   * Temp file in the same directory, fsync, rename, fsync the directory: after
   * a SIGKILL or power cut the old or the new checkpoint is there, never a torn one.
   */
  async write(body: CheckpointBody): Promise<void> {
    await writeFileAtomic(this.pathFor(body.id, body.kind), serializeCheckpoint(body), { fsync: true });
    await fsyncDir(this.dir);
  }

  /** A kill during a save leaves write-file-atomic's temp file (`<id>.ucp.<n>`) behind; the checkpoint itself is intact. */
  async removeStaleTemps(id: string, kind: CheckpointKind): Promise<void> {
    const stale = new RegExp(`^${id}\\${EXT[kind]}\\.\\d+$`);
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => stale.test(n)).map((n) => fs.rm(path.join(this.dir, n), { force: true })));
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
 * Saves coalesced: at most one write in flight, and the latest state is
 * written once it ends. Saving never waits on the transfer or slows it.
 */
export class CoalescingWriter {
  private running: Promise<void> | undefined;
  private dirty = false;
  private failure: unknown;

  constructor(private readonly save: () => Promise<void>) {}

  schedule(): void {
    this.dirty = true;
    this.running ??= this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
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

  /** Wait until everything scheduled is on disk; rethrow a failed save. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure !== undefined) throw this.failure;
  }
}
