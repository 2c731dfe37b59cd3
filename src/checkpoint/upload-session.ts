import fs from 'node:fs/promises';
import { formatS3 } from '../location.js';
import { splitParts } from '../engine/model.js';
import { formatSize } from '../size.js';
import { crc32cBase64 } from '../engine/checksum.js';
import { readFull } from '../engine/local-file.js';
import type { ObjectStore, PartInfo } from '../engine/store.js';
import type { MultipartState, UploadSession } from '../engine/upload.js';
import type { UploadJob } from '../engine/model.js';
import type { Emit } from '../report/events.js';
import type { ResumeOptions, UploadCheckpoint } from './schema.js';
import { CHECKPOINT_VERSION } from './schema.js';
import { CheckpointStore, CoalescingWriter, checkpointId } from './store.js';
import { loadForResume } from './load.js';
import { fsPath } from '../local-path.js';
import { CheckpointLock } from './lock.js';
import { findOrphans, heldUploads } from './orphans.js';
import { listCheckpoints } from './inspect.js';
import { isNoSuchUpload } from '../engine/s3-errors.js';
import { ChangedSourceError, SuspectObjectError } from '../errors.js';

export interface UploadSessionDeps {
  store: ObjectStore;
  checkpoints: CheckpointStore;
  emit: Emit;
  endpoint: string;
  options: ResumeOptions;
  now: () => Date;
}


/**
 * A `.ucp` checkpoint for one multipart upload: found again by id, validated
 * and reconciled with the server on resume, saved as parts finish, removed on success.
 */
export class CheckpointedUpload implements UploadSession {
  readonly id: string;
  private readonly url: string;
  private source?: UploadCheckpoint['source'];
  private createdAt?: string;
  private state?: MultipartState;
  private intentAt?: string;
  private lock?: CheckpointLock;
  private readonly writer = new CoalescingWriter(() => this.save());

  constructor(
    private readonly job: UploadJob,
    private readonly deps: UploadSessionDeps,
  ) {
    this.url = formatS3(job.bucket, job.key);
    this.id = checkpointId(job.path, this.url, deps.endpoint);
  }

  private warn(why: string): void {
    this.deps.emit({ type: 'warning', message: `checkpoint for ${this.job.path} not used: ${why}; starting over` });
  }

  private async currentSource(): Promise<UploadCheckpoint['source']> {
    const st = await fs.stat(fsPath(this.job.path), { bigint: true });
    return { path: this.job.path, size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ino: Number(st.ino) };
  }

  async resume(signal: AbortSignal): Promise<MultipartState | undefined> {
    // Before anything is read: a second run must never work on this transfer too.
    this.lock = await CheckpointLock.acquire(this.deps.checkpoints.lockPathFor(this.id), this.job.path, this.deps.now);
    this.source = await this.currentSource();
    const { checkpoints } = this.deps;
    const { checkpoint: cp, salvage } = await loadForResume(checkpoints, this.id, 'upload', (why) => this.warn(why));
    if (cp && cp.uploadId === undefined) {
      await this.abortOrphans(cp, signal);
      await checkpoints.remove(this.id, 'upload');
      return undefined;
    }
    if (!cp) {
      // A corrupt checkpoint's upload ID may still be readable: abort that upload rather than orphan its parts.
      const old = salvage?.upload;
      if (old && old.bucket === this.job.bucket && old.key === this.job.key) await this.abortOld(old.uploadId);
      return undefined;
    }
    const why = this.mismatch(cp);
    if (why) {
      this.warn(why);
      await this.discard(cp);
      return undefined;
    }
    let serverParts: PartInfo[];
    try {
      serverParts = await this.deps.store.listParts(cp.destination.bucket, cp.destination.key, cp.uploadId!, signal);
    } catch (err) {
      if (!isNoSuchUpload(err)) throw err;
      this.warn('the upload is gone from the server');
      await checkpoints.remove(this.id, 'upload');
      return undefined;
    }
    this.createdAt = cp.createdAt;
    this.state = { uploadId: cp.uploadId!, partSize: cp.partSize, done: await this.reconcile(cp, serverParts) };
    return this.state;
  }

  /** A run killed between CreateMultipartUpload and its first save left uploads nobody knows: abort them. */
  private async abortOrphans(cp: UploadCheckpoint, signal: AbortSignal): Promise<void> {
    let orphans;
    try {
      const held = heldUploads(await listCheckpoints(this.deps.checkpoints.dir));
      orphans = await findOrphans(this.deps.store, cp, held, signal);
    } catch (err) {
      // Listing uploads may not be allowed (a least-privilege policy): say so, and go on without it.
      this.deps.emit({
        type: 'warning',
        message: `${this.url}: an interrupted run may have left an incomplete upload, and listing them failed (${(err as Error).message}); check with 's3xfer uploads ls'`,
      });
      return;
    }
    for (const u of orphans) {
      await this.abortOld(u.uploadId);
      this.deps.emit({ type: 'warning', message: `aborted upload ${u.uploadId} of ${this.url}: an interrupted run had started it before recording it` });
    }
  }

  /** CreateMultipartUpload was refused outright: no upload exists, the intent is moot. */
  async createFailed(): Promise<void> {
    await this.deps.checkpoints.remove(this.id, 'upload').catch(() => {});
  }

  /** Recorded before CreateMultipartUpload is sent: a kill right after it leaves a trace to clean up. */
  async beforeCreate(): Promise<void> {
    this.intentAt = this.deps.now().toISOString();
    this.createdAt = this.intentAt;
    await this.save();
  }

  async release(): Promise<void> {
    await this.lock?.release();
  }

  /** Why a checkpoint cannot be resumed, or undefined when it can. */
  private mismatch(cp: UploadCheckpoint): string | undefined {
    const src = this.source!;
    if (cp.source.size !== src.size || cp.source.mtimeNs !== src.mtimeNs) {
      return `${this.job.path} changed since the checkpoint (size or mtime)`;
    }
    if (cp.destination.bucket !== this.job.bucket || cp.destination.key !== this.job.key) return 'different destination';
    if (cp.partSize !== this.job.partSize) {
      return `part size differs (${formatSize(cp.partSize)} then, ${formatSize(this.job.partSize ?? 0)} now)`;
    }
    return undefined;
  }

  /**
   * A part counts as done only when the server has it with the expected size
   * and a checksum (or the ETag we recorded for those bytes) that matches the
   * local bytes. The checkpoint may lag the server by the parts in flight.
   */
  private async reconcile(cp: UploadCheckpoint, serverParts: PartInfo[]): Promise<Map<number, PartInfo>> {
    const expected = new Map(splitParts(cp.source.size, cp.partSize).map((p) => [p.partNumber, p]));
    const recorded = new Map(cp.parts.map((p) => [p.partNumber, p]));
    const done = new Map<number, PartInfo>();
    const fh = await fs.open(fsPath(this.job.path), 'r');
    // One buffer for the whole check: parts are read one at a time.
    const buf = Buffer.allocUnsafe(cp.partSize);
    try {
      for (const sp of serverParts) {
        const want = expected.get(sp.partNumber);
        if (!want || sp.size !== want.size) continue;
        const local = crc32cBase64(await readFull(fh, buf.subarray(0, want.size), want.offset, this.job.path));
        const rec = recorded.get(sp.partNumber);
        const matches = sp.crc32c ? sp.crc32c === local : rec !== undefined && rec.etag === sp.etag && rec.crc32c === local;
        if (matches) done.set(sp.partNumber, { partNumber: sp.partNumber, size: sp.size, etag: sp.etag, crc32c: local });
      }
    } finally {
      await fh.close();
    }
    return done;
  }

  /** Start over cleanly: abort the old server-side upload (never orphan it), drop the checkpoint. */
  private async discard(cp: UploadCheckpoint): Promise<void> {
    if (cp.uploadId) await this.abortOld(cp.uploadId);
    await this.deps.checkpoints.remove(this.id, 'upload');
  }

  private async abortOld(uploadId: string): Promise<void> {
    try {
      await this.deps.store.abortMultipartUpload(this.job.bucket, this.job.key, uploadId, AbortSignal.timeout(10_000));
    } catch (err) {
      if (!isNoSuchUpload(err)) {
        this.deps.emit({ type: 'warning', message: `could not abort the old upload ${uploadId} of ${this.url}: ${(err as Error).message}` });
      }
    }
  }

  async started(state: MultipartState): Promise<void> {
    this.state = state;
    this.createdAt ??= this.deps.now().toISOString();
    await this.save();
  }

  partDone(state: MultipartState): void {
    this.state = state;
    this.writer.schedule();
  }

  async keepOnFailure(_state: MultipartState, cause: unknown): Promise<boolean> {
    if (cause instanceof ChangedSourceError || cause instanceof SuspectObjectError) {
      // The source changed or the result was suspect: nothing here is worth resuming.
      await this.deps.checkpoints.remove(this.id, 'upload').catch(() => {});
      return false;
    }
    await this.writer.flush();
    const total = splitParts(this.job.size, this.job.partSize!).length;
    this.deps.emit({
      type: 'saved',
      kind: 'upload',
      source: this.job.path,
      checkpoint: this.id,
      partsDone: this.state?.done.size ?? 0,
      partsTotal: total,
    });
    return true;
  }

  async completed(): Promise<void> {
    await this.writer.flush();
    await this.deps.checkpoints.remove(this.id, 'upload');
  }

  private async save(): Promise<void> {
    const state = this.state;
    const parts = [...(state?.done.values() ?? [])]
      .sort((a, b) => a.partNumber - b.partNumber)
      .map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag, crc32c: p.crc32c ?? '' }));
    await this.deps.checkpoints.write({
      version: CHECKPOINT_VERSION,
      id: this.id,
      kind: 'upload',
      source: this.source!,
      destination: { endpoint: this.deps.endpoint, bucket: this.job.bucket, key: this.job.key },
      ...(state ? { uploadId: state.uploadId } : {}),
      ...(this.intentAt ? { intentAt: this.intentAt } : {}),
      partSize: this.job.partSize!,
      partCount: splitParts(this.job.size, this.job.partSize!).length,
      parts,
      options: this.deps.options,
      createdAt: this.createdAt!,
      updatedAt: this.deps.now().toISOString(),
    });
  }
}
