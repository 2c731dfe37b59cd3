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
    'request-payer': z.literal('requester'),
    'sse-c': z.literal('AES256'),
    'sse-c-key': z.string().startsWith('fileb://', 'give the key file as fileb://FILE: a key belongs in a file of its own, not in the config'),
    'content-type': z.string().min(1),
    'guess-mime-type': z.boolean(),
    'cache-control': z.string().min(1),
    'content-disposition': z.string().min(1),
    'content-encoding': z.string().min(1),
    'content-language': z.string().min(1),
    expires: z.string().min(1),
    metadata: z.union([z.string(), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))]),
    'storage-class': z.string().min(1),
    acl: z.string().min(1),
    tagging: z.union([z.string(), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))]),
    sse: z.enum(['AES256', 'aws:kms']),
    'sse-kms-key-id': z.string().min(1),
    bwlimit: z.union([z.string(), z.number()]),
    'min-size': z.union([z.string(), z.number()]),
    'max-size': z.union([z.string(), z.number()]),
    'min-age': z.string(),
    'max-age': z.string(),
    'newer-than': z.string(),
    'older-than': z.string(),
    delete: z.boolean(),
    shard: z.string().min(1),
    shards: z.union([z.string(), z.number()]),
  })
  .partial()
  .strict();

// The schema must name exactly the keys config.ts knows.
const _sameKeys: Record<ConfigKey, unknown> = configSchema.shape;
void _sameKeys;

