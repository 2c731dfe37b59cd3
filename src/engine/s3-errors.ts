import { ExitCode, UserError } from '../errors.js';

/**
 * Translate the S3 errors a user can fix into one line that says how. Others
 * pass through unchanged.
 */
export function explainS3Error(err: unknown, url: string): unknown {
  if (err instanceof UserError || !(err instanceof Error)) return err;
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
  if (e.$metadata?.httpStatusCode === 403 && code === 'Forbidden') {
    return new UserError(`${url}: access denied (HTTP 403): check the access keys, --profile and permissions`, ExitCode.partial);
  }
  return err;
}
