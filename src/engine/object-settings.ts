import type { ObjectSettings } from './store.js';

/** What the command line asks of every object an upload writes. */
export interface ObjectOptions {
  /** Set on every object; `headers.contentType` only when forced with --content-type. */
  settings: ObjectSettings;
  /** --metadata: user metadata (x-amz-meta-*) on every object, beside our own `mtime`. */
  metadata: Record<string, string>;
  /** Guess Content-Type from the key's extension when it is not forced (--no-guess-mime-type: never). */
  guessContentType: boolean;
  /**
   * The guess, from a file name: `mime`'s getType (mime-db), loaded only by runs that upload (its table
   * costs ~6 ms of start-up that downloads need not pay). No guess without it.
   */
  typeOf?: ((name: string) => string | null | undefined) | undefined;
}

export const NO_OBJECT_OPTIONS: ObjectOptions = { settings: {}, metadata: {}, guessContentType: false };

/**
 * The settings for one object: the run's, with a Content-Type guessed from the key (the file's name,
 * or the key given for standard input) by `mime` (mime-db). No guess for a name without a known
 * extension: the server's default applies (binary/octet-stream on S3), as aws-cli does. `.gz` is
 * application/gzip, never a Content-Encoding: a browser would unpack it on the fly.
 */
export function settingsFor(opts: ObjectOptions, key: string): ObjectSettings {
  if (opts.settings.headers?.contentType !== undefined || !opts.guessContentType || !opts.typeOf) return opts.settings;
  const guessed = opts.typeOf(key.slice(key.lastIndexOf('/') + 1)) ?? undefined;
  return guessed ? { ...opts.settings, headers: { ...opts.settings.headers, contentType: guessed } } : opts.settings;
}

/** The object's user metadata: the run's --metadata and the file's mtime (ours: -u reads it back). */
export function metadataFor(opts: ObjectOptions, own: Record<string, string>): Record<string, string> {
  return { ...opts.metadata, ...own };
}
