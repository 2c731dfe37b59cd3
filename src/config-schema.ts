import { z } from 'zod';
import type { ConfigKey } from './config.js';

/** Validation of the config file; loaded only when there is one. */
export const configSchema = z
  .object({
    'checkpoint-dir': z.string().min(1),
    'part-size': z.union([z.string(), z.number()]),
    'bigfile-threshold': z.union([z.string(), z.number()]),
    'chunk-size': z.union([z.string(), z.number()]),
    parallel: z.number().int().min(1),
    jobs: z.number().int().min(1),
    retries: z.number().int().min(1),
    'stall-timeout': z.union([z.string(), z.number()]),
    'endpoint-url': z.string().url(),
    profile: z.string().min(1),
    region: z.string().min(1),
    'addressing-style': z.enum(['path', 'virtual']),
    'ca-bundle': z.string().min(1),
    'verify-ssl': z.boolean(),
    'source-endpoint-url': z.string().url(),
    'source-profile': z.string().min(1),
    'source-region': z.string().min(1),
    'source-ca-bundle': z.string().min(1),
    'source-verify-ssl': z.boolean(),
    'metadata-directive': z.enum(['COPY', 'REPLACE', 'copy', 'replace']),
  })
  .partial()
  .strict();

// The schema must name exactly the keys config.ts knows.
const _sameKeys: Record<ConfigKey, unknown> = configSchema.shape;
void _sameKeys;

