import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ObjectCannedACL, StorageClass } from '@aws-sdk/client-s3';
import { UsageError } from '../errors.js';
import { pick, type Config, type ConfigKey } from '../config.js';
import type { ObjectOptions } from '../engine/object-settings.js';
import type { CustomerKey, ObjectHeaders, ServerSideEncryption } from '../engine/store.js';
import { flagBoolean } from './values.js';

// Object options (headers, metadata, storage class, ACL, tags, encryption): flag > S3XFER_* > config
// file, each checked here so that a bad value is one line before anything is sent.

type Raw = Record<string, unknown>;
type Value = string | number | boolean;
interface Sources {
  a: Raw;
  env: NodeJS.ProcessEnv;
  config: Config;
}

/** flag > S3XFER_* > config file, each checked by `parse` with the name it was given under. */
function option<T>({ a, env, config }: Sources, key: ConfigKey, parse: (v: Value, key: string) => T): T | undefined {
  return pick(key, a[key] === undefined ? undefined : parse(a[key] as Value, `--${key}`), env, config, (v) => parse(v, key));
}

/** A header value as typed: no control characters (a line break would split the request). */
function headerText(value: Value, key: string): string {
  const text = String(value);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new UsageError(`invalid ${key}: it holds a control character or line break`);
  if (text.trim() === '') throw new UsageError(`invalid ${key}: empty`);
  return text;
}

function oneOf(values: readonly string[], what: string) {
  return (value: Value, key: string): string => {
    const text = String(value);
    const found = values.find((v) => v.toLowerCase() === text.toLowerCase());
    if (!found) throw new UsageError(`invalid ${key} '${text}': use one of ${values.join(', ')} (${what})`);
    return found;
  };
}

const storageClass = oneOf(Object.values(StorageClass), 'S3 storage classes; MinIO knows STANDARD and REDUCED_REDUNDANCY');
const cannedAcl = oneOf(Object.values(ObjectCannedACL), 'canned ACLs');

/** aws-cli takes an ISO 8601 time; anything Date cannot read exactly is refused. */
function expires(value: Value, key: string): Date {
  const text = String(value);
  const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new UsageError(`invalid ${key} '${text}': use an ISO 8601 time, e.g. 2030-01-01T00:00:00Z`);
  return date;
}

/** Metadata keys become header names (x-amz-meta-KEY): token characters only, case folded as HTTP does. */
const META_KEY = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** S3's limit on user metadata: keys and values together. */
const META_LIMIT = 2048;

/** `k=v,k2=v2` (aws-cli's shorthand) or a JSON object, or a map from the config file. */
export function parseMetadata(value: unknown, key: string): Record<string, string> {
  let pairs: [string, unknown][];
  if (value !== null && typeof value === 'object') pairs = Object.entries(value);
  else {
    const text = String(value).trim();
    if (text.startsWith('{')) {
      try {
        pairs = Object.entries(JSON.parse(text) as object);
      } catch {
        throw new UsageError(`invalid ${key}: not valid JSON; use k=v,k2=v2 or {"k":"v"}`);
      }
    } else {
      pairs = text.split(',').map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 1) throw new UsageError(`invalid ${key} '${pair}': use k=v,k2=v2`);
        return [pair.slice(0, eq).trim(), pair.slice(eq + 1)];
      });
    }
  }
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    const name = k.toLowerCase();
    if (!META_KEY.test(name)) throw new UsageError(`invalid ${key}: key '${k}' must be letters, digits and - _ . only`);
    if (name === 'mtime') throw new UsageError(`invalid ${key}: 'mtime' is s3xfer's own (the file's modification time, read by -u); use another key`);
    const text = String(v);
    // Non-ASCII values come back mangled from most servers (RFC 2047 or not at all).
    if (!/^[\x20-\x7e]*$/.test(text)) throw new UsageError(`invalid ${key}: the value of '${k}' must be printable ASCII (URL-encode other text)`);
    out[name] = text;
  }
  const size = Object.entries(out).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (size > META_LIMIT) throw new UsageError(`invalid ${key}: ${size} bytes of metadata, S3 allows ${META_LIMIT}`);
  return out;
}

/** `k=v&k2=v2` (URL-encoded, as s3api, mc --tags and ossutil --tagging take it) or a map; S3's limits checked. */
export function parseTagging(value: unknown, key: string): string {
  const pairs: [string, string][] =
    value !== null && typeof value === 'object'
      ? Object.entries(value).map(([k, v]) => [k, String(v)])
      : [...new URLSearchParams(String(value)).entries()];
  if (pairs.length === 0 || pairs.length > 10) throw new UsageError(`invalid ${key}: give 1 to 10 tags as k=v&k2=v2`);
  for (const [k, v] of pairs) {
    if (k.length === 0 || k.length > 128 || v.length > 256) throw new UsageError(`invalid ${key}: tag '${k}': keys are 1-128 characters, values up to 256`);
  }
  if (new Set(pairs.map(([k]) => k)).size !== pairs.length) throw new UsageError(`invalid ${key}: a tag key is given twice`);
  return new URLSearchParams(pairs).toString().replace(/\+/g, '%20');
}

/**
 * The SSE-C key, never from a plain flag value (it would show in `ps` and shell history):
 * `fileb://FILE` holding the 32 raw bytes (aws-cli's convention), or in S3XFER_SSE_C_KEY the
 * key as base64 or a fileb:// path.
 */
export function loadCustomerKey(value: string, key: string, fromEnv: boolean): CustomerKey {
  let bytes: Buffer;
  if (value.startsWith('fileb://')) {
    const file = value.slice('fileb://'.length);
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new UsageError(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (bytes.length !== 32) throw new UsageError(`${key}: ${file} holds ${bytes.length} bytes; an SSE-C key is 32 raw bytes (e.g. \`openssl rand 32 > ${file}\`)`);
  } else if (fromEnv) {
    bytes = Buffer.from(value, 'base64');
    if (bytes.length !== 32 || bytes.toString('base64') !== value.trim()) {
      throw new UsageError(`${key}: not the base64 of 32 bytes; give the key as base64 or as fileb://FILE`);
    }
  } else {
    throw new UsageError(`${key}: give the key as fileb://FILE (32 raw bytes) or in S3XFER_SSE_C_KEY, not on the command line`);
  }
  return { key: bytes.toString('base64'), keyMd5: createHash('md5').update(bytes).digest('base64') };
}

/** --sse-c [AES256] --sse-c-key …: the run's customer key, for every command that reads or writes objects. */
export function customerKeyFrom(a: Raw, env: NodeJS.ProcessEnv, config: Config): CustomerKey | undefined {
  const algorithm = option({ a, env, config }, 'sse-c', oneOf(['AES256'], 'SSE-C takes AES256 keys'));
  const fromFlag = a['sse-c-key'] as string | undefined;
  const fromEnv = fromFlag === undefined ? env.S3XFER_SSE_C_KEY || undefined : undefined;
  const raw = fromFlag ?? fromEnv ?? (config['sse-c-key'] === undefined ? undefined : String(config['sse-c-key']));
  if (raw === undefined) {
    if (algorithm) throw new UsageError('--sse-c needs its key: --sse-c-key fileb://FILE (32 raw bytes) or S3XFER_SSE_C_KEY');
    return undefined;
  }
  return loadCustomerKey(raw, fromFlag !== undefined ? '--sse-c-key' : fromEnv !== undefined ? 'S3XFER_SSE_C_KEY' : 'sse-c-key', fromEnv !== undefined);
}

export function requestPayerFrom(a: Raw, env: NodeJS.ProcessEnv, config: Config): boolean | undefined {
  const payer = option({ a, env, config }, 'request-payer', oneOf(['requester'], 'the only value S3 knows'));
  return payer === undefined ? undefined : true;
}

/** --sse AES256|aws:kms [--sse-kms-key-id ID]; never with a customer key. */
function sseFrom(from: Sources, customerKey: boolean): ServerSideEncryption | undefined {
  const type = option(from, 'sse', oneOf(['AES256', 'aws:kms'], 'SSE-S3 or SSE-KMS'));
  const kmsKeyId = option(from, 'sse-kms-key-id', headerText);
  if (kmsKeyId !== undefined && type !== 'aws:kms') throw new UsageError('--sse-kms-key-id needs --sse aws:kms');
  if (type && customerKey) throw new UsageError('--sse and --sse-c exclude each other: an object has one kind of encryption');
  if (type === 'aws:kms') return { type, kmsKeyId };
  return type === 'AES256' ? { type } : undefined;
}

const HEADER_KEYS = {
  contentType: 'content-type',
  cacheControl: 'cache-control',
  contentDisposition: 'content-disposition',
  contentEncoding: 'content-encoding',
  contentLanguage: 'content-language',
} as const satisfies Record<string, ConfigKey>;

/** `cp`'s object options: what every object it writes gets. */
export function objectOptionsFrom(a: Raw, env: NodeJS.ProcessEnv, config: Config, customerKey: boolean): ObjectOptions {
  const from = { a, env, config };
  const get = <T>(key: ConfigKey, parse: (v: Value, key: string) => T) => option(from, key, parse);
  const headers: ObjectHeaders = {};
  for (const [field, key] of Object.entries(HEADER_KEYS)) {
    const value = get(key, headerText);
    if (value !== undefined) headers[field as keyof typeof HEADER_KEYS] = value;
  }
  const exp = get('expires', expires);
  if (exp) headers.expires = exp;
  // Maps from the config file are read as they are; a flag or a variable is text.
  const metadata = a.metadata !== undefined ? parseMetadata(a.metadata, '--metadata') : pick('metadata', undefined, env, config, (v) => parseMetadata(v, 'metadata'));
  const tagging = a.tagging !== undefined ? parseTagging(a.tagging, '--tagging') : pick('tagging', undefined, env, config, (v) => parseTagging(v, 'tagging'));
  return {
    settings: {
      ...(Object.keys(headers).length ? { headers } : {}),
      storageClass: get('storage-class', storageClass),
      acl: get('acl', cannedAcl),
      tagging,
      sse: sseFrom(from, customerKey),
    },
    metadata: metadata ?? {},
    guessContentType: get('guess-mime-type', flagBoolean) ?? true,
  };
}
