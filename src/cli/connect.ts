import path from 'node:path';
import { UsageError } from '../errors.js';
import { createS3Client, profileEndpoint, type S3Connection } from '../engine/s3-client.js';
import { S3Store } from '../engine/s3-store.js';
import type { ResumeOptions } from '../checkpoint/schema.js';
import type { CommonOptions, ConnectionFlags, CpOptions } from './args.js';
import { hasSourceFlags } from './copy-flags.js';
import { sourceSide } from '../engine/source-side.js';
import type { ObjectStore } from '../engine/store.js';

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

/** The source's side of an S3 → S3 copy from another endpoint or account. */
export interface SourceConnected extends Omit<Connected, 'store'> {
  /** Its errors are marked as the source's, so messages name the --source-* flags. */
  store: ObjectStore;
  /** Another endpoint or other credentials than the destination's: the bytes must stream through us. */
  streamed: boolean;
  /** Another server: its bucket names are not the destination's (the same server under another profile has the same buckets). */
  otherServer: boolean;
  profile: string | undefined;
}

/**
 * The source's own client when --source-* flags are given: each unset one follows the
 * destination's (the endpoint: the source profile's endpoint_url first). Undefined without them.
 */
export async function connectSource(
  opts: CpOptions,
  dest: Connected,
  env: NodeJS.ProcessEnv,
  maxSockets: number,
): Promise<SourceConnected | undefined> {
  const s = opts.sourceConnection;
  if (!hasSourceFlags(s)) return undefined;
  const destProfile = opts.profile ?? env.AWS_PROFILE;
  const profile = s.sourceProfile ?? destProfile;
  const endpointUrl = s.sourceEndpointUrl ?? (s.sourceProfile ? await profileEndpoint(s.sourceProfile, env) : undefined) ?? dest.customEndpoint;
  const conn = await createS3Client(
    {
      profile,
      // A source profile brings its own region; otherwise the destination's.
      region: s.sourceRegion ?? (s.sourceProfile ? undefined : dest.region),
      endpointUrl,
      addressingStyle: opts.addressingStyle,
      caBundle: s.sourceCaBundle ?? opts.caBundle,
      verifySsl: s.sourceVerifySsl ?? opts.verifySsl,
      stallTimeoutMs: opts.stallTimeoutMs,
      debug: opts.debug,
      // Requester Pays applies to what is read too: the source's every request carries it.
      requestPayer: opts.requestPayer,
      maxSockets,
    },
    env,
  );
  const streamed = conn.endpoint !== dest.endpoint || (profile ?? 'default') !== (destProfile ?? 'default');
  if (streamed && opts.customerKey && new URL(conn.endpoint).protocol !== 'https:') {
    conn.client.destroy();
    throw new UsageError(`--sse-c-key with the source ${conn.endpoint}: the key would cross the network in the clear; use an https:// source endpoint`);
  }
  // --sse-c-key is the key of every object read or written: the source's too.
  return { ...conn, store: sourceSide(new S3Store(conn.client, conn.dataPath, { customerKey: opts.customerKey })), streamed, otherServer: conn.endpoint !== dest.endpoint, profile };
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
