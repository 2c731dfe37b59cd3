import path from 'node:path';
import { UsageError } from './errors.js';
import { canonicalPath, encodeText } from './local-path.js';

export interface S3Location {
  kind: 's3';
  bucket: string;
  /** Key or prefix, exactly as given after the bucket ('' for the bucket root). */
  key: string;
}
export interface LocalLocation {
  kind: 'local';
  /** Absolute path, in the encoded form of local-path.ts (names that are not UTF-8 survive). */
  path: string;
  /** The user wrote a trailing separator: they mean a directory. */
  isDirHint: boolean;
}
export interface StdinLocation {
  kind: 'stdin';
}
export type Location = S3Location | LocalLocation | StdinLocation;

const MAX_KEY_BYTES = 1024;

/** Parse a command-line location: `s3://bucket/key`, `-` (stdin), or a local path. */
export function parseLocation(text: string, cwd: string, encoded = false): Location {
  if (text === '-') return { kind: 'stdin' };
  if (/^s3:/i.test(text)) {
    const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(text);
    if (!m) throw new UsageError(`invalid S3 URL '${text}': write it as s3://bucket/key`);
    const bucket = m[1]!;
    const key = m[2] ?? '';
    if (bucket === '') throw new UsageError(`invalid S3 URL '${text}': no bucket name; write it as s3://bucket/key`);
    checkBucketName(bucket, text);
    checkKeyLength(key);
    return { kind: 's3', bucket, key };
  }
  return {
    kind: 'local',
    path: encoded ? path.resolve(cwd, text) : encodeText(path.resolve(cwd, text)),
    isDirHint: text.endsWith('/') || text.endsWith(path.sep) || text === '.' || text === '..',
  };
}

/** S3 bucket naming rules; a clear error beats the server's "InvalidBucketName". */
export function checkBucketName(bucket: string, url = `s3://${bucket}`): void {
  const ok =
    bucket.length >= 3 &&
    bucket.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket) &&
    !bucket.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(bucket);
  if (!ok) {
    throw new UsageError(
      `invalid bucket name '${bucket}' in '${url}': use 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit`,
    );
  }
}

export function checkKeyLength(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new UsageError(
      `key '${key.slice(0, 60)}…' is ${bytes} bytes; S3 allows at most ${MAX_KEY_BYTES} bytes: use a shorter name or prefix`,
    );
  }
}

export function formatS3(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function formatLocation(loc: Location): string {
  if (loc.kind === 's3') return formatS3(loc.bucket, loc.key);
  if (loc.kind === 'stdin') return '-';
  return loc.path;
}

/** A prefix that names a "directory": '' stays '', otherwise it ends with '/'. */
export function asDirPrefix(prefix: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** The last segment of a key, as a file name. */
export function keyBasename(key: string): string {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/**
 * Map a key, relative to a listed prefix, to a path under `root`. Empty and `.`
 * segments are dropped (`a//b` and `a/./b` land at `a/b`: the plan refuses keys
 * that collide). Returns undefined when the key would escape `root`: a `..`
 * segment or an absolute key. Names that merely start with dots (`..x`, `...`)
 * are ordinary names.
 */
export function safeLocalPath(root: string, relativeKey: string): string | undefined {
  if (relativeKey.startsWith('/') || relativeKey.includes('\0')) return undefined;
  const segments = relativeKey.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.some((s) => s === '..')) return undefined;
  if (path.sep === '\\' && segments.some((s) => s.includes('\\') || /^[a-zA-Z]:/.test(s))) return undefined;
  return canonicalPath(path.join(root, ...segments));
}
