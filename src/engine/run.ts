import { anySignal } from './signals.js';
import { FatalError, OutputClosedError, isAbort, describeError, named } from '../errors.js';
import { formatS3 } from '../location.js';
import { encodeMtime, type CopyJob, type DownloadJob, type Plan, type PlanItem, type UploadJob } from './model.js';
import { TreeTally } from './tally.js';
import { copyObject } from './copy.js';
import { uploadStream } from './upload-stream.js';
import { metadataFor, NO_OBJECT_OPTIONS, settingsFor } from './object-settings.js';
import type { EngineContext } from './context.js';
import { downloadObject, type DownloadSession } from './download.js';
import { uploadFile, type UploadResult, type UploadSession } from './upload.js';
import { explainS3Error } from './s3-errors.js';
import { isFromSource } from './source-side.js';
import { downloadToStdout } from './to-stdout.js';

export interface RunOptions {
  /** When the command started (ms, ctx.now's clock): the summary's time is the run's wall time, planning included. */
  startedAt?: number | undefined;
  /** Files in flight at once. */
  jobs: number;
  dryRun: boolean;
  /** Part size for standard input (unknown length). */
  streamPartSize: number;
  stdin: NodeJS.ReadableStream;
  /** Where `cp s3://b/key -` writes the object's bytes. */
  stdout?: NodeJS.WritableStream | undefined;
  /** A checkpoint session for a multipart upload, when checkpoints are on. */
  uploadSession?: ((job: UploadJob) => UploadSession | undefined) | undefined;
  /** A checkpoint session for a ranged download, when checkpoints are on. */
  downloadSession?: ((job: DownloadJob) => DownloadSession | undefined) | undefined;
  /** A checkpoint session for a multipart server-side copy, when checkpoints are on. */
  copySession?: ((job: CopyJob) => UploadSession | undefined) | undefined;
  /** The endpoint in use, for messages about it (TLS, connection). */
  endpoint?: string | undefined;
  /** An S3 → S3 copy's source endpoint, when it has its own connection. */
  sourceEndpoint?: string | undefined;
  /** An SSE-C key was given (for what a refusal means). */
  customerKey?: boolean | undefined;
}

export interface RunSummary {
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  ms: number;
  interrupted: boolean;
  /** An error no other transfer can escape (missing bucket, rejected credentials, no server): the run stopped. */
  fatal?: FatalError | undefined;
}

/**
 * Carry out a plan as it streams in: files in parallel (at most `jobs` in flight), failures
 * reported and counted, the rest goes on. The plan is pulled only when a job slot is free,
 * so a walk or listing never runs far ahead of the transfers (flat memory on any tree).
 */
export async function runPlan(outer: EngineContext, plan: Plan, opts: RunOptions): Promise<RunSummary> {
  // A fatal error stops the transfers still to come and those in flight, as an interrupt does.
  const stopAll = new AbortController();
  const ctx: EngineContext = { ...outer, signal: anySignal(outer.signal, stopAll.signal) };
  const started = opts.startedAt ?? ctx.now();
  const summary: RunSummary = { copied: 0, skipped: 0, failed: 0, bytes: 0, ms: 0, interrupted: false };
  const tally = new TreeTally(ctx, summary, started);
  const run: RunState = { opts, summary, stopAll };
  let nextId = 1;
  const running = new Set<Promise<void>>();
  // Woken when a transfer ends. Not Promise.race over those running: each race would add a reaction
  // to a long transfer's promise, piling up one per file that passes it.
  let slotFree: (() => void) | undefined;
  let planError: unknown;
  try {
    for await (const item of plan.items) {
      if (ctx.signal.aborted) break;
      if (item.action === 'warning') {
        ctx.emit({ type: 'warning', message: item.message });
        continue;
      }
      tally.found(item);
      if (item.action === 'skip' || item.action === 'refuse' || opts.dryRun) {
        reportAtOnce(ctx, item, summary);
      } else {
        const p = runItem(ctx, item, nextId++, run).finally(() => {
          running.delete(p);
          slotFree?.();
        });
        running.add(p);
        // Back-pressure: nothing more is pulled from the plan while every job slot is busy.
        while (running.size >= opts.jobs) await new Promise<void>((resolve) => (slotFree = resolve));
      }
      tally.tick(false);
    }
  } catch (err) {
    if (!isAbort(err) && !ctx.signal.aborted) planError = err;
  }
  tally.tick(true); // everything is found: the total is known, an ETA can be given
  await Promise.all(running);
  tally.tick(true);
  // A listing that failed half-way (a missing bucket, refused credentials) stops the run as before it started.
  if (planError) throw planError;
  summary.interrupted = outer.signal.aborted;
  summary.ms = ctx.now() - started;
  ctx.emit({ type: 'summary', ...summary });
  return summary;
}

/** Skips, refusals and (in a dry run) transfers need no job slot: reported on the spot. */
function reportAtOnce(ctx: EngineContext, item: Exclude<PlanItem, { action: 'warning' }>, summary: RunSummary): void {
  if (item.action === 'skip') {
    summary.skipped++;
    ctx.emit({ type: 'skip', source: item.source, destination: item.destination, reason: item.reason });
  } else if (item.action === 'refuse') {
    summary.failed++;
    ctx.emit({ type: 'error', source: item.source, destination: item.destination, message: named(item.message, item.source, item.destination) });
  } else {
    const { source, destination, size } = describeItem(item);
    ctx.emit({ type: 'would-copy', source, destination, size, reason: 'reason' in item ? item.reason : 'copy' });
    if (item.action === 'download') item.settle?.(undefined);
  }
}

function describeItem(item: Transfer) {
  switch (item.action) {
    case 'upload':
      return { source: item.job.path, destination: formatS3(item.job.bucket, item.job.key), size: item.job.size };
    case 'download':
      return { source: formatS3(item.job.bucket, item.job.key), destination: item.job.path, size: item.job.size };
    case 'copy':
      return { source: formatS3(item.job.source.bucket, item.job.source.key), destination: formatS3(item.job.bucket, item.job.key), size: item.job.source.size };
    case 'stdin':
      return { source: '-', destination: formatS3(item.bucket, item.key), size: 0 };
    case 'stdout':
      return { source: formatS3(item.job.bucket, item.job.key), destination: '-', size: item.job.size };
  }
}

type Transfer = Exclude<PlanItem, { action: 'skip' | 'refuse' | 'warning' }>;

/** What every transfer of a run shares. */
interface RunState {
  opts: RunOptions;
  summary: RunSummary;
  /** Aborted by the first fatal error. */
  stopAll: AbortController;
}

async function runItem(ctx: EngineContext, item: Transfer, id: number, run: RunState): Promise<void> {
  const settle = item.action === 'download' ? item.settle : undefined;
  let mtimeMs: number | undefined;
  try {
    if (!ctx.signal.aborted) mtimeMs = await transfer(ctx, item, id, run);
  } finally {
    settle?.(mtimeMs);
  }
}

/** One transfer, reported; returns the mtime a downloaded file was given. */
async function transfer(ctx: EngineContext, item: Transfer, id: number, { opts, summary, stopAll }: RunState): Promise<number | undefined> {
  const { source, destination, size } = describeItem(item);
  const t0 = ctx.now();
  ctx.emit({ type: 'start', id, source, destination, size, multipart: 'job' in item && 'partSize' in item.job && item.job.partSize !== undefined });
  try {
    let result: UploadResult & { size?: number; mtimeMs?: number };
    if (item.action === 'upload') {
      const job = { ...item.job, id };
      result = await uploadFile(ctx, job, opts.uploadSession?.(job));
    } else if (item.action === 'download') {
      const job = { ...item.job, id };
      result = await downloadObject(ctx, job, opts.downloadSession?.(job));
    } else if (item.action === 'copy') {
      const job = { ...item.job, id };
      result = await copyObject(ctx, job, opts.copySession?.(job));
    } else if (item.action === 'stdout') {
      if (!opts.stdout) throw new Error('no standard output to write to');
      result = await downloadToStdout(ctx, { ...item.job, id }, opts.stdout);
    } else {
      const object = ctx.object ?? NO_OBJECT_OPTIONS;
      const metadata = metadataFor(object, { mtime: encodeMtime(ctx.now()) });
      const target = { id, bucket: item.bucket, key: item.key, metadata, settings: settingsFor(object, item.key), partSize: opts.streamPartSize };
      const out = await uploadStream(ctx, target, opts.stdin as AsyncIterable<Buffer>);
      result = { bytesSent: out.size, size: out.size };
    }
    summary.copied++;
    summary.bytes += result.bytesSent;
    ctx.emit({
      type: 'done',
      id,
      source,
      destination,
      size: result.size ?? size,
      bytesSent: result.bytesSent,
      ms: ctx.now() - t0,
      resumed: result.resumed,
    });
    return result.mtimeMs;
  } catch (err) {
    // A reader that went away (`| head -c 100`) took what it wanted: nothing to report.
    if (isAbort(err) || ctx.signal.aborted || err instanceof OutputClosedError) return undefined;
    const [url, local] =
      item.action === 'stdout'
        ? [source, undefined]
        : item.action === 'download'
          ? [source, destination]
          : item.action === 'copy'
            ? [isFromSource(err) ? source : destination, undefined]
            : [destination, source];
    const explained = explainS3Error(err, { url, local, endpoint: opts.endpoint, sourceEndpoint: opts.sourceEndpoint, customerKey: opts.customerKey });
    if (explained instanceof FatalError) {
      summary.fatal ??= explained;
      stopAll.abort(explained);
      return undefined;
    }
    summary.failed++;
    ctx.emit({ type: 'error', id, source, destination, message: named(describeError(explained), url, ...(local ? [local] : [])) });
    return undefined;
  }
}
