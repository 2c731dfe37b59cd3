import type { ObjectHeaders } from './store.js';

// The object headers a client sets (Content-Type, Cache-Control, …), in the two spellings they go out in.

/** As the SDK's commands name them (CreateMultipartUpload, CopyObject, PutObject). */
export function headerFields(h: ObjectHeaders | undefined) {
  return {
    ContentType: h?.contentType,
    CacheControl: h?.cacheControl,
    ContentDisposition: h?.contentDisposition,
    ContentEncoding: h?.contentEncoding,
    ContentLanguage: h?.contentLanguage,
    Expires: h?.expires,
  };
}

/** Tags as S3 takes them on PUT and CreateMultipartUpload (`x-amz-tagging`): a URL query string. */
export function taggingOf(tags: Record<string, string> | undefined): string | undefined {
  return tags && Object.keys(tags).length > 0 ? new URLSearchParams(tags).toString() : undefined;
}

/** As HTTP headers, for our own PUT (s3-http.ts); absent ones are left out. */
export function objectHeaderFields(h: ObjectHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h?.contentType !== undefined) out['content-type'] = h.contentType;
  if (h?.cacheControl !== undefined) out['cache-control'] = h.cacheControl;
  if (h?.contentDisposition !== undefined) out['content-disposition'] = h.contentDisposition;
  if (h?.contentEncoding !== undefined) out['content-encoding'] = h.contentEncoding;
  if (h?.contentLanguage !== undefined) out['content-language'] = h.contentLanguage;
  if (h?.expires !== undefined) out.expires = h.expires.toUTCString();
  return out;
}
