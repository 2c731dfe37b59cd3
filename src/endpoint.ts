import { UsageError } from './errors.js';

/**
 * An endpoint must be an http:// or https:// URL with a host: anything else
 * would fail later, once per file, with a message about something else.
 * `from` names where the value came from (flag, variable, file).
 */
export function checkEndpoint(text: string, from: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new UsageError(`invalid ${from} '${text}': use an http:// or https:// URL, e.g. http://127.0.0.1:9000 or https://s3.example.com`);
  }
  return text;
}
