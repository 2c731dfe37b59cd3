import fs from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { formatS3 } from '../location.js';
import { splitParts, type UploadJob } from '../engine/model.js';
import { uint32Base64 } from '../engine/checksum.js';
import { readFull } from '../engine/local-file.js';
import type { PartInfo } from '../engine/store.js';
import { fsPath } from '../local-path.js';
import { ChangedSourceError, SuspectObjectError } from '../errors.js';
import type { UploadCheckpoint } from './schema.js';
import { checkpointId } from './store.js';
import { MultipartSession, type MultipartSessionDeps } from './multipart-session.js';
import { NO_OBJECT_OPTIONS, settingsFor } from '../engine/object-settings.js';
import { objectRecord } from './object-record.js';

export type UploadSessionDeps = MultipartSessionDeps;

const PIECE = 1024 * 1024;

/**
 * A `.ucp` checkpoint for one multipart upload of a local file: the source is
 * the file (size, mtime in ns, inode); a part on the server counts only when its
 * CRC32C is the local bytes'.
 */
export class CheckpointedUpload extends MultipartSession<UploadCheckpoint> {
  protected readonly kind = 'upload' as const;
  readonly id: string;

  constructor(
    private readonly job: UploadJob,
    deps: UploadSessionDeps,
  ) {
    const url = formatS3(job.bucket, job.key);
    const id = checkpointId(job.path, url, deps.endpoint);
    const options = deps.object ?? NO_OBJECT_OPTIONS;
    const object = objectRecord(settingsFor(options, job.key), options.metadata, deps.customerKey);
    super({ id, name: job.path, bucket: job.bucket, key: job.key, size: job.size, partSize: job.partSize!, object }, deps);
    this.id = id;
  }

  private current?: UploadCheckpoint['source'];

  protected async currentSource(): Promise<UploadCheckpoint['source']> {
    const st = await fs.stat(fsPath(this.job.path), { bigint: true });
    this.current = { path: this.job.path, size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ino: Number(st.ino) };
    return this.current;
  }

  protected sourceChanged(recorded: UploadCheckpoint['source']): string | undefined {
    const now = this.current!;
    return recorded.size !== now.size || recorded.mtimeNs !== now.mtimeNs ? `${this.job.path} changed since the checkpoint (size or mtime)` : undefined;
  }

  protected useless(cause: unknown): boolean {
    return cause instanceof ChangedSourceError || cause instanceof SuspectObjectError;
  }

  /**
   * A part counts as done only when the server has it with the expected size
   * and a checksum (or the ETag we recorded for those bytes) that matches the
   * local bytes. The checkpoint may lag the server by the parts in flight.
   */
  protected async reconcile(cp: UploadCheckpoint, serverParts: PartInfo[]): Promise<Map<number, PartInfo>> {
    const expected = new Map(splitParts(cp.source.size, cp.partSize).map((p) => [p.partNumber, p]));
    const recorded = new Map(cp.parts.map((p) => [p.partNumber, p]));
    const done = new Map<number, PartInfo>();
    const fh = await fs.open(fsPath(this.job.path), 'r');
    // One 1 MiB buffer for the whole check, whatever the part size.
    const buf = Buffer.allocUnsafe(Math.min(PIECE, cp.partSize));
    try {
      for (const sp of serverParts) {
        const want = expected.get(sp.partNumber);
        if (!want || sp.size !== want.size) continue;
        let crc = 0;
        for (let at = 0; at < want.size; at += buf.length) {
          crc = crc32c(await readFull(fh, buf.subarray(0, Math.min(buf.length, want.size - at)), want.offset + at, this.job.path), crc);
        }
        const local = uint32Base64(crc);
        const rec = recorded.get(sp.partNumber);
        const matches = sp.crc32c ? sp.crc32c === local : rec !== undefined && rec.etag === sp.etag && rec.crc32c === local;
        if (matches) done.set(sp.partNumber, { partNumber: sp.partNumber, size: sp.size, etag: sp.etag, crc32c: local });
      }
    } finally {
      await fh.close();
    }
    return done;
  }
}
