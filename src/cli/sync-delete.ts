import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { Location } from '../location.js';
import { fsPath } from '../local-path.js';
import type { EngineContext } from '../engine/context.js';
import type { RunSummary } from '../engine/run.js';
import { runDeletions, type DeleteSummary } from '../engine/delete.js';
import { planDeletions } from '../plan/deletions.js';
import type { PlanDeps, PlanOptions } from '../plan/plan.js';

/** `sync --delete` mirrors a tree: a single file or standard input has nothing to mirror. */
export async function assertTree(src: Location): Promise<void> {
  if (src.kind === 'stdin') throw new UsageError(`sync --delete needs a directory or prefix as its source, not '-'`);
  if (src.kind !== 'local') return;
  const st = await stat(fsPath(src.path)).catch(() => undefined);
  if (st && !st.isDirectory()) throw new UsageError(`sync --delete needs a directory as its source; ${src.path} is a file: use cp`);
}

/**
 * After the copies: what the destination has and the source does not, deleted only if every
 * transfer succeeded (a failed or refused one, an interrupt or a fatal error: nothing is deleted,
 * and the run says why).
 */
export async function syncDeletions(a: {
  ctx: EngineContext;
  summary: RunSummary;
  src: Location;
  dst: Location;
  opts: PlanOptions;
  deps: PlanDeps & { aliasesLanded: Set<string> };
  dryRun: boolean;
}): Promise<DeleteSummary | undefined> {
  const { ctx, summary } = a;
  if (summary.interrupted || summary.fatal) return undefined;
  if (summary.failed > 0) {
    ctx.emit({ type: 'deletions', deleted: 0, failed: 0, skipped: `${summary.failed} transfer(s) failed; rerun once they succeed` });
    return undefined;
  }
  const out = await runDeletions(ctx, planDeletions(a.src, a.dst, a.opts, a.deps, a.deps.aliasesLanded), a.dryRun);
  if (!a.dryRun) ctx.emit({ type: 'deletions', ...out });
  return out;
}
