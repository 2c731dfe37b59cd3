import { ExitCode, UserError } from '../errors.js';

/**
 * Translate the S3 errors a user can fix into one line that says how. Others
 * pass through unchanged.
 */
export function explainS3Error(err: unknown, url: string, localPath?: string): unknown {
  if (err instanceof UserError || !(err instanceof Error)) return err;
  const local = explainLocalError(err as NodeJS.ErrnoException, localPath);
  if (local) return local;
  const e = err as Error & { Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.Code ?? e.name;
  const bucket = /^s3:\/\/([^/]+)/.exec(url)?.[1] ?? '';
  switch (code) {
    case 'NoSuchBucket':
      return new UserError(`bucket '${bucket}' does not exist: create it first or check the name in ${url}`, ExitCode.usage);
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'InvalidToken':
    case 'ExpiredToken':
    case 'CredentialsProviderError':
      return new UserError(`${url}: the server rejected the credentials (${code}): check the access keys or --profile`, ExitCode.usage);
    case 'AccessDenied':
      return new UserError(`${url}: access denied: the credentials lack permission for this bucket or key`, ExitCode.partial);
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    return new UserError(`cannot reach the S3 endpoint (${e.code}): check --endpoint-url and that the server is running`, ExitCode.usage);
  }
  if (e.$metadata?.httpStatusCode === 403 && (code === 'Forbidden' || code === 'Unknown')) {
    // A HEAD's 403 has no body: bad keys and missing permission look the same.
    return new UserError(`${url}: access denied (HTTP 403): check the access keys or --profile, and the permissions`, ExitCode.usage);
  }
  return err;
}

/** Local filesystem errors, named with the path and what to do. */
function explainLocalError(err: NodeJS.ErrnoException, localPath: string | undefined): UserError | undefined {
  const where = err.path ?? localPath ?? 'the destination';
  switch (err.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new UserError(`no space left writing ${where}: free some space, then rerun (with --checkpoint-dir it resumes)`, ExitCode.partial);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new UserError(`cannot access ${where} (${err.code}): check its permissions or choose another path`, ExitCode.partial);
    case 'ENOTDIR':
    case 'EISDIR':
      return new UserError(`cannot use ${where} (${err.code}): a file stands where a directory is needed, or the reverse`, ExitCode.partial);
    default:
      return undefined;
  }
}
