import { formatS3 } from '../location.js';
import { splitParts, type CopyJob } from '../engine/model.js';
import type { PartInfo } from '../engine/store.js';
import { ObjectChangedError, VerificationError } from '../errors.js';
import type { CopyCheckpoint } from './schema.js';
import { checkpointId } from './store.js';
import { MultipartSession, type MultipartSessionDeps } from './multipart-session.js';
import { objectRecord } from './object-record.js';

/**
 * A `.ccp` checkpoint for one multipart copy: the source is the object as
 * planned (endpoint, bucket, key, version, ETag, size). A part on the server
 * counts when its size is right: every UploadPartCopy, and every GET of a
 * streamed copy, was pinned to the source's ETag, and a changed source (another
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
    // A source on another endpoint is another object than the same name on this one.
    const sourceName = job.sourceEndpoint !== undefined ? `${job.sourceEndpoint} ${from}` : from;
    const id = checkpointId(sourceName, formatS3(job.bucket, job.key), deps.endpoint);
    // A copy takes the source's headers and metadata (or with REPLACE the run's); of the run's other options, class, ACL and encryption.
    const s = deps.object?.settings;
    const replaced = job.replace ? { headers: job.replace.settings.headers } : {};
    const object = objectRecord({ ...replaced, storageClass: s?.storageClass, acl: s?.acl, sse: s?.sse }, job.replace?.metadata ?? {}, deps.customerKey);
    super({ id, name: from, bucket: job.bucket, key: job.key, size: job.source.size, partSize: job.partSize!, object }, deps);
    this.id = id;
  }

  protected async currentSource(): Promise<CopyCheckpoint['source']> {
    const s = this.job.source;
    return { endpoint: this.job.sourceEndpoint ?? this.deps.endpoint, bucket: s.bucket, key: s.key, ...(s.versionId ? { versionId: s.versionId } : {}), etag: s.etag, size: s.size, lastModifiedMs: s.lastModifiedMs };
  }

  protected sourceChanged(recorded: CopyCheckpoint['source']): string | undefined {
    const s = this.job.source;
    return recorded.etag !== s.etag || recorded.size !== s.size || recorded.versionId !== s.versionId
      ? `${formatS3(s.bucket, s.key)} changed on the server since the checkpoint (ETag or size)`
      : undefined;
  }

  protected useless(cause: unknown): boolean {
    // Parts of another version, or bytes that do not make the source's checksum: nothing to resume.
    return cause instanceof ObjectChangedError || cause instanceof VerificationError;
  }

  protected async reconcile(cp: CopyCheckpoint, serverParts: PartInfo[]): Promise<Map<number, PartInfo>> {
    const expected = new Map(splitParts(cp.source.size, cp.partSize).map((p) => [p.partNumber, p.size]));
    const done = new Map<number, PartInfo>();
    // A streamed part was sent with our CRC32C, which the server checked: it must have one, kept for the composite.
    const streamed = this.job.sourceEndpoint !== undefined;
    for (const sp of serverParts) {
      if (expected.get(sp.partNumber) !== sp.size || (streamed && !sp.crc32c)) continue;
      done.set(sp.partNumber, { partNumber: sp.partNumber, size: sp.size, etag: sp.etag, ...(streamed ? { crc32c: sp.crc32c } : {}) });
    }
    return done;
  }
}
