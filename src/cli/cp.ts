import { ExitCode } from '../errors.js';
import { parseLocation } from '../location.js';
import { compileFilter } from '../plan/filter.js';
import { planCopy } from '../plan/plan.js';
import { createS3Client } from '../engine/s3-client.js';
import { S3Store } from '../engine/s3-store.js';
import { runPlan } from '../engine/run.js';
import { explainS3Error } from '../engine/s3-errors.js';
import { createReporter } from '../report/reporter.js';
import type { EngineContext } from '../engine/context.js';
import type { Io } from '../main.js';
import type { CpOptions } from './args.js';
import { DEFAULTS } from './args.js';

/** `s3xfer cp`: resolve, plan, run, report. Returns the exit code. */
export async function runCp(opts: CpOptions, io: Io & { signal: AbortSignal }): Promise<number> {
  const src = parseLocation(opts.source, io.cwd);
  const dst = parseLocation(opts.destination, io.cwd);
  const { client } = await createS3Client({ ...opts, maxSockets: Math.max(opts.parallel * opts.jobs, 16) }, io.env);
  const store = new S3Store(client);
  const reporter = createReporter({
    json: opts.json,
    progress: opts.progress && !opts.json && !opts.dryRun && Boolean(io.stderr.isTTY) && Boolean(io.stdout.isTTY),
    stdout: io.stdout,
    stderr: io.stderr,
  });
  try {
    const plan = await planCopy(
      src,
      dst,
      {
        recursive: opts.recursive,
        update: opts.update,
        filter: compileFilter(opts.filters),
        bigfileThreshold: opts.bigfileThreshold,
        partSize: opts.partSize,
        defaultPartSize: DEFAULTS.partSize,
      },
      { store, signal: io.signal },
    ).catch((err: unknown) => {
      throw explainS3Error(err, src.kind === 's3' ? opts.source : opts.destination);
    });
    const ctx: EngineContext = {
      store,
      signal: io.signal,
      emit: (e) => reporter.emit(e),
      retry: { attempts: opts.retries, baseDelayMs: 200, maxDelayMs: 10_000 },
      parallel: opts.parallel,
      now: () => Date.now(),
    };
    const summary = await runPlan(ctx, plan, {
      jobs: opts.jobs,
      dryRun: opts.dryRun,
      streamPartSize: opts.partSize ?? DEFAULTS.partSize,
      stdin: io.stdin,
    });
    reporter.close();
    if (summary.interrupted) {
      reporter.message('interrupted — nothing was left half-written; rerun the same command to copy the rest');
      return ExitCode.interrupted;
    }
    return summary.failed > 0 ? ExitCode.partial : ExitCode.ok;
  } finally {
    reporter.close();
    client.destroy();
  }
}
