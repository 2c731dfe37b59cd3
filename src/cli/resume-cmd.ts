import path from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { formatS3 } from '../location.js';
import { listCheckpoints, resolveIds, summarize, type CheckpointEntry } from '../checkpoint/inspect.js';
import type { Checkpoint } from '../checkpoint/schema.js';
import type { Io } from './io.js';
import { DEFAULTS, type CommonOptions, type CpOptions } from './args.js';
import { requireCheckpointDir } from './connect.js';
import { runCp } from './cp.js';
import { confirmResume, type Confirmed } from './resume-confirm.js';
import { objectOptionsFrom } from './object-args.js';

/** The `cp` a checkpoint stands for, with the options it recorded: the same id, so the same checkpoint. */
export function cpOptionsFor(cp: Checkpoint, common: CommonOptions, checkpointDir: string, bwlimit = 0): CpOptions {
  const o = cp.options;
  const [source, destination] =
    cp.kind === 'upload'
      ? [cp.source.path, formatS3(cp.destination.bucket, cp.destination.key)]
      : cp.kind === 'copy'
        ? [formatS3(cp.source.bucket, cp.source.key), formatS3(cp.destination.bucket, cp.destination.key)]
        : [formatS3(cp.source.bucket, cp.source.key), cp.destination.path];
  return {
    ...common,
    profile: o.profile,
    region: o.region,
    endpointUrl: o.endpointUrl,
    addressingStyle: o.addressingStyle,
    retries: o.retries,
    checkpointDir,
    object: recordedObjectOptions(cp, common),
    source,
    destination,
    recursive: false,
    update: false,
    filters: [],
    bounds: {},
    bwlimit,
    // The version the checkpoint's bytes are of (a download or copy of a versioned bucket's object).
    versionId: cp.kind === 'upload' ? undefined : cp.source.versionId,
    // Same part size as recorded, and multipart whatever the threshold was.
    bigfileThreshold: 1,
    partSize: cp.partSize,
    chunkSize: cp.kind === 'download' ? cp.chunkSize : DEFAULTS.chunkSize,
    parallel: o.parallel,
    jobs: 1,
    dryRun: false,
    fsync: false,
    encodedPaths: true,
    sourceConnection: o.source ? { sourceProfile: o.source.profile, sourceRegion: o.source.region, sourceEndpointUrl: o.source.endpointUrl } : {},
    metadataDirective: o.metadataDirective,
    objectFlags: [],
  };
}

/**
 * What the object gets, as recorded: the record names each option by its flag, so it is read (and
 * checked) as flags would be. The Content-Type recorded is the one guessed then. An SSE-C key must be
 * given again (--sse-c-key): only its MD5 was kept.
 */
function recordedObjectOptions(cp: Checkpoint, common: CommonOptions) {
  const { 'sse-c-key-md5': _md5, ...flags } = cp.object ?? {};
  try {
    return objectOptionsFrom({ ...flags, 'guess-mime-type': false }, {}, {}, common.customerKey !== undefined);
  } catch (err) {
    throw new UsageError(`checkpoint ${cp.id} records options that cannot be used (${(err as Error).message}): remove it with \`s3xfer checkpoint clean ${cp.id}\``);
  }
}

/** `s3xfer resume ID… | --all`: finish transfers without retyping their commands. */
export async function resume(opts: CommonOptions, sel: { ids: string[]; all: boolean; bwlimit?: number }, io: Io & { signal: AbortSignal }): Promise<number> {
  const dir = requireCheckpointDir(opts, io.cwd);
  const entries = await listCheckpoints(dir);
  const chosen = sel.all ? entries.filter((e) => e.checkpoint) : resolveIds(entries, sel.ids);
  if (chosen.length === 0) {
    io.stdout.write(`nothing to resume in ${dir}\n`);
    return ExitCode.ok;
  }
  let worst: number = ExitCode.ok;
  // Every refusal is said before anything is sent; the confirmed checkpoints still run, and the exit code is 2.
  const runnable: { entry: CheckpointEntry; cp: Checkpoint; target: Confirmed }[] = [];
  for (const entry of chosen) {
    const cp = entry.checkpoint;
    if (!cp) throw new UsageError(`checkpoint ${entry.id} is ${entry.problem}: remove it with \`s3xfer checkpoint clean ${entry.id}\``);
    const target = await confirmResume(cp, opts, io.env);
    if (target.ok) runnable.push({ entry, cp, target });
    else {
      io.stderr.write(`error: ${target.reason}\n`);
      worst = ExitCode.usage;
    }
  }
  for (const { entry, cp, target } of runnable) {
    if (io.signal.aborted) break;
    const s = await summarize(entry);
    if (!opts.json) io.stderr.write(`resuming ${entry.id}: ${s.source} -> ${s.destination} (${s.partsDone}/${s.partsTotal} parts done)\n`);
    const code = await runCp({ ...cpOptionsFor(cp, opts, path.resolve(dir), sel.bwlimit), endpointUrl: target.endpointUrl, profile: target.profile }, io);
    if (code === ExitCode.interrupted) return code;
    worst = Math.max(worst, code);
  }
  return worst;
}
