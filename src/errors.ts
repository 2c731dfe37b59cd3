/** Exit codes, documented in the README. One place decides them. */
export const ExitCode = {
  ok: 0,
  /** Some transfers failed; the rest completed. */
  partial: 1,
  /** Usage error or bad input: nothing was started. */
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
