import fs from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import path from 'node:path';
import { ObjectChangedError, TransferError } from '../errors.js';
import { formatS3 } from '../location.js';
import { splitParts, type DownloadJob } from './model.js';
import type { EngineContext } from './context.js';
import { verifyDownload } from './verify.js';
import { fsPath } from '../local-path.js';
import { tempPathFor } from '../temp-name.js';
import { fetchRanges, type Fetched, type RangeProgress } from './ranged-get.js';
import { isPreconditionFailed } from './s3-errors.js';

export type { RangeProgress } from './ranged-get.js';


/** Where a download stands; what a `.dcp` checkpoint saves. */
export interface DownloadState {
  tempPath: string;
  partSize: number;
  chunkSize: number;
  /** By part number; parts not yet started are absent. */
  ranges: Map<number, RangeProgress>;
}

/** Hooks a checkpoint provides; without them a failed download removes its temp file. */
export interface DownloadSession {
  /** Progress to resume (the temp file already checked against it), or undefined to start afresh. */
  resume(signal: AbortSignal): Promise<DownloadState | undefined>;
  started(state: DownloadState): Promise<void>;
  chunkDone(state: DownloadState): void;
  /** The download stopped; true keeps the temp file for a rerun. */
  keepOnFailure(state: DownloadState, err: unknown): Promise<boolean>;
  completed(): Promise<void>;
  /** The transfer is over, whatever happened: let other runs have it. */
  release(): Promise<void>;
}



/**
 * Fetch an object into a temp file and rename it into place when complete and
 * verified: the destination path never holds a partial file.
 */
export async function downloadObject(ctx: EngineContext, job: DownloadJob, session?: DownloadSession): Promise<{ bytesSent: number; mtimeMs: number }> {
  try {
    return await fetchToFile(ctx, job, session);
  } finally {
    await session?.release();
  }
}

async function fetchToFile(ctx: EngineContext, job: DownloadJob, session?: DownloadSession): Promise<{ bytesSent: number; mtimeMs: number }> {
  const url = formatS3(job.bucket, job.key);
  const dir = path.dirname(job.path);
  await ctx.destination.ensureDir(job.root, dir);
  const ranged = job.partSize !== undefined;
  const parts = ranged ? splitParts(job.size, job.partSize!) : [{ partNumber: 1, offset: 0, size: job.size }];
  const resumed = await session?.resume(ctx.signal);
  const state = resumed ?? { tempPath: tempPathFor(job.path), partSize: job.partSize ?? job.size, chunkSize: job.chunkSize, ranges: new Map() };
  // Checked at the moment of writing: a link planted since the plan must not lead outside the root.
  await ctx.destination.assertInside(job.root, dir);
  await ctx.destination.removeStaleTemps(job.path, state.tempPath);
  // A new temp file is created exclusively and a resumed one never through a link.
  const flags = resumed ? fsc.O_RDWR | fsc.O_NOFOLLOW : fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL;
  const fh = await fs.open(fsPath(state.tempPath), flags, 0o666);
  await ctx.destination.assertOpenedInside(job.root, dir, fh.fd, !resumed).catch(async (err: unknown) => {
    await fh.close();
    throw err;
  });
  let closed = false;
  let fetched: Fetched;
  let mtime: Date;
  try {
    if (resumed) ctx.emit({ type: 'progress', id: job.id, bytes: [...state.ranges.values()].reduce((n, r) => n + r.bytesDone, 0) });
    else await session?.started(state);
    const onChunk = (n: number) => {
      session?.chunkDone(state);
      ctx.emit({ type: 'progress', id: job.id, bytes: n });
    };
    fetched = await fetchRanges(ctx, { job, fh, parts, ranges: state.ranges, chunkSize: state.chunkSize, fresh: !resumed, onChunk }).catch((err: unknown) => {
      throw isPreconditionFailed(err) ? new ObjectChangedError(url) : err;
    });
    // Every range ended exactly at its end (checked as each finished): the file holds job.size bytes.
    const got = parts.reduce((n, p) => n + (state.ranges.get(p.partNumber)?.bytesDone ?? 0), 0);
    if (got !== job.size) throw new TransferError(`${url}: got ${got} bytes, expected ${job.size}; rerun to fetch it again`);
    const rangeCrcs = parts.map((p) => state.ranges.get(p.partNumber)?.crc ?? 0);
    const chunkCrcs = parts.map((p) => state.ranges.get(p.partNumber)?.chunkCrcs ?? []);
    await verifyDownload(fh, job, { ...fetched, rangeCrcs, chunkCrcs, chunkSize: state.chunkSize, partSize: state.partSize, ranged }, ctx.store, ctx.signal);
    if (ctx.fsync) await fh.sync();
    await fh.close();
    closed = true;
    await ctx.destination.assertInside(job.root, dir);
    await fs.rename(fsPath(state.tempPath), fsPath(job.path));
    mtime = new Date(fetched.metadataMtime ?? job.mtimeMs ?? job.lastModifiedMs);
    await fs.utimes(fsPath(job.path), mtime, mtime);
  } catch (err) {
    if (!closed) await fh.close().catch(() => {});
    const keep = session ? await session.keepOnFailure(state, err).catch(() => false) : false;
    if (!keep) await fs.rm(fsPath(state.tempPath), { force: true });
    throw err;
  }
  // The file is in place: a checkpoint that cannot be removed is a warning, not a failure.
  await session?.completed().catch((err: unknown) =>
    ctx.emit({ type: 'warning', message: `${job.path} was downloaded, but its checkpoint could not be removed: ${(err as Error).message}` }),
  );
  return { bytesSent: fetched.bytesSent, mtimeMs: mtime.getTime() };
}
