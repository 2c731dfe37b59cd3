import fs from 'node:fs/promises';
import { fsPath } from '../local-path.js';
import { isOurTempFor as isOurTemp } from '../temp-name.js';
import { formatS3 } from '../location.js';
import { splitParts } from '../engine/model.js';
import { formatSize } from '../size.js';
import { crc32c } from '@node-rs/crc32';
import { uint32Base64 } from '../engine/checksum.js';
import type { DownloadJob } from '../engine/model.js';
import { type DownloadSession, type DownloadState, type RangeProgress } from '../engine/download.js';
import { ObjectChangedError } from '../errors.js';
import { VerificationError } from '../errors.js';
import type { Emit } from '../report/events.js';
import { CHECKPOINT_VERSION, type DownloadCheckpoint, type ResumeOptions } from './schema.js';
import { CoalescingWriter, checkpointId, type CheckpointStore } from './store.js';
import { loadForResume } from './load.js';
import type { CustomerKey } from '../engine/store.js';
import { checkSameObjectOptions, objectRecord } from './object-record.js';
import { CheckpointLock } from './lock.js';

export interface DownloadSessionDeps {
  checkpoints: CheckpointStore;
  emit: Emit;
  endpoint: string;
  options: ResumeOptions;
  now: () => Date;
  /** Recorded by its MD5, so `resume` knows the object needs the key. */
  customerKey?: CustomerKey | undefined;
}


/**
 * A `.dcp` checkpoint for one ranged download: object identity, temp file and
 * the chunks written per range. On resume the temp file is checked chunk by
 * chunk, so bytes that never reached the disk are fetched again.
 */
export class CheckpointedDownload implements DownloadSession {
  readonly id: string;
  private readonly url: string;
  private createdAt = '';
  private state?: DownloadState;
  private lock?: CheckpointLock;
  private readonly writer = new CoalescingWriter(() => this.save());

  constructor(
    private readonly job: DownloadJob,
    private readonly deps: DownloadSessionDeps,
  ) {
    this.url = formatS3(job.bucket, job.key);
    this.id = checkpointId(this.url, job.path, deps.endpoint);
  }

  private warn(why: string): void {
    this.deps.emit({ type: 'warning', message: `checkpoint for ${this.url} not used: ${why}; starting over` });
  }

  async resume(): Promise<DownloadState | undefined> {
    const { checkpoints } = this.deps;
    // Before anything is read: two runs resuming one download would fight over its temp file.
    this.lock = await CheckpointLock.acquire(checkpoints.lockPathFor(this.id), this.url, this.deps.now);
    const { checkpoint: cp, salvage } = await loadForResume(checkpoints, this.id, 'download', (why) => this.warn(why));
    if (!cp) {
      if (salvage?.tempPath && isOurTemp(salvage.tempPath, this.job.path)) await fs.rm(fsPath(salvage.tempPath), { force: true });
      return undefined;
    }
    const why = await this.mismatch(cp);
    if (why) {
      this.warn(why);
      await this.discard(cp);
      return undefined;
    }
    checkSameObjectOptions(cp.object, this.object(), { name: this.url, id: this.id });
    const { ranges, refetch } = await this.checkTempFile(cp);
    if (refetch > 0) {
      this.deps.emit({
        type: 'warning',
        message: `${cp.destination.tempPath}: ${formatSize(refetch)} did not match the checkpoint (not on disk before the stop, or altered); fetching it again`,
      });
    }
    this.createdAt = cp.createdAt;
    this.state = { tempPath: cp.destination.tempPath, partSize: cp.partSize, chunkSize: cp.chunkSize, ranges };
    return this.state;
  }

  /** Of the options, only the SSE-C key matters to a download. */
  private object() {
    return objectRecord(undefined, {}, this.deps.customerKey);
  }

  private async mismatch(cp: DownloadCheckpoint): Promise<string | undefined> {
    if (cp.source.etag !== this.job.etag || cp.source.size !== this.job.size) {
      return `${this.url} changed on the server since the checkpoint (ETag or size)`;
    }
    if (cp.partSize !== this.job.partSize) {
      return `part size differs (${formatSize(cp.partSize)} then, ${formatSize(this.job.partSize ?? 0)} now)`;
    }
    if (!isOurTemp(cp.destination.tempPath, this.job.path)) return 'its temp file is not beside the destination';
    try {
      await fs.access(fsPath(cp.destination.tempPath), fs.constants.R_OK | fs.constants.W_OK);
    } catch {
      return `its temp file ${cp.destination.tempPath} is gone`;
    }
    return undefined;
  }

  /** Keep, per range, the prefix of chunks whose bytes on disk still match their CRC32C. */
  private async checkTempFile(cp: DownloadCheckpoint): Promise<{ ranges: Map<number, RangeProgress>; refetch: number }> {
    const parts = new Map(splitParts(cp.source.size, cp.partSize).map((p) => [p.partNumber, p]));
    const ranges = new Map<number, RangeProgress>();
    let refetch = 0;
    const fh = await fs.open(fsPath(cp.destination.tempPath), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      for (const r of cp.ranges) {
        const part = parts.get(r.partNumber);
        if (!part) continue;
        const kept: RangeProgress = { bytesDone: 0, chunkCrcs: [], crc: 0 };
        const buf = Buffer.alloc(cp.chunkSize);
        for (const recorded of r.chunkCrcs) {
          const size = Math.min(cp.chunkSize, part.size - kept.bytesDone);
          const { bytesRead } = await fh.read(buf, 0, size, part.offset + kept.bytesDone);
          const running = crc32c(buf.subarray(0, size), kept.crc);
          if (bytesRead !== size || uint32Base64(running) !== recorded) break;
          kept.crc = running;
          kept.bytesDone += size;
          kept.chunkCrcs.push(recorded);
        }
        refetch += r.bytesDone - kept.bytesDone;
        ranges.set(r.partNumber, kept);
      }
    } finally {
      await fh.close();
    }
    return { ranges, refetch };
  }

  private async discard(cp: DownloadCheckpoint): Promise<void> {
    if (isOurTemp(cp.destination.tempPath, this.job.path)) await fs.rm(fsPath(cp.destination.tempPath), { force: true });
    await this.deps.checkpoints.remove(this.id, 'download');
  }

  async started(state: DownloadState): Promise<void> {
    this.state = state;
    this.createdAt = this.deps.now().toISOString();
    await this.save();
  }

  chunkDone(state: DownloadState): void {
    this.state = state;
    this.writer.schedule();
  }

  async keepOnFailure(state: DownloadState, err: unknown): Promise<boolean> {
    await this.writer.flush().catch(() => {});
    if (err instanceof ObjectChangedError || err instanceof VerificationError) {
      // What was fetched is not the object's (it changed, or bytes were bad): useless for a rerun.
      await this.deps.checkpoints.remove(this.id, 'download');
      return false;
    }
    const parts = splitParts(this.job.size, state.partSize);
    const done = parts.filter((p) => state.ranges.get(p.partNumber)?.bytesDone === p.size).length;
    this.deps.emit({ type: 'saved', kind: 'download', source: this.url, checkpoint: this.id, partsDone: done, partsTotal: parts.length });
    return true;
  }

  async release(): Promise<void> {
    await this.lock?.release();
  }

  async completed(): Promise<void> {
    await this.writer.flush();
    await this.deps.checkpoints.remove(this.id, 'download');
  }

  private async save(): Promise<void> {
    const state = this.state!;
    const ranges = [...state.ranges.entries()]
      .filter(([, r]) => r.bytesDone > 0)
      .sort(([a], [b]) => a - b)
      .map(([partNumber, r]) => ({ partNumber, bytesDone: r.bytesDone, chunkCrcs: [...r.chunkCrcs] }));
    await this.deps.checkpoints.write({
      version: CHECKPOINT_VERSION,
      id: this.id,
      kind: 'download',
      source: {
        endpoint: this.deps.endpoint,
        bucket: this.job.bucket,
        key: this.job.key,
        ...(this.job.versionId ? { versionId: this.job.versionId } : {}),
        etag: this.job.etag,
        size: this.job.size,
        lastModifiedMs: this.job.lastModifiedMs,
      },
      destination: { path: this.job.path, tempPath: state.tempPath },
      partSize: state.partSize,
      partCount: splitParts(this.job.size, state.partSize).length,
      chunkSize: state.chunkSize,
      ranges,
      options: this.deps.options,
      object: this.object(),
      createdAt: this.createdAt,
      updatedAt: this.deps.now().toISOString(),
    });
  }
}
