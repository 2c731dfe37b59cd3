import { UsageError } from '../errors.js';
import { formatS3, type Location, type S3Location } from '../location.js';
import type { ObjectInfo } from '../engine/store.js';
import { planOf, type Plan } from '../engine/model.js';
import type { PlanDeps, PlanOptions } from './plan.js';

/** The one object a copy without -r names (the version asked for, if any); a prefix or a missing key is a usage error. */
export async function headSingle(src: S3Location, opts: PlanOptions, deps: PlanDeps): Promise<ObjectInfo> {
  const url = formatS3(src.bucket, src.key);
  if (src.key === '' || src.key.endsWith('/')) throw new UsageError(`${url} is a prefix, not an object: use -r to copy everything under it`);
  const noVersion = () => new UsageError(`${url}: no version '${opts.versionId}' (list them with aws s3api list-object-versions)`);
  // An S3 → S3 copy's source may have its own store (another endpoint or account).
  const info = await (deps.sourceStore ?? deps.store).head(src.bucket, src.key, deps.signal, opts.versionId).catch((err: unknown) => {
    // A version ID the server cannot even parse is a bodiless 400 to a HEAD.
    throw opts.versionId && (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 400 ? noVersion() : err;
  });
  if (info) return opts.versionId ? { ...info, versionId: opts.versionId } : info;
  if (opts.versionId) throw noVersion();
  throw new UsageError(`${url}: no such object (use -r to copy everything under a prefix)`);
}

/** --version-id names one version of one object: a download or a copy source, never a tree or an upload. */
export function checkVersionId(src: Location, opts: PlanOptions): void {
  if (opts.versionId === undefined) return;
  if (src.kind !== 's3') throw new UsageError(`--version-id picks a version of the source object: the source must be s3://bucket/key`);
  if (opts.recursive) throw new UsageError(`--version-id names one object's version: it cannot be used with -r`);
}

/**
 * `cp s3://b/key -`: the object's bytes in order on standard output. Nothing is
 * resumable across runs (what was written cannot be taken back or found again),
 * so no checkpoint; -r and -u have no meaning here.
 */
export async function planStdout(src: Location, opts: PlanOptions, deps: PlanDeps): Promise<Plan> {
  if (src.kind !== 's3') throw new UsageError(`'-' as the destination is standard output: the source must be one object (s3://bucket/key)`);
  if (opts.recursive) throw new UsageError(`-r cannot write to standard output: a tree is many objects; give a directory as the destination`);
  if (opts.update) throw new UsageError(`-u compares with a destination file: standard output has none`);
  const info = await headSingle(src, opts, deps);
  const { key, size, etag, lastModifiedMs, versionId } = info;
  return planOf({ action: 'stdout', job: { bucket: src.bucket, key, size, etag, lastModifiedMs, versionId } });
}
