import type { CustomerKey, ObjectHeaders, ObjectSettings } from './store.js';

// ObjectSettings and SSE-C keys as they go out: SDK command fields for control calls (s3-store.ts),
// HTTP headers for our byte path (s3-http.ts). One place, so both paths set the same things.

/** The fields of PutObject / CreateMultipartUpload / CopyObject that ObjectSettings sets. */
export function settingsFields(s: ObjectSettings | undefined) {
  const h = s?.headers;
  return {
    ContentType: h?.contentType,
    CacheControl: h?.cacheControl,
    ContentDisposition: h?.contentDisposition,
    ContentEncoding: h?.contentEncoding,
    ContentLanguage: h?.contentLanguage,
    Expires: h?.expires,
    StorageClass: s?.storageClass as never,
    ACL: s?.acl as never,
    Tagging: s?.tagging,
    ServerSideEncryption: s?.sse?.type,
    SSEKMSKeyId: s?.sse?.type === 'aws:kms' ? s.sse.kmsKeyId : undefined,
  };
}

/** The text headers by their HTTP names, which are also their flags' names (the checkpoint records them so). */
export function textHeaders(h: ObjectHeaders | undefined): Record<string, string | undefined> {
  return {
    'content-type': h?.contentType,
    'cache-control': h?.cacheControl,
    'content-disposition': h?.contentDisposition,
    'content-encoding': h?.contentEncoding,
    'content-language': h?.contentLanguage,
  };
}

/** The same settings as request headers (names in lower case, as signed). */
export function settingsHeaders(s: ObjectSettings | undefined): Record<string, string> {
  const h = s?.headers;
  const out: Record<string, string | undefined> = {
    ...textHeaders(h),
    expires: h?.expires?.toUTCString(),
    'x-amz-storage-class': s?.storageClass,
    'x-amz-acl': s?.acl,
    'x-amz-tagging': s?.tagging,
    'x-amz-server-side-encryption': s?.sse?.type,
    'x-amz-server-side-encryption-aws-kms-key-id': s?.sse?.type === 'aws:kms' ? s.sse.kmsKeyId : undefined,
  };
  return Object.fromEntries(Object.entries(out).filter((e): e is [string, string] => e[1] !== undefined));
}

/** SSE-C fields of a command that reads or writes the object itself. */
export function customerKeyFields(k: CustomerKey | undefined) {
  return k ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.key, SSECustomerKeyMD5: k.keyMd5 } : {};
}

/** SSE-C fields naming the key of a copy's source. */
export function copySourceKeyFields(k: CustomerKey | undefined) {
  return k ? { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: k.key, CopySourceSSECustomerKeyMD5: k.keyMd5 } : {};
}

export function customerKeyHeaders(k: CustomerKey | undefined): Record<string, string> {
  if (!k) return {};
  return {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': k.key,
    'x-amz-server-side-encryption-customer-key-md5': k.keyMd5,
  };
}
