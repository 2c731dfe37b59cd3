import { UsageError } from '../errors.js';
import type { ObjectMeta } from '../engine/store.js';

// S3 → S3 flags: where the source is (another endpoint or account) and what the copy carries.
// --metadata / --content-type are parsed here so that the upload header flags can share them.

/** The source's connection when it differs from the destination's (aws-cli's --source-region; rclone's two remotes). */
export interface SourceConnectionFlags {
  sourceProfile?: string | undefined;
  sourceRegion?: string | undefined;
  sourceEndpointUrl?: string | undefined;
  sourceCaBundle?: string | undefined;
  sourceVerifySsl?: boolean | undefined;
}

export const hasSourceFlags = (f: SourceConnectionFlags) => Object.values(f).some((v) => v !== undefined);

export type MetadataDirective = 'COPY' | 'REPLACE';

export function metadataDirective(value: string | number | boolean, flag: string): MetadataDirective {
  const v = String(value).toUpperCase();
  if (v !== 'COPY' && v !== 'REPLACE') throw new UsageError(`invalid ${flag} '${String(value)}': use COPY or REPLACE`);
  return v;
}

// A header value goes on the wire as is: printable ASCII only (S3 stores nothing else faithfully).
const PRINTABLE = /^[\x20-\x7e]*$/;
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * `--metadata k=v,k2=v2` (aws-cli's shorthand) or `--metadata '{"k":"v"}'`, repeatable; later
 * keys win. Keys are header tokens, lowercased (S3 stores them so); values printable ASCII.
 */
export function parseMetadata(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of values) {
    for (const [k, v] of pairsOf(text)) {
      if (!TOKEN.test(k)) throw new UsageError(`invalid --metadata key '${k}': use letters, digits and - _ . only`);
      if (!PRINTABLE.test(v)) throw new UsageError(`invalid --metadata value for '${k}': use printable ASCII only (no line breaks, no accents)`);
      out[k.toLowerCase()] = v;
    }
  }
  return out;
}

function pairsOf(text: string): [string, string][] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch {
      throw new UsageError(`invalid --metadata '${text}': not valid JSON; write k=v,k2=v2 or {"k":"v"}`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj) || Object.values(obj).some((v) => typeof v !== 'string')) {
      throw new UsageError(`invalid --metadata '${text}': a JSON object of strings, e.g. {"k":"v"}`);
    }
    return Object.entries(obj as Record<string, string>);
  }
  return trimmed.split(',').map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`invalid --metadata '${text}': write k=v,k2=v2 or {"k":"v"}`);
    return [pair.slice(0, at).trim(), pair.slice(at + 1)];
  });
}

/** What REPLACE writes: the command line's metadata and Content-Type, nothing of the source's (but its mtime). */
export function replaceMeta(metadata: readonly string[], contentType: string | undefined): ObjectMeta {
  if (contentType !== undefined && !PRINTABLE.test(contentType)) throw new UsageError(`invalid --content-type '${contentType}': use printable ASCII only`);
  return { metadata: parseMetadata(metadata), headers: contentType !== undefined ? { contentType } : {} };
}
