import { UsageError } from '../errors.js';
import type { Location } from '../location.js';
import type { ResumeOptions } from '../checkpoint/schema.js';
import type { CpOptions } from './args.js';
import { hasSourceFlags, parseMetadata } from './copy-flags.js';
import type { SourceConnected } from './connect.js';

/** Flags that mean something only for S3 → S3 are refused elsewhere: silently ignoring one would surprise. */
export function checkCopyFlags(opts: CpOptions, src: Location, dst: Location): void {
  const copy = src.kind === 's3' && dst.kind === 's3';
  if (!copy && hasSourceFlags(opts.sourceConnection)) {
    throw new UsageError('--source-endpoint-url, --source-profile, --source-region and --source-ca-bundle apply to S3 → S3 copies only: the source must be s3://…');
  }
  if (!copy && opts.metadataDirective !== undefined) throw new UsageError('--metadata-directive applies to S3 → S3 copies only');
  if (copy && opts.metadataDirective !== 'REPLACE' && (opts.metadata.length > 0 || opts.contentType !== undefined)) {
    throw new UsageError("--metadata and --content-type replace the source's on a copy: add --metadata-directive REPLACE (the source's other headers are then dropped)");
  }
  if (!copy && (opts.metadata.length > 0 || opts.contentType !== undefined)) {
    throw new UsageError('--metadata and --content-type apply to S3 → S3 copies only (with --metadata-directive REPLACE)');
  }
}

/** What `resume` needs to redo a copy: how to reach another source, and a REPLACE's metadata. */
export function recordedCopy(opts: CpOptions, source: SourceConnected | undefined): Pick<ResumeOptions, 'source' | 'replace'> {
  const out: Pick<ResumeOptions, 'source' | 'replace'> = {};
  if (source?.streamed) {
    out.source = {
      ...(source.profile ? { profile: source.profile } : {}),
      region: source.region,
      ...(source.customEndpoint ? { endpointUrl: source.customEndpoint } : {}),
    };
  }
  if (opts.metadataDirective === 'REPLACE') {
    out.replace = { metadata: parseMetadata(opts.metadata), ...(opts.contentType !== undefined ? { contentType: opts.contentType } : {}) };
  }
  return out;
}
