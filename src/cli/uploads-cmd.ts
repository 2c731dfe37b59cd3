import { ExitCode, UsageError, describeError } from '../errors.js';
import { formatAge } from '../duration.js';
import { formatS3, parseLocation } from '../location.js';
import { formatSize } from '../size.js';
import { listCheckpoints } from '../checkpoint/inspect.js';
import { explainS3Error } from '../engine/s3-errors.js';
import { formatTable } from '../report/table.js';
import type { Io } from './io.js';
import type { CommonOptions } from './args.js';
import { connect, type Connected } from './connect.js';
import pLimit from 'p-limit';
import path from 'node:path';
import { orphansOf } from '../checkpoint/orphans.js';
import type { MultipartCheckpoint } from '../checkpoint/schema.js';
import { isNoSuchUpload } from '../engine/s3-errors.js';
import { discardCheckpoint } from '../checkpoint/discard.js';
import { CheckpointStore } from '../checkpoint/store.js';
import type { CheckpointEntry } from '../checkpoint/inspect.js';

type Deps = Io & { signal: AbortSignal };

interface OpenUpload {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: string;
  ageMs: number;
  parts: number;
  size: number;
  /** The checkpoint that still needs this upload, if any. */
  checkpoint?: string | undefined;
  checkpointEntry?: CheckpointEntry | undefined;
  /** Created by an s3xfer run that was killed before it could record it (that checkpoint's id). */
  orphanedBy?: string | undefined;
}

async function openUploads(url: string, opts: CommonOptions, conn: Connected, io: Deps): Promise<OpenUpload[]> {
  const loc = parseLocation(url, io.cwd);
  if (loc.kind !== 's3') throw new UsageError(`'${url}' is not an S3 URL: write s3://bucket or s3://bucket/prefix`);
  const needed = new Map<string, CheckpointEntry>();
  const intents: { id: string; cp: MultipartCheckpoint }[] = [];
  if (opts.checkpointDir) {
    for (const e of await listCheckpoints(path.resolve(io.cwd, opts.checkpointDir))) {
      const cp = e.checkpoint;
      if (cp?.kind !== 'upload' && cp?.kind !== 'copy') continue;
      if (cp.uploadId) needed.set(cp.uploadId, e);
      else intents.push({ id: e.id, cp });
    }
  }
  const now = Date.now();
  let uploads;
  try {
    uploads = await conn.store.listUploads(loc.bucket, io.signal);
  } catch (err) {
    throw explainS3Error(err, { url, endpoint: conn.endpoint });
  }
  const under = uploads.filter((u) => u.key.startsWith(loc.key));
  const orphans = new Map<string, string>();
  for (const { id, cp } of intents) for (const u of orphansOf(cp, under, new Set(needed.keys()))) orphans.set(u.uploadId, id);
  const limit = pLimit(8);
  const listed = await Promise.all(
    under.map((u) => limit(async () => {
      let parts;
      try {
        parts = await conn.store.listParts(loc.bucket, u.key, u.uploadId, io.signal);
      } catch (err) {
        // Completed or aborted since the listing: no longer open.
        if (isNoSuchUpload(err)) return undefined;
        throw err;
      }
      const cp = needed.get(u.uploadId);
      return {
        bucket: loc.bucket,
        key: u.key,
        uploadId: u.uploadId,
        initiated: new Date(u.initiatedMs).toISOString(),
        ageMs: now - u.initiatedMs,
        parts: parts.length,
        size: parts.reduce((n, p) => n + p.size, 0),
        checkpoint: cp?.id,
        checkpointEntry: cp,
        orphanedBy: orphans.get(u.uploadId),
      };
    })),
  );
  return listed.filter((u) => u !== undefined);
}

export async function uploadsLs(opts: CommonOptions, url: string, io: Deps): Promise<number> {
  const conn = await connect(opts, io.env);
  try {
    const list = await openUploads(url, opts, conn, io);
    if (opts.json) {
      for (const { checkpointEntry: _e, ...u } of list) io.stdout.write(`${JSON.stringify(u)}\n`);
      return ExitCode.ok;
    }
    if (list.length === 0) {
      io.stdout.write(`no incomplete uploads under ${url}\n`);
      return ExitCode.ok;
    }
    const rows = list.map((u) => [
      formatS3(u.bucket, u.key),
      u.uploadId.length > 24 ? `${u.uploadId.slice(0, 24)}…` : u.uploadId,
      formatSize(u.size),
      String(u.parts),
      formatAge(u.ageMs),
      u.checkpoint
        ? `needed by checkpoint ${u.checkpoint}`
        : u.orphanedBy
          ? `left by a killed s3xfer run (checkpoint ${u.orphanedBy}); no checkpoint holds it`
          : '',
    ]);
    io.stdout.write(`${formatTable(['UPLOAD', 'ID', 'SIZE', 'PARTS', 'AGE', 'NOTE'], rows)}\n`);
    return ExitCode.ok;
  } finally {
    conn.client.destroy();
  }
}

/** Abort incomplete uploads; those a checkpoint still needs only with --force (and then the checkpoint goes too). */
export async function uploadsAbort(
  opts: CommonOptions,
  sel: { url: string; olderThanMs: number | undefined; dryRun: boolean; force: boolean },
  io: Deps,
): Promise<number> {
  const conn = await connect(opts, io.env);
  let failed = 0;
  try {
    const list = (await openUploads(sel.url, opts, conn, io)).filter((u) => sel.olderThanMs === undefined || u.ageMs > sel.olderThanMs);
    for (const u of list) {
      const name = `${formatS3(u.bucket, u.key)} (upload ${u.uploadId}, ${u.parts} parts, ${formatSize(u.size)}, ${formatAge(u.ageMs)} old)`;
      if (u.checkpoint && !sel.force) {
        io.stdout.write(`kept ${name}: checkpoint ${u.checkpoint} still needs it (resume it, or use --force)\n`);
        continue;
      }
      if (sel.dryRun) {
        io.stdout.write(`(dry run) would abort ${name}\n`);
        continue;
      }
      try {
        if (u.checkpointEntry) {
          // The checkpoint goes with its upload, under its lock: never while a run works on it.
          const checkpoints = new CheckpointStore(path.dirname(u.checkpointEntry.file));
          await discardCheckpoint(checkpoints, u.checkpointEntry, { store: async () => conn.store, held: new Set(), signal: io.signal });
        } else {
          await conn.store.abortMultipartUpload(u.bucket, u.key, u.uploadId, io.signal);
        }
        io.stdout.write(`aborted ${name}${u.checkpoint ? `; removed checkpoint ${u.checkpoint}` : ''}\n`);
      } catch (err) {
        failed++;
        io.stderr.write(`error: could not abort ${name}: ${describeError(err)}\n`);
      }
    }
    if (list.length === 0) io.stdout.write(`no incomplete uploads under ${sel.url}${sel.olderThanMs === undefined ? '' : ' older than that'}\n`);
    return failed > 0 ? ExitCode.partial : ExitCode.ok;
  } finally {
    conn.client.destroy();
  }
}
