import { TransferError } from '../errors.js';
import type { CustomerKey, ObjectSettings } from '../engine/store.js';
import { textHeaders } from '../engine/object-wire.js';

/**
 * The options that change the object, as a checkpoint records them: by the name of their flag, so a
 * difference names the flag. An upload's settings are fixed when it is created (CreateMultipartUpload):
 * resuming it under other options would publish an object with the old ones. Of an SSE-C key only its
 * MD5 is kept (what S3 itself uses to name it); the key never reaches the disk.
 */
export type ObjectRecord = Record<string, string>;

export function objectRecord(settings: ObjectSettings | undefined, metadata: Record<string, string>, key: CustomerKey | undefined): ObjectRecord {
  const h = settings?.headers;
  const all: Record<string, string | undefined> = {
    ...textHeaders(h),
    expires: h?.expires?.toISOString(),
    metadata: Object.keys(metadata).length ? JSON.stringify(Object.fromEntries(Object.entries(metadata).sort())) : undefined,
    'storage-class': settings?.storageClass,
    acl: settings?.acl,
    tagging: settings?.tagging,
    sse: settings?.sse?.type,
    'sse-kms-key-id': settings?.sse?.type === 'aws:kms' ? settings.sse.kmsKeyId : undefined,
    'sse-c-key-md5': key?.keyMd5,
  };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * Refuse to resume under other options, in one line naming the first option that differs and the
 * fix. A checkpoint from before options were recorded has none to compare.
 */
export function checkSameObjectOptions(recorded: ObjectRecord | undefined, now: ObjectRecord, at: { name: string; id: string }): void {
  if (recorded === undefined) return;
  const fix = `rerun with the same options to resume, or \`s3xfer checkpoint clean ${at.id}\` to start over`;
  const then = recorded['sse-c-key-md5'];
  if (then !== now['sse-c-key-md5']) {
    const why = !now['sse-c-key-md5']
      ? `was encrypted with an SSE-C key (MD5 ${then}) and this run has none: pass the same --sse-c-key`
      : !then
        ? 'was started without --sse-c-key'
        : `was encrypted with another SSE-C key (MD5 ${then}, now ${now['sse-c-key-md5']}): pass the same --sse-c-key`;
    throw new TransferError(`${at.name}: the checkpoint's transfer ${why}; ${fix}`);
  }
  for (const name of new Set([...Object.keys(recorded), ...Object.keys(now)])) {
    if (recorded[name] === now[name]) continue;
    const show = (v: string | undefined) => (v === undefined ? 'none' : `'${v}'`);
    throw new TransferError(`${at.name}: the checkpoint was started with --${name} ${show(recorded[name])}, this run asks for ${show(now[name])}; ${fix}`);
  }
}
