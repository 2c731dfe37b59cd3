import { UsageError } from '../errors.js';
import type { Location } from '../location.js';
import type { ResumeOptions } from '../checkpoint/schema.js';
import type { CpOptions } from './args.js';
import { hasSourceFlags } from './copy-flags.js';
import type { SourceConnected } from './connect.js';

/** Flags that mean something only for S3 → S3 are refused elsewhere: silently ignoring one would surprise. */
export function checkCopyFlags(opts: CpOptions, src: Location, dst: Location): void {
  const copy = src.kind === 's3' && dst.kind === 's3';
  if (!copy && hasSourceFlags(opts.sourceConnection)) {
    throw new UsageError('--source-endpoint-url, --source-profile, --source-region and --source-ca-bundle apply to S3 → S3 copies only: the source must be s3://…');
  }
  if (!copy && opts.metadataDirective !== undefined) throw new UsageError('--metadata-directive applies to S3 → S3 copies only');
  // Copies carry the source's tags (server-side and streamed alike); a --tagging typed here would be dropped.
  if (copy && opts.objectFlags.includes('--tagging')) {
    throw new UsageError("--tagging applies to uploads: an S3 → S3 copy carries the source's tags; tag the copies afterwards");
  }
  // From the config file they are upload defaults; on the command line they mean this copy.
  if (copy && opts.metadataDirective !== 'REPLACE' && opts.objectFlags.length > 0) {
    throw new UsageError(`${opts.objectFlags.join(', ')} on a copy replace${opts.objectFlags.length === 1 ? 's' : ''} the source's: add --metadata-directive REPLACE (the source's other headers and metadata are then dropped)`);
  }
}

/** What `resume` needs to redo a copy: how to reach another source, and REPLACE (its values are in the object record). */
export function recordedCopy(opts: CpOptions, source: SourceConnected | undefined): Pick<ResumeOptions, 'source' | 'metadataDirective'> {
  const out: Pick<ResumeOptions, 'source' | 'metadataDirective'> = {};
  if (source?.streamed) {
    out.source = {
      ...(source.profile ? { profile: source.profile } : {}),
      region: source.region,
      ...(source.customEndpoint ? { endpointUrl: source.customEndpoint } : {}),
    };
  }
  if (opts.metadataDirective === 'REPLACE') out.metadataDirective = 'REPLACE';
  return out;
}
