import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import type { AgentOptions } from 'node:https';
import { loadConfig } from '@smithy/core/config';
import { UsageError } from '../errors.js';

export interface TlsFlags {
  profile?: string | undefined;
  /** --ca-bundle (or S3XFER_CA_BUNDLE, or the config file's ca-bundle). */
  caBundle?: string | undefined;
  /** false for --no-verify-ssl. */
  verifySsl?: boolean | undefined;
}

/** aws-cli's precedence: --ca-bundle, else AWS_CA_BUNDLE, else the profile's ca_bundle. */
async function resolveCaBundle(flags: TlsFlags, env: NodeJS.ProcessEnv): Promise<{ file: string; from: string } | undefined> {
  if (flags.caBundle !== undefined) return { file: flags.caBundle, from: '--ca-bundle' };
  if (env.AWS_CA_BUNDLE) return { file: env.AWS_CA_BUNDLE, from: 'AWS_CA_BUNDLE' };
  const fromProfile = await loadConfig<string | undefined>(
    { environmentVariableSelector: () => undefined, configFileSelector: (p) => p.ca_bundle, default: () => undefined },
    { profile: flags.profile },
  )();
  return fromProfile ? { file: fromProfile, from: `ca_bundle of profile ${flags.profile ?? env.AWS_PROFILE ?? 'default'}` } : undefined;
}

/**
 * The PEM certificates in the file, each checked: node would silently ignore
 * a bundle it cannot read, and every connection would then fail as untrusted.
 */
export async function readCaBundle(file: string, from: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the CA bundle ${file} (${from}): ${(err as NodeJS.ErrnoException).code ?? 'error'}: check the path`);
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new UsageError(`the CA bundle ${file} (${from}) holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch {
      throw new UsageError(`the CA bundle ${file} (${from}) holds a certificate that cannot be read: export it again as PEM`);
    }
  }
  return pems.join('\n');
}

/**
 * Options for the one https.Agent that the SDK client and our byte path share,
 * so both trust exactly the same servers. A CA bundle replaces the system's
 * CAs, as in aws-cli.
 */
export async function tlsAgentOptions(flags: TlsFlags, env: NodeJS.ProcessEnv): Promise<AgentOptions> {
  if (flags.verifySsl === false) return { rejectUnauthorized: false };
  const bundle = await resolveCaBundle(flags, env);
  return bundle ? { ca: await readCaBundle(bundle.file, bundle.from) } : {};
}
