/** A connection that sent nothing for the stall timeout; retryable (see retry.ts). */
export class StalledError extends Error {
  override name = 'StalledError';
}
