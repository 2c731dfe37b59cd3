/** Exit codes, documented in the README. One place decides them. */
export const ExitCode = {
  ok: 0,
  /** Some transfers failed; the rest completed. */
  partial: 1,
  /** Usage error or bad input: nothing was started, or a FatalError stopped the run. */
  usage: 2,
  /** Interrupted by SIGINT/SIGTERM; rerun to resume. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the user can act on: one line, with the fix, and an exit code. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.usage,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** Bad flags, bad URLs, a missing source: nothing was started. */
export class UsageError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.usage, options);
    this.name = 'UsageError';
  }
}

/**
 * An error no transfer of the run can escape (missing bucket, rejected credentials, an endpoint that cannot
 * be reached or trusted): the first one stops the run and is reported once, exit 2. The only kind that
 * stops a run; everything else fails one transfer (TransferError, exit 1) and the others go on.
 */
export class FatalError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.usage, options);
    this.name = 'FatalError';
  }
}

/** A listing that is not in UTF-8 byte order: -u merges sorted streams, so deciding from it would be wrong. */
export class ListingOrderError extends FatalError {
  constructor(message: string) {
    super(message);
    this.name = 'ListingOrderError';
  }
}

/** The run was cancelled by a signal; what was saved can be resumed. */
export class InterruptedError extends UserError {
  constructor(message = 'interrupted') {
    super(message, ExitCode.interrupted);
    this.name = 'InterruptedError';
  }
}

/** One transfer failed; the run goes on with the others and exits 1. */
export class TransferError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.partial, options);
    this.name = 'TransferError';
  }
}

export function isAbort(err: unknown): boolean {
  return (
    err instanceof InterruptedError ||
    (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR'))
  );
}

/** Turn SDK/system errors into one readable line. */
export function describeError(err: unknown): string {
  if (err instanceof UserError) return err.message;
  if (err instanceof Error) {
    const e = err as Error & { code?: string; Code?: string; $metadata?: { httpStatusCode?: number }; path?: string };
    const status = e.$metadata?.httpStatusCode;
    const named = e.name !== 'Error' && e.name !== 'Unknown' ? e.name : undefined;
    const code = e.Code ?? e.code ?? named;
    const msg = e.message && e.message !== code && e.message !== 'UnknownError' ? e.message : '';
    const parts = [code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
    return [msg || code || 'error', parts && msg ? `(${parts})` : status ? `(HTTP ${status})` : '']
      .filter(Boolean)
      .join(' ');
  }
  return String(err);
}

/** A per-file line names its file or key: a server's own message (e.g. MinIO's XMinioInvalidObjectName) often names neither. */
export function named(message: string, name: string, ...alsoNamed: string[]): string {
  // '-' (standard input) is no name to look for.
  return [name, ...alsoNamed].some((n) => n.length > 1 && message.includes(n)) ? message : `${name}: ${message}`;
}

// The transfer errors, each a reason a transfer stops that the engine or a checkpoint reacts to.

/** A connection that sent nothing for the stall timeout; retryable (see s3-errors.ts). */
export class StalledError extends Error {
  override name = 'StalledError';
}

export class TruncatedBodyError extends Error {
  override name = 'TruncatedBodyError';
  readonly code = 'ECONNRESET';
}

/** The object was overwritten while we read or copied it (If-Match failed): never two versions mixed. */
export class ObjectChangedError extends TransferError {
  constructor(url: string, during: 'download' | 'copy' = 'download') {
    super(`${url} changed on the server during the ${during}; rerun to ${during === 'copy' ? 'copy' : 'fetch'} the new version`);
  }
}

/** The file is not what the upload started with: the parts sent so far are worthless. */
export class ChangedSourceError extends TransferError {}

/** The server's checksum of the completed object is not ours: start over, never resume. */
export class SuspectObjectError extends TransferError {}

/** The bytes fetched are not the object's: keeping them for a resume would only fail again. */
export class VerificationError extends TransferError {}

/** Another live run holds this transfer: this run leaves it alone. */
export class LockedError extends TransferError {}

/** A path under the destination root is a symbolic link, or not a directory: nothing is written through it. */
export class UnsafeDestinationError extends TransferError {}

/** The reader of standard output went away (`| head -c 100`): the download to it stops, quietly (exit 0), never retried. */
export class OutputClosedError extends TransferError {}
