import path from 'node:path';
import { UsageError } from '../errors.js';
import { createS3Client, type S3Connection } from '../engine/s3-client.js';
import { S3Store } from '../engine/s3-store.js';
import type { ResumeOptions } from '../checkpoint/schema.js';
import type { CommonOptions, ConnectionFlags } from './args.js';

export interface Connected extends S3Connection {
  store: S3Store;
}

/** One S3 client and store per command; sockets enough for every request in flight. */
export async function connect(
  flags: ConnectionFlags & { stallTimeoutMs?: number | undefined; debug?: boolean | undefined },
  env: NodeJS.ProcessEnv,
  maxSockets = 16,
): Promise<Connected> {
  const conn = await createS3Client({ ...flags, maxSockets }, env);
  if (flags.customerKey && new URL(conn.endpoint).protocol !== 'https:') {
    conn.client.destroy();
    throw new UsageError(`--sse-c-key with ${conn.endpoint}: the key would cross the network in the clear (S3 refuses SSE-C without TLS); use an https:// endpoint`);
  }
  return { ...conn, store: new S3Store(conn.client, conn.dataPath, { customerKey: flags.customerKey }) };
}

/** The connection a checkpoint records, so `resume` reaches the same server with the same settings. */
export function recordedConnection(opts: CommonOptions, conn: S3Connection, env: NodeJS.ProcessEnv): Omit<ResumeOptions, 'parallel' | 'retries'> {
  const o: Omit<ResumeOptions, 'parallel' | 'retries'> = {};
  const profile = opts.profile ?? env.AWS_PROFILE;
  if (profile) o.profile = profile;
  o.region = conn.region;
  if (conn.customEndpoint) o.endpointUrl = conn.customEndpoint;
  if (opts.addressingStyle) o.addressingStyle = opts.addressingStyle;
  return o;
}

export function requireCheckpointDir(opts: CommonOptions, cwd: string): string {
  if (!opts.checkpointDir) {
    throw new UsageError(
      'no checkpoint directory: pass --checkpoint-dir DIR, set S3XFER_CHECKPOINT_DIR, or add checkpoint-dir to ~/.config/s3xfer/config.yaml',
    );
  }
  return path.resolve(cwd, opts.checkpointDir);
}
