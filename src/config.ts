import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from './errors.js';

/** Keys of ~/.config/s3xfer/config.yaml: the flags a user would otherwise repeat on every line. */
export const CONFIG_KEYS = [
  'checkpoint-dir',
  'part-size',
  'bigfile-threshold',
  'chunk-size',
  'parallel',
  'jobs',
  'retries',
  'stall-timeout',
  'endpoint-url',
  'profile',
  'region',
  'addressing-style',
  'ca-bundle',
  'verify-ssl',
  'source-endpoint-url',
  'source-profile',
  'source-region',
  'source-ca-bundle',
  'source-verify-ssl',
  'metadata-directive',
  'request-payer',
  'sse-c',
  'sse-c-key',
  // What uploads set on the objects they write.
  'content-type',
  'guess-mime-type',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
  'metadata',
  'storage-class',
  'acl',
  'tagging',
  'sse',
  'sse-kms-key-id',
  'bwlimit',
  'min-size',
  'max-size',
  'min-age',
  'max-age',
  'newer-than',
  'older-than',
  'delete',
  'shard',
  'shards',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
/** `metadata` and `tagging` may be maps in the file; the rest are scalars. */
export type Config = Partial<Record<ConfigKey, string | number | boolean>>;

export function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 's3xfer', 'config.yaml');
}

/**
 * Read the config file: `--config FILE` (must exist), else the XDG default (may
 * be absent). Any problem is one line naming the file and the key.
 */
export async function loadConfig(explicit: string | undefined, env: NodeJS.ProcessEnv): Promise<Config> {
  const file = explicit ?? env.S3XFER_CONFIG ?? defaultConfigPath(env);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && explicit === undefined && env.S3XFER_CONFIG === undefined) return {};
    throw new UsageError(`config file ${file}: cannot read it (${code ?? 'error'}): check the path given to --config`);
  }
  // Parsing and validation load only when there is a file: most runs have none.
  const [{ default: YAML }, { configSchema }] = await Promise.all([import('yaml'), import('./config-schema.js')]);
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new UsageError(`config file ${file}: invalid YAML at line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  // `endpoint` reads more naturally in a file; accept it as endpoint-url.
  if (raw && typeof raw === 'object' && 'endpoint' in raw) {
    const r = raw as Record<string, unknown>;
    r['endpoint-url'] ??= r.endpoint;
    delete r.endpoint;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw new UsageError(`config file ${file}: unknown key '${issue.keys[0]}' (known keys: ${CONFIG_KEYS.join(', ')})`);
    }
    const key = issue.path.join('.') || '(top level)';
    throw new UsageError(`config file ${file}: key '${key}': ${issue.message}`);
  }
  return parsed.data as Config;
}

/** S3XFER_PART_SIZE for part-size, and so on. */
export function envNameFor(key: ConfigKey): string {
  return `S3XFER_${key.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * flag > environment > config file > built-in default. For connection keys the
 * AWS_* variables count as the environment: the SDK reads them itself, so a
 * config value must not override them.
 */
export function pick<T>(
  key: ConfigKey,
  flag: T | undefined,
  env: NodeJS.ProcessEnv,
  config: Config,
  parse: (value: string | number | boolean) => T,
  awsEnv: readonly string[] = [],
): T | undefined {
  if (flag !== undefined) return flag;
  const fromEnv = env[envNameFor(key)];
  if (fromEnv !== undefined && fromEnv !== '') return parse(fromEnv);
  if (awsEnv.some((name) => env[name])) return undefined;
  const fromConfig = config[key];
  return fromConfig === undefined ? undefined : parse(fromConfig);
}
