import { formatS3 } from '../location.js';
import { splitParts, type CopyJob } from '../engine/model.js';
import type { PartInfo } from '../engine/store.js';
import { ObjectChangedError } from '../errors.js';
import type { CopyCheckpoint } from './schema.js';
import { checkpointId } from './store.js';
import { MultipartSession, type MultipartSessionDeps } from './multipart-session.js';
import { objectRecord } from './object-record.js';

/**
 * A `.ccp` checkpoint for one server-side multipart copy: the source is the
 * object as planned (bucket, key, version, ETag, size). Its bytes never pass
 * through us, so a part on the server counts when its size is right: every
 * UploadPartCopy was pinned to the source's ETag, and a changed source (another
 * ETag) discards the checkpoint before any part is trusted.
 */
export class CheckpointedCopy extends MultipartSession<CopyCheckpoint> {
  protected readonly kind = 'copy' as const;
  readonly id: string;

  constructor(
    private readonly job: CopyJob,
    deps: MultipartSessionDeps,
  ) {
    const from = formatS3(job.source.bucket, job.source.key);
    const id = checkpointId(from, formatS3(job.bucket, job.key), deps.endpoint);
    // A copy takes the source's headers and metadata; of the run's options, class, ACL and encryption.
    const s = deps.object?.settings;
    const object = objectRecord({ storageClass: s?.storageClass, acl: s?.acl, sse: s?.sse }, {}, deps.customerKey);
    super({ id, name: from, bucket: job.bucket, key: job.key, size: job.source.size, partSize: job.partSize!, object }, deps);
    this.id = id;
  }

  protected async currentSource(): Promise<CopyCheckpoint['source']> {
    const s = this.job.source;
    return { endpoint: this.deps.endpoint, bucket: s.bucket, key: s.key, ...(s.versionId ? { versionId: s.versionId } : {}), etag: s.etag, size: s.size, lastModifiedMs: s.lastModifiedMs };
  }

  protected sourceChanged(recorded: CopyCheckpoint['source']): string | undefined {
    const s = this.job.source;
    return recorded.etag !== s.etag || recorded.size !== s.size || recorded.versionId !== s.versionId
      ? `${formatS3(s.bucket, s.key)} changed on the server since the checkpoint (ETag or size)`
      : undefined;
  }

  protected useless(cause: unknown): boolean {
    return cause instanceof ObjectChangedError;
  }

  protected async reconcile(cp: CopyCheckpoint, serverParts: PartInfo[]): Promise<Map<number, PartInfo>> {
    const expected = new Map(splitParts(cp.source.size, cp.partSize).map((p) => [p.partNumber, p.size]));
    const done = new Map<number, PartInfo>();
    for (const sp of serverParts) {
      if (expected.get(sp.partNumber) === sp.size) done.set(sp.partNumber, { partNumber: sp.partNumber, size: sp.size, etag: sp.etag });
    }
    return done;
  }
}
