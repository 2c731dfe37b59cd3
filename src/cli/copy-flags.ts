import { UsageError } from '../errors.js';

// S3 → S3 flags: where the source is (another endpoint or account), and the metadata directive
// (--metadata and the header flags themselves are the upload ones: object-args.ts).

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
