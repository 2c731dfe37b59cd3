import { UsageError } from '../errors.js';
import { pick, type Config } from '../config.js';
import { parseDuration } from '../duration.js';
import { checkEndpoint } from '../endpoint.js';
import { filterRulesFromArgv, type FilterBounds, type FilterRule } from '../plan/filter.js';
import { MiB } from '../engine/model.js';
import { metadataDirective, type MetadataDirective, type SourceConnectionFlags } from './copy-flags.js';
import { bytesPerSecond, checkPartSize, checkThreshold, flagBoolean, positiveInt, positiveSize, stallTimeout, timeOrAge } from './values.js';
import { parseSize } from '../size.js';
import { customerKeyFrom, objectOptionsFrom, requestPayerFrom } from './object-args.js';
import type { ObjectOptions } from '../engine/object-settings.js';
import type { CustomerKey } from '../engine/store.js';
import { parseShard, shardFromJobIndex, type Shard } from '../plan/shard.js';

/** Built-in defaults; --help shows them. Chosen from measurements (see README, Performance). */
export const DEFAULTS = {
  bigfileThreshold: 16 * MiB,
  partSize: 8 * MiB,
  /**
   * Parts of a server-side copy: no bytes pass through s3xfer, so larger parts cost nothing here and
   * halve the requests' CPU (1 GiB on MinIO: 0.65 → 0.33 CPU-s, wall 5–15% lower; README, Performance).
   */
  copyPartSize: 64 * MiB,
  chunkSize: 1 * MiB,
  parallel: 8,
  jobs: 32,
  retries: 5,
  stallTimeoutMs: 30_000,
  /** Part and file buffers held at once: keeps peak memory flat (measured: see README, Performance). */
  memoryBudget: 64 * MiB,
} as const;

export interface ConnectionFlags {
  profile?: string | undefined;
  region?: string | undefined;
  endpointUrl?: string | undefined;
  addressingStyle?: 'path' | 'virtual' | undefined;
  /** PEM file of the CAs to trust instead of the system's (else AWS_CA_BUNDLE, else the profile's ca_bundle). */
  caBundle?: string | undefined;
  /** false: TLS certificates are not checked (--no-verify-ssl). */
  verifySsl?: boolean | undefined;
  /** --request-payer requester: sent on every request. */
  requestPayer?: boolean | undefined;
  /** --sse-c-key: the SSE-C key of every object read or written; never recorded, only its MD5. */
  customerKey?: CustomerKey | undefined;
}

/** What every command shares: connection, output, checkpoint directory. */
export interface CommonOptions extends ConnectionFlags {
  checkpointDir: string | undefined;
  json: boolean;
  progress: boolean;
  debug: boolean;
  retries: number;
  stallTimeoutMs: number;
}

export interface CpOptions extends CommonOptions {
  source: string;
  destination: string;
  recursive: boolean;
  update: boolean;
  filters: FilterRule[];
  /** Size and time bounds of --min-size … --older-than; trees only, like --include/--exclude. */
  bounds: FilterBounds;
  /** A filter was given on the command line (not only in the environment or config file). */
  filterFlags?: boolean | undefined;
  /** Bytes per second for the whole run, up and down; 0 for no limit. */
  bwlimit: number;
  /** One version of a single object to download or copy (--version-id). */
  versionId?: string | undefined;
  bigfileThreshold: number;
  partSize: number | undefined;
  chunkSize: number;
  parallel: number;
  jobs: number;
  dryRun: boolean;
  fsync: boolean;
  /** Headers, metadata, storage class, ACL, tags and encryption of the objects written. */
  object: ObjectOptions;
  /** --shard I/N (or --shards N with JOB_COMPLETION_INDEX): copy only this worker's share of the tree. */
  shard?: Shard | undefined;
  /** Local paths are already in local-path.ts's encoded form (a checkpoint's), not text the user typed. */
  encodedPaths?: boolean | undefined;
  /** `sync --delete`: remove what the source no longer has, once every copy succeeded. */
  deleteExtra?: boolean | undefined;
  /** S3 → S3 only: the source's own connection, and what the copies carry. */
  sourceConnection: SourceConnectionFlags;
  metadataDirective: MetadataDirective | undefined;
  /** Header and metadata flags given on the command line (a copy refuses them without REPLACE). */
  objectFlags: string[];
}

export type Command =
  | { name: 'cp'; options: CpOptions }
  | { name: 'sync'; options: CpOptions }
  | { name: 'checkpoint ls'; options: CommonOptions }
  | { name: 'checkpoint show'; options: CommonOptions; id: string }
  | { name: 'checkpoint clean'; options: CommonOptions; ids: string[]; all: boolean; olderThanMs: number | undefined }
  | { name: 'resume'; options: CommonOptions; ids: string[]; all: boolean; bwlimit: number }
  | { name: 'uploads ls'; options: CommonOptions; url: string }
  | { name: 'uploads abort'; options: CommonOptions; url: string; olderThanMs: number | undefined; dryRun: boolean; force: boolean }
  | { name: 'none' };

/** yargs-parser reads a lone '-' (standard input) as `true`. */
function positional(value: unknown): string {
  return value === true ? '-' : String(value);
}

export const durationOf = (value: unknown) => (value === undefined ? undefined : parseDuration(String(value), '--older-than'));

export type Raw = Record<string, unknown>;

const given = <T>(value: unknown, parse: (v: string) => T): T | undefined => (value === undefined ? undefined : parse(String(value)));

export function commonFrom(a: Raw, env: NodeJS.ProcessEnv, config: Config): CommonOptions {
  const str = (v: string | number | boolean) => String(v);
  return {
    checkpointDir: pick('checkpoint-dir', a['checkpoint-dir'] as string | undefined, env, config, str),
    profile: pick('profile', a.profile as string | undefined, env, config, str, ['AWS_PROFILE']),
    region: pick('region', a.region as string | undefined, env, config, str, ['AWS_REGION', 'AWS_DEFAULT_REGION']),
    endpointUrl: pick(
      'endpoint-url',
      given(a['endpoint-url'], (v) => checkEndpoint(v, '--endpoint-url')),
      env,
      config,
      (v) => checkEndpoint(String(v), 'endpoint-url'),
      ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    ),
    caBundle: pick('ca-bundle', a['ca-bundle'] as string | undefined, env, config, str, ['AWS_CA_BUNDLE']),
    verifySsl: pick('verify-ssl', a['verify-ssl'] as boolean | undefined, env, config, (v) => flagBoolean(v, 'verify-ssl')),
    addressingStyle: pick('addressing-style', a['addressing-style'] as 'path' | 'virtual' | undefined, env, config, (v) => {
      if (v !== 'path' && v !== 'virtual') throw new UsageError(`invalid addressing style '${v}': use path or virtual`);
      return v;
    }),
    retries: pick('retries', given(a.retries, (v) => positiveInt(v, '--retries')), env, config, (v) => positiveInt(v, 'retries')) ?? DEFAULTS.retries,
    stallTimeoutMs:
      pick('stall-timeout', given(a['stall-timeout'], (v) => stallTimeout(v, '--stall-timeout')), env, config, (v) =>
        stallTimeout(v, 'stall-timeout'),
      ) ?? DEFAULTS.stallTimeoutMs,
    requestPayer: requestPayerFrom(a, env, config),
    customerKey: customerKeyFrom(a, env, config),
    json: Boolean(a.json),
    progress: a.progress !== false,
    debug: Boolean(a.debug),
  };
}

/** `recursive`: -r, or a command that is always recursive (sync). */
export function cpFrom(a: Raw, argv: string[], env: NodeJS.ProcessEnv, config: Config, recursive = Boolean(a.recursive)): CpOptions {
  const size = (key: 'bigfile-threshold' | 'chunk-size', flag: string) =>
    pick(key, a[key] === undefined ? undefined : positiveSize(a[key] as string, flag), env, config, (v) => positiveSize(v, key));
  const int = (key: 'parallel' | 'jobs') =>
    pick(key, a[key] === undefined ? undefined : positiveInt(a[key], `--${key}`), env, config, (v) => positiveInt(v, key));
  const common = commonFrom(a, env, config);
  return {
    ...common,
    object: objectOptionsFrom(a, env, config, common.customerKey !== undefined),
    source: positional(a.source),
    // A string positional reads a lone '-' as '' (yargs-parser): standard output when '-' was typed.
    destination: a.destination === '' && argv.includes('-') ? '-' : positional(a.destination),
    recursive,
    update: Boolean(a.update),
    filters: filterRulesFromArgv(argv),
    bounds: boundsFrom(a, env, config),
    filterFlags: FILTER_FLAGS.some((f) => a[f] !== undefined),
    bwlimit: bwlimitFrom(a, env, config),
    versionId: versionIdOf(a['version-id']),
    bigfileThreshold: checkThreshold(size('bigfile-threshold', '--bigfile-threshold') ?? DEFAULTS.bigfileThreshold),
    partSize: pick('part-size', a['part-size'] === undefined ? undefined : checkPartSize(a['part-size'] as string), env, config, checkPartSize),
    chunkSize: size('chunk-size', '--chunk-size') ?? DEFAULTS.chunkSize,
    parallel: int('parallel') ?? DEFAULTS.parallel,
    jobs: int('jobs') ?? DEFAULTS.jobs,
    dryRun: Boolean(a['dry-run']),
    fsync: Boolean(a.fsync),
    shard: shardFrom(a, env, config, recursive),
    sourceConnection: sourceConnectionFrom(a, env, config),
    objectFlags: [...REPLACEABLE, 'tagging'].filter((k) => a[k] !== undefined).map((k) => `--${k}`),
    metadataDirective: pick('metadata-directive', given(a['metadata-directive'], (v) => metadataDirective(v, '--metadata-directive')), env, config, (v) =>
      metadataDirective(v, 'metadata-directive'),
    ),
  };
}

/** What --metadata-directive REPLACE takes from the command line instead of the source. */
const REPLACEABLE = ['metadata', 'content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;

/** --source-*: each also from S3XFER_SOURCE_* and the config file; unset ones follow the destination's. */
function sourceConnectionFrom(a: Raw, env: NodeJS.ProcessEnv, config: Config): SourceConnectionFlags {
  const str = (v: string | number | boolean) => String(v);
  const noVerify = a['source-no-verify-ssl'] === true ? false : undefined;
  return {
    sourceProfile: pick('source-profile', a['source-profile'] as string | undefined, env, config, str),
    sourceRegion: pick('source-region', a['source-region'] as string | undefined, env, config, str),
    sourceEndpointUrl: pick('source-endpoint-url', given(a['source-endpoint-url'], (v) => checkEndpoint(v, '--source-endpoint-url')), env, config, (v) =>
      checkEndpoint(String(v), 'source-endpoint-url'),
    ),
    sourceCaBundle: pick('source-ca-bundle', a['source-ca-bundle'] as string | undefined, env, config, str),
    sourceVerifySsl: pick('source-verify-ssl', noVerify, env, config, (v) => flagBoolean(v, 'source-verify-ssl')),
  };
}

/** --bwlimit (cp and resume), else S3XFER_BWLIMIT, else the config file's; 0 for none. */
export function bwlimitFrom(a: Raw, env: NodeJS.ProcessEnv, config: Config): number {
  return pick('bwlimit', given(a.bwlimit, (v) => bytesPerSecond(v, '--bwlimit')), env, config, (v) => bytesPerSecond(v, 'bwlimit')) ?? 0;
}

const FILTER_FLAGS = ['include', 'exclude', 'min-size', 'max-size', 'min-age', 'max-age', 'newer-than', 'older-than'] as const;

/** --min-size … --older-than, each from flag > env > config; an age and a time on one side combine (both must hold). */
function boundsFrom(a: Raw, env: NodeJS.ProcessEnv, config: Config): FilterBounds {
  const size = (key: 'min-size' | 'max-size') => pick(key, given(a[key], (v) => parseSize(v, `--${key}`)), env, config, (v) => parseSize(String(v), key));
  const age = (key: 'min-age' | 'max-age') => pick(key, given(a[key], (v) => parseDuration(v, `--${key}`)), env, config, (v) => parseDuration(String(v), key));
  const when = (key: 'newer-than' | 'older-than') => pick(key, given(a[key], (v) => timeOrAge(v, `--${key}`)), env, config, (v) => timeOrAge(v, key));
  const newer = when('newer-than');
  const older = when('older-than');
  const maxAge = [age('max-age'), newer && 'ageMs' in newer ? newer.ageMs : undefined].filter((n) => n !== undefined);
  const minAge = [age('min-age'), older && 'ageMs' in older ? older.ageMs : undefined].filter((n) => n !== undefined);
  return {
    minSize: size('min-size'),
    maxSize: size('max-size'),
    maxAgeMs: maxAge.length ? Math.min(...maxAge) : undefined,
    minAgeMs: minAge.length ? Math.max(...minAge) : undefined,
    newerThanMs: newer && 'atMs' in newer ? newer.atMs : undefined,
    olderThanMs: older && 'atMs' in older ? older.atMs : undefined,
  };
}

/** A version ID goes into a query string as it is: refuse what no server issues (empty, control characters). */
function versionIdOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const id = String(value);
  if (id === '' || /[\0-\x1f\x7f]/.test(id)) throw new UsageError(`invalid --version-id '${id}': give the ID S3 reports for the version (e.g. from aws s3api list-object-versions)`);
  return id;
}

/** `sync` is `cp -r -u`, plus `--delete` (flag, S3XFER_DELETE or config `delete`). */
export function syncFrom(a: Raw, argv: string[], env: NodeJS.ProcessEnv, config: Config): CpOptions {
  return {
    ...cpFrom(a, argv, env, config, true),
    recursive: true,
    update: true,
    deleteExtra: pick('delete', a.delete as boolean | undefined, env, config, (v) => flagBoolean(v, 'delete')) ?? false,
  };
}

/** --shard beats --shards; flags beat S3XFER_SHARD / S3XFER_SHARDS, which beat the config file. */
function shardFrom(a: Raw, env: NodeJS.ProcessEnv, config: Config, recursive: boolean): Shard | undefined {
  if (a.shard !== undefined && a.shards !== undefined) {
    throw new UsageError(`--shard ${String(a.shard)} and --shards ${String(a.shards)}: give one (--shard INDEX/COUNT, or --shards COUNT with JOB_COMPLETION_INDEX)`);
  }
  const shard =
    a.shard !== undefined
      ? parseShard(String(a.shard))
      : a.shards !== undefined
        ? shardFromJobIndex(String(a.shards), env)
        : (pick('shard', undefined, env, config, (v) => parseShard(String(v), 'shard')) ??
          pick('shards', undefined, env, config, (v) => shardFromJobIndex(String(v), env)));
  if (shard && !recursive) {
    throw new UsageError(`--shard ${shard.index}/${shard.count} splits a tree between workers: use it with -r (a single file is one worker's job)`);
  }
  return shard;
}
