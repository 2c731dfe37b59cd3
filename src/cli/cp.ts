import { ExitCode } from '../errors.js';
import { parseLocation } from '../location.js';
import { compileFilter, type PathFilter } from '../plan/filter.js';
import { inShard, type Shard } from '../plan/shard.js';
import { ShareCounter } from '../report/share.js';
import { planCopy, type PlanOptions } from '../plan/plan.js';
import { withWarning } from '../engine/model.js';
import { runPlan, type RunSummary } from '../engine/run.js';
import { explainS3Error } from '../engine/s3-errors.js';
import { isFromSource } from '../engine/source-side.js';
import { createReporter, type Reporter } from '../report/reporter.js';
import type { EngineContext } from '../engine/context.js';
import type { Io } from './io.js';
import type { CpOptions } from './args.js';
import type { ObjectOptions } from '../engine/object-settings.js';
import type { Emit, TransferEvent } from '../report/events.js';
import { connect, connectSource, recordedConnection, type SourceConnected } from './connect.js';
import { checkCopyFlags, recordedCopy } from './copy-options.js';
import { BufferBudget } from '../engine/memory.js';
import { Destination } from '../engine/destination.js';
import { Bandwidth } from '../engine/bandwidth.js';
import { stat } from 'node:fs/promises';
import { fileId } from '../plan/walk.js';
import path from 'node:path';
import os from 'node:os';
import { DEFAULTS } from './args.js';
import { mtimeCachePath } from '../plan/mtime-cache.js';
import { assertTree, syncDeletions } from './sync-delete.js';

/** `s3xfer cp`: resolve, plan, run, report. Returns the exit code. */
export async function runCp(opts: CpOptions, io: Io & { signal: AbortSignal }): Promise<number> {
  const startedAt = Date.now();
  const src = parseLocation(opts.source, io.cwd, opts.encodedPaths);
  const dst = parseLocation(opts.destination, io.cwd, opts.encodedPaths);
  checkCopyFlags(opts, src, dst);
  // `cp s3://b/key -`: the object's bytes are all that goes to stdout; lines and --json events go to stderr.
  const toStdout = dst.kind === 'stdin';
  if (toStdout) io.claimStdout?.();
  const sockets = Math.max(opts.parallel * opts.jobs, 16);
  const conn = await connect(opts, io.env, sockets);
  const { client, store, endpoint } = conn;
  const source = await connectSource(opts, conn, io.env, sockets).catch((err: unknown) => {
    client.destroy();
    throw err;
  });
  const reporter = createReporter({
    json: opts.json,
    progress: opts.progress && !opts.json && !opts.dryRun && Boolean(io.stderr.isTTY) && (toStdout || Boolean(io.stdout.isTTY)),
    stdout: toStdout ? io.stderr : io.stdout,
    stderr: io.stderr,
  });
  const saved: Saved[] = [];
  const share = opts.shard ? new ShareCounter(opts.shard) : undefined;
  const emit: Emit = (e) => {
    if (e.type === 'saved') saved.push(e);
    if (share && e.type === 'summary') reporter.emit(share.event());
    share?.observe(e);
    reporter.emit(e);
  };
  // Standard output cannot be resumed across runs (what was written cannot be found again): no checkpoint.
  const checkpointDir = opts.checkpointDir && !toStdout ? path.resolve(io.cwd, opts.checkpointDir) : undefined;
  const object = await withContentTypes(opts.object, src.kind !== 's3' && dst.kind === 's3');
  const sessions = checkpointDir
    ? (await import('../checkpoint/sessions.js')).checkpointSessions(checkpointDir, {
        store,
        emit,
        endpoint,
        now: () => new Date(),
        options: { parallel: opts.parallel, retries: opts.retries, ...recordedConnection(opts, conn, io.env), ...recordedCopy(opts, source) },
        object,
        customerKey: opts.customerKey,
      })
    : undefined;
  const checkpoints = sessions?.checkpoints;
  try {
    if (checkpoints && !opts.dryRun) await checkpoints.prepare();
    const explain = (err: unknown) => {
      const url = src.kind === 's3' && (!source || isFromSource(err)) ? opts.source : opts.destination;
      throw explainS3Error(err, { url, endpoint, sourceEndpoint: source?.endpoint, customerKey: opts.customerKey !== undefined });
    };
    const mtimeCacheFile = (bucket: string, prefix: string, root: string) =>
      mtimeCachePath(io.env, os.homedir(), { endpoint: endpoint ?? 'default', bucket, prefix, root });
    const planOpts = await planOptions(opts, checkpointDir, startedAt, source);
    const deps = { store, sourceStore: source?.store, signal: io.signal, mtimeCacheFile, aliasesLanded: new Set<string>() };
    if (opts.deleteExtra) await assertTree(src);
    let plan = await planCopy(src, dst, planOpts, deps).catch(explain);
    // Filters choose among the files of a tree; a single file named on the command line is copied anyway.
    if (!opts.recursive && opts.filterFlags) {
      plan = withWarning(plan, '--include/--exclude and the size and time filters apply to trees (-r); the single source named is copied as asked');
    }
    const ctx: EngineContext = {
      store,
      sourceStore: source?.store,
      signal: io.signal,
      emit,
      retry: { attempts: opts.retries, baseDelayMs: 200, maxDelayMs: 10_000 },
      parallel: opts.parallel,
      now: () => Date.now(),
      fsync: opts.fsync,
      object,
      memory: new BufferBudget(DEFAULTS.memoryBudget),
      destination: new Destination(),
      bandwidth: new Bandwidth(opts.bwlimit),
    };
    let complete = false;
    const summary = await runPlan(ctx, plan, {
      startedAt,
      jobs: opts.jobs,
      dryRun: opts.dryRun,
      streamPartSize: opts.partSize ?? DEFAULTS.partSize,
      stdin: io.stdin,
      stdout: io.stdout,
      uploadSession: sessions?.uploadSession,
      downloadSession: sessions?.downloadSession,
      copySession: sessions?.copySession,
      endpoint,
      sourceEndpoint: source?.endpoint,
      customerKey: opts.customerKey !== undefined,
    })
      .then((s) => {
        complete = !s.interrupted && !s.fatal;
        return s;
      }, explain)
      .finally(() => plan.finish?.(complete));
    if (toStdout && summary.interrupted) {
      reporter.message('interrupted — standard output holds only the first part of the object; run the command again for all of it');
      return ExitCode.interrupted;
    }
    const deletions = opts.deleteExtra ? await syncDeletions({ ctx, summary, src, dst, opts: planOpts, deps, dryRun: opts.dryRun }).catch(explain) : undefined;
    // Ctrl-C during the deletions: they stopped where they were; say so, as for the copies.
    if (deletions && io.signal.aborted) summary.interrupted = true;
    reporter.close();
    const code = exitCodeOf(summary, reporter, saved, checkpoints !== undefined);
    return code === ExitCode.ok && deletions && deletions.failed > 0 ? ExitCode.partial : code;
  } finally {
    reporter.close();
    client.destroy();
    source?.client.destroy();
  }
}

type Saved = Extract<TransferEvent, { type: 'saved' }>;

/** Content-Type guesses (mime-db) are loaded only when uploads will make them. */
async function withContentTypes(object: ObjectOptions, uploads: boolean): Promise<ObjectOptions> {
  if (!uploads || !object.guessContentType || object.settings.headers?.contentType !== undefined) return object;
  const { default: mime } = await import('mime');
  return { ...object, typeOf: (name) => mime.getType(name) };
}

async function planOptions(opts: CpOptions, checkpointDir: string | undefined, nowMs: number, source: SourceConnected | undefined): Promise<PlanOptions> {
  return {
    sourceEndpoint: source?.streamed ? source.endpoint : undefined,
    sourceOnOtherServer: source?.otherServer ?? false,
    // REPLACE: the run's --metadata and header flags (no guessing from the key), none of the source's.
    replace: opts.metadataDirective === 'REPLACE' ? { metadata: opts.object.metadata, settings: { headers: opts.object.settings.headers ?? {} } } : undefined,
    recursive: opts.recursive,
    update: opts.update,
    filter: withShard(compileFilter(opts.filters, opts.bounds, nowMs), opts.shard),
    versionId: opts.versionId,
    bigfileThreshold: opts.bigfileThreshold,
    partSize: opts.partSize,
    defaultPartSize: DEFAULTS.partSize,
    defaultCopyPartSize: DEFAULTS.copyPartSize,
    chunkSize: opts.chunkSize,
    skipCompleted: checkpointDir !== undefined,
    dryRun: opts.dryRun,
    // Our own checkpoints (with their upload IDs) are never uploaded, even from inside the tree.
    skipDirs: checkpointDir ? await dirIds(checkpointDir) : undefined,
  };
}

/** What the run's outcome means for the exit code, with the one line a rerun needs. */
function exitCodeOf(summary: RunSummary, reporter: Reporter, saved: Saved[], checkpointsOn: boolean): number {
  if (summary.fatal) throw summary.fatal;
  if (summary.interrupted) {
    reporter.message(`interrupted — ${resumeHint(saved, checkpointsOn)}`);
    return ExitCode.interrupted;
  }
  if (summary.failed > 0 && saved.length > 0) reporter.message(resumeHint(saved, true));
  return summary.failed > 0 ? ExitCode.partial : ExitCode.ok;
}

function resumeHint(saved: Saved[], checkpointsOn: boolean): string {
  if (!checkpointsOn) return 'nothing was left half-written; rerun the same command to copy the rest (add --checkpoint-dir to resume large files)';
  if (saved.length === 0) return 'rerun the same command to copy the rest';
  const verbs = { upload: 'uploaded', download: 'downloaded', copy: 'copied' } as const;
  const counts = (['upload', 'download', 'copy'] as const)
    .map((kind) => {
      const of = saved.filter((s) => s.kind === kind);
      const done = of.reduce((n, s) => n + s.partsDone, 0);
      const total = of.reduce((n, s) => n + s.partsTotal, 0);
      return of.length ? `${done}/${total} parts ${verbs[kind]}` : '';
    })
    .filter(Boolean);
  return `rerun the same command to resume (${counts.join(', ')})`;
}

/** The one place where --include/--exclude and --shard meet: a path is copied when both keep it. */
function withShard(filter: PathFilter, shard: Shard | undefined): PathFilter {
  if (!shard) return filter;
  const mine = inShard(shard);
  return (entry) => filter(entry) && mine(entry.relPath);
}

async function dirIds(dir: string): Promise<Set<string> | undefined> {
  const st = await stat(dir).catch(() => undefined);
  return st ? new Set([fileId(st)]) : undefined;
}
