import { resolveEndpoint } from '../engine/s3-client.js';
import type { Checkpoint } from '../checkpoint/schema.js';
import { shellQuote } from '../checkpoint/trust.js';
import type { CommonOptions } from './args.js';

/** Where and as whom a resume may connect: what the checkpoint recorded, now confirmed. */
export interface Confirmed {
  ok: true;
  endpointUrl: string | undefined;
  profile: string | undefined;
}
export type Confirmation = Confirmed | { ok: false; reason: string };

/** Scheme, host, port (default ones dropped) and path without a trailing slash: `http://h:9000/` is `http://h:9000`. */
export function sameEndpoint(a: string, b: string): boolean {
  const norm = (u: string) => {
    try {
      const url = new URL(u);
      return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
    } catch {
      return u;
    }
  };
  return norm(a) === norm(b);
}

const awsDefault = (region: string | undefined) => `https://s3.${region ?? ''}.amazonaws.com`;

/**
 * A checkpoint names the server its bytes go to, and the profile whose
 * credentials sign them. `resume` follows it only when that is what is
 * configured now (flag, environment, config file, profile): a different one
 * must be confirmed with --endpoint-url / --profile equal to the recorded one,
 * so a checkpoint can never send a file somewhere the user did not choose.
 */
export async function confirmResume(cp: Checkpoint, opts: CommonOptions, env: NodeJS.ProcessEnv): Promise<Confirmation> {
  const o = cp.options;
  const objectEndpoint = cp.kind === 'download' ? cp.source.endpoint : cp.destination.endpoint;
  // s3xfer writes the same endpoint in both places (AWS's regional one when none was set): a checkpoint that disagrees was edited.
  if (!sameEndpoint(o.endpointUrl ?? awsDefault(o.region), objectEndpoint)) {
    return {
      ok: false,
      reason: `checkpoint ${cp.id} records two endpoints (${o.endpointUrl ?? 'none'} and ${objectEndpoint}): not resumed; remove it with \`s3xfer checkpoint clean ${cp.id}\``,
    };
  }
  const current = await resolveEndpoint({ endpointUrl: opts.endpointUrl, profile: opts.profile, maxSockets: 1 }, env);
  const endpointOk = current === undefined ? o.endpointUrl === undefined : sameEndpoint(current, objectEndpoint);
  const profileOk = (o.profile ?? 'default') === (opts.profile ?? 'default');
  if (endpointOk && profileOk) {
    // The recorded spelling: the checkpoint's id hashes it, so the resumed cp finds this checkpoint.
    return { ok: true, endpointUrl: current === undefined ? undefined : objectEndpoint, profile: opts.profile };
  }
  const then: string[] = [];
  const now: string[] = [];
  const flags: string[] = [];
  if (!endpointOk) {
    then.push(`endpoint ${objectEndpoint}`);
    now.push(`endpoint ${current ?? 'AWS S3 (none set)'}`);
    flags.push(`--endpoint-url ${shellQuote(objectEndpoint)}`);
  }
  if (!profileOk) {
    then.push(`profile ${o.profile ?? 'default'}`);
    now.push(`profile ${opts.profile ?? 'default'}`);
    flags.push(`--profile ${shellQuote(o.profile ?? 'default')}`);
  }
  return {
    ok: false,
    reason: `checkpoint ${cp.id} was recorded for ${then.join(' and ')}, but ${now.join(' and ')} is configured now: not resumed, nothing sent; if you trust it, confirm with ${flags.join(' ')}`,
  };
}
