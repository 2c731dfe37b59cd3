import { formatSize } from '../size.js';
import { splitParts } from '../engine/model.js';
import type { CustomerKey, ObjectStore, PartInfo } from '../engine/store.js';
import type { ObjectOptions } from '../engine/object-settings.js';
import { checkSameObjectOptions, type ObjectRecord } from './object-record.js';
import type { MultipartState, UploadSession } from '../engine/multipart.js';
import { isNoSuchUpload } from '../engine/s3-errors.js';
import type { Emit } from '../report/events.js';
import { CHECKPOINT_VERSION, type CopyCheckpoint, type MultipartCheckpoint, type ResumeOptions, type UploadCheckpoint } from './schema.js';
import { CoalescingWriter, type CheckpointStore } from './store.js';
import { loadForResume } from './load.js';
import { CheckpointLock } from './lock.js';
import { findOrphans, heldUploads } from './orphans.js';

/** Least time between two progress saves of a multipart upload's checkpoint. */
export const PROGRESS_SAVE_INTERVAL_MS = 500;

export interface MultipartSessionDeps {
  store: ObjectStore;
  checkpoints: CheckpointStore;
  emit: Emit;
  endpoint: string;
  options: ResumeOptions;
  now: () => Date;
  /** The run's object options and SSE-C key: recorded, and compared on resume. */
  object?: ObjectOptions | undefined;
  customerKey?: CustomerKey | undefined;
}

/** Where the transfer goes and how it is cut, whatever its source. */
export interface MultipartTarget {
  id: string;
  /** The source as the user names it: a local path or an s3:// URL. */
  name: string;
  bucket: string;
  key: string;
  size: number;
  partSize: number;
  /** What this run sets on the object (object-record.ts). */
  object: ObjectRecord;
}

/**
 * The checkpoint of one multipart upload on the server — from a file (`.ucp`)
 * or a server-side copy (`.ccp`): locked for one run, the intent saved before
 * CreateMultipartUpload, validated and reconciled with the server on resume,
 * saved as parts finish, removed on success. A subclass says what its source
 * is, when it changed, and which of the server's parts still count.
 */
export abstract class MultipartSession<CP extends MultipartCheckpoint> implements UploadSession {
  protected abstract readonly kind: CP['kind'];
  private createdAt?: string;
  private state?: MultipartState;
  private intentAt?: string;
  private lock?: CheckpointLock;
  // Parts the checkpoint has not recorded yet still count on resume (reconcile() checks the server's
  // parts against the source), so progress is saved at most twice a second: each save is two fsyncs
  // and a rename, ~2 ms of kernel time, which was most of --checkpoint-dir's cost on a 256 MiB upload.
  private readonly writer = new CoalescingWriter(() => this.save(), PROGRESS_SAVE_INTERVAL_MS);

  constructor(
    protected readonly target: MultipartTarget,
    protected readonly deps: MultipartSessionDeps,
  ) {}

  /** The source's identity now, recorded in the checkpoint. */
  protected abstract currentSource(signal: AbortSignal): Promise<CP['source']>;
  /** Why the recorded source is not the current one, or undefined. */
  protected abstract sourceChanged(recorded: CP['source']): string | undefined;
  /** Of the parts the server holds, those that are what this source's parts must be. */
  protected abstract reconcile(cp: CP, serverParts: PartInfo[]): Promise<Map<number, PartInfo>>;
  /** Failures after which nothing is worth resuming (the source changed, the result is suspect). */
  protected abstract useless(cause: unknown): boolean;

  private source?: CP['source'];

  protected warn(why: string): void {
    this.deps.emit({ type: 'warning', message: `checkpoint for ${this.target.name} not used: ${why}; starting over` });
  }

  async resume(signal: AbortSignal): Promise<MultipartState | undefined> {
    // Before anything is read: a second run must never work on this transfer too.
    this.lock = await CheckpointLock.acquire(this.deps.checkpoints.lockPathFor(this.target.id), this.target.name, this.deps.now);
    this.source = await this.currentSource(signal);
    const { checkpoints } = this.deps;
    const { checkpoint, salvage } = await loadForResume(checkpoints, this.target.id, this.kind, (why) => this.warn(why));
    const cp = checkpoint as CP | undefined;
    if (!cp) {
      // A corrupt checkpoint's upload ID may still be readable: abort that upload rather than orphan its parts.
      const old = salvage?.upload;
      if (old && old.bucket === this.target.bucket && old.key === this.target.key) await this.abortOld(old.uploadId);
      return undefined;
    }
    if (cp.uploadId === undefined) {
      await this.abortOrphans(cp, signal);
      await checkpoints.remove(this.target.id, this.kind);
      return undefined;
    }
    const why = this.sourceChanged(cp.source) ?? this.layoutChanged(cp);
    if (why) {
      this.warn(why);
      await this.discard(cp);
      return undefined;
    }
    // A usable upload is never discarded for other options (the user may only have forgotten one, or the
    // SSE-C key), nor finished with them: its settings were fixed when it was created.
    checkSameObjectOptions(cp.object, this.target.object, { name: this.target.name, id: this.target.id });
    let serverParts: PartInfo[];
    try {
      serverParts = await this.deps.store.listParts(cp.destination.bucket, cp.destination.key, cp.uploadId, signal);
    } catch (err) {
      if (!isNoSuchUpload(err)) throw err;
      this.warn('the upload is gone from the server');
      await checkpoints.remove(this.target.id, this.kind);
      return undefined;
    }
    this.createdAt = cp.createdAt;
    this.state = { uploadId: cp.uploadId, partSize: cp.partSize, done: await this.reconcile(cp, serverParts) };
    return this.state;
  }

  private layoutChanged(cp: CP): string | undefined {
    if (cp.destination.bucket !== this.target.bucket || cp.destination.key !== this.target.key) return 'different destination';
    if (cp.partSize !== this.target.partSize) {
      return `part size differs (${formatSize(cp.partSize)} then, ${formatSize(this.target.partSize)} now)`;
    }
    return undefined;
  }

  /** A run killed between CreateMultipartUpload and its first save left uploads nobody knows: abort them. */
  private async abortOrphans(cp: CP, signal: AbortSignal): Promise<void> {
    const url = `s3://${this.target.bucket}/${this.target.key}`;
    let orphans;
    try {
      // Only after an interrupted run: the listing (and the validator it loads) costs a fresh transfer nothing.
      const { listCheckpoints } = await import('./inspect.js');
      const held = heldUploads(await listCheckpoints(this.deps.checkpoints.dir));
      orphans = await findOrphans(this.deps.store, cp, held, signal);
    } catch (err) {
      // Listing uploads may not be allowed (a least-privilege policy): say so, and go on without it.
      this.deps.emit({
        type: 'warning',
        message: `${url}: an interrupted run may have left an incomplete upload, and listing them failed (${(err as Error).message}); check with 's3xfer uploads ls'`,
      });
      return;
    }
    for (const u of orphans) {
      await this.abortOld(u.uploadId);
      this.deps.emit({ type: 'warning', message: `aborted upload ${u.uploadId} of ${url}: an interrupted run had started it before recording it` });
    }
  }

  /** Recorded before CreateMultipartUpload is sent: a kill right after it leaves a trace to clean up. */
  async beforeCreate(): Promise<void> {
    this.intentAt = this.deps.now().toISOString();
    this.createdAt = this.intentAt;
    await this.save();
  }

  /** CreateMultipartUpload was refused outright: no upload exists, the intent is moot. */
  async createFailed(): Promise<void> {
    await this.deps.checkpoints.remove(this.target.id, this.kind).catch(() => {});
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
    if (this.useless(cause)) {
      await this.deps.checkpoints.remove(this.target.id, this.kind).catch(() => {});
      return false;
    }
    await this.writer.flush();
    this.deps.emit({
      type: 'saved',
      kind: this.kind,
      source: this.target.name,
      checkpoint: this.target.id,
      partsDone: this.state?.done.size ?? 0,
      partsTotal: splitParts(this.target.size, this.target.partSize).length,
    });
    return true;
  }

  async completed(): Promise<void> {
    await this.writer.flush();
    await this.deps.checkpoints.remove(this.target.id, this.kind);
  }

  async release(): Promise<void> {
    await this.lock?.release();
  }

  /** Start over cleanly: abort the old server-side upload (never orphan it), drop the checkpoint. */
  private async discard(cp: CP): Promise<void> {
    if (cp.uploadId) await this.abortOld(cp.uploadId);
    await this.deps.checkpoints.remove(this.target.id, this.kind);
  }

  private async abortOld(uploadId: string): Promise<void> {
    try {
      await this.deps.store.abortMultipartUpload(this.target.bucket, this.target.key, uploadId, AbortSignal.timeout(10_000));
    } catch (err) {
      if (!isNoSuchUpload(err)) {
        this.deps.emit({ type: 'warning', message: `could not abort the old upload ${uploadId} of s3://${this.target.bucket}/${this.target.key}: ${(err as Error).message}` });
      }
    }
  }

  private async save(): Promise<void> {
    const state = this.state;
    const parts = [...(state?.done.values() ?? [])]
      .sort((a, b) => a.partNumber - b.partNumber)
      .map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag, crc32c: p.crc32c ?? '' }));
    const body = {
      version: CHECKPOINT_VERSION,
      id: this.target.id,
      kind: this.kind,
      source: this.source!,
      destination: { endpoint: this.deps.endpoint, bucket: this.target.bucket, key: this.target.key },
      ...(state ? { uploadId: state.uploadId } : {}),
      ...(this.intentAt ? { intentAt: this.intentAt } : {}),
      partSize: this.target.partSize,
      partCount: splitParts(this.target.size, this.target.partSize).length,
      parts,
      options: this.deps.options,
      object: this.target.object,
      createdAt: this.createdAt!,
      updatedAt: this.deps.now().toISOString(),
    };
    await this.deps.checkpoints.write(body as UploadCheckpoint | CopyCheckpoint);
  }
}
