import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { describeError, isAbort } from '../errors.js';
import { formatS3 } from '../location.js';
import { fsPath } from '../local-path.js';
import type { Deletion } from '../plan/deletions.js';
import type { EngineContext } from './context.js';
import { retryReporter, withRetry } from './retry.js';
import { explainS3Error } from './s3-errors.js';

/** S3's limit per DeleteObjects request. */
const BATCH = 1000;
/** Local unlinks in flight. */
const UNLINKS = 16;

export interface DeleteSummary {
  deleted: number;
  failed: number;
}

/**
 * Carry out `sync --delete`'s deletions as they stream in: objects in DeleteObjects batches of
 * 1,000, local files unlinked only where the destination root's real path leads (never through
 * a link planted inside it). A dry run says what it would delete.
 */
export async function runDeletions(ctx: EngineContext, deletions: AsyncIterable<Deletion>, dryRun: boolean): Promise<DeleteSummary> {
  const summary: DeleteSummary = { deleted: 0, failed: 0 };
  const limit = pLimit(UNLINKS);
  const unlinks: Promise<void>[] = [];
  let batch: { bucket: string; keys: string[] } | undefined;
  const flush = async () => {
    if (batch) await deleteBatch(ctx, batch.bucket, batch.keys, summary);
    batch = undefined;
  };
  for await (const d of deletions) {
    if (ctx.signal.aborted) break;
    const target = d.kind === 's3' ? formatS3(d.bucket, d.key) : d.path;
    if (dryRun) {
      ctx.emit({ type: 'would-delete', target });
      continue;
    }
    if (d.kind === 'local') {
      unlinks.push(limit(() => unlinkInside(ctx, d, summary)));
      if (unlinks.length >= BATCH) await Promise.all(unlinks.splice(0));
      continue;
    }
    if (batch && batch.bucket !== d.bucket) await flush();
    batch ??= { bucket: d.bucket, keys: [] };
    batch.keys.push(d.key);
    if (batch.keys.length >= BATCH) await flush();
  }
  await flush();
  await Promise.all(unlinks);
  return summary;
}

async function deleteBatch(ctx: EngineContext, bucket: string, keys: string[], summary: DeleteSummary): Promise<void> {
  try {
    const failures = await withRetry(() => ctx.store.deleteObjects(bucket, keys, ctx.signal), {
      policy: ctx.retry,
      signal: ctx.signal,
      onRetry: retryReporter(ctx, formatS3(bucket, keys[0]!)),
    });
    const failed = new Map(failures.map((f) => [f.key, f.message]));
    for (const key of keys) {
      const target = formatS3(bucket, key);
      const why = failed.get(key);
      if (why === undefined) {
        summary.deleted++;
        ctx.emit({ type: 'deleted', target });
      } else {
        summary.failed++;
        ctx.emit({ type: 'error', source: target, destination: target, message: `${target}: not deleted: ${why}` });
      }
    }
  } catch (err) {
    if (isAbort(err) || ctx.signal.aborted) return;
    summary.failed += keys.length;
    const first = formatS3(bucket, keys[0]!);
    const message = describeError(explainS3Error(err, { url: first }));
    ctx.emit({ type: 'error', source: first, destination: first, message: `${keys.length} objects from ${first} on were not deleted: ${message}` });
  }
}

async function unlinkInside(ctx: EngineContext, d: Extract<Deletion, { kind: 'local' }>, summary: DeleteSummary): Promise<void> {
  try {
    // The walk saw no link on the way; one planted since must not lead the unlink outside the root.
    await ctx.destination.assertInside(d.root, path.dirname(d.path));
    await fs.unlink(fsPath(d.path));
    summary.deleted++;
    ctx.emit({ type: 'deleted', target: d.path });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // gone already: nothing to do
    summary.failed++;
    ctx.emit({ type: 'error', source: d.path, destination: d.path, message: `${d.path}: not deleted: ${describeError(err)}` });
  }
}
