import http from 'node:http';
import { format } from 'node:util';
import https from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { S3DataPath } from './s3-http.js';
import { tlsAgentOptions } from './tls.js';
import { checkEndpoint } from '../endpoint.js';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';

export interface ConnectionOptions {
  profile?: string | undefined;
  region?: string | undefined;
  endpointUrl?: string | undefined;
  addressingStyle?: 'path' | 'virtual' | undefined;
  /** Sockets kept open per host: at least the requests in flight. */
  maxSockets: number;
  /** Show the SDK's own warnings on stderr. */
  debug?: boolean | undefined;
  /** A request whose connection sends nothing for this long fails (and is retried). */
  stallTimeoutMs?: number | undefined;
  /** PEM file of the CAs to trust (else AWS_CA_BUNDLE, else the profile's ca_bundle). */
  caBundle?: string | undefined;
  /** false: TLS certificates are not checked. */
  verifySsl?: boolean | undefined;
  /** --request-payer requester: every request, control calls and bytes, says the requester pays. */
  requestPayer?: boolean | undefined;
}

/** --endpoint-url, else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else the profile's endpoint_url. */
export async function resolveEndpoint(opts: ConnectionOptions, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  // Checked here too: the AWS_* variables and the profile never pass through the argument checks.
  if (opts.endpointUrl !== undefined) return checkEndpoint(opts.endpointUrl, '--endpoint-url');
  if (env.AWS_ENDPOINT_URL_S3) return checkEndpoint(env.AWS_ENDPOINT_URL_S3, 'AWS_ENDPOINT_URL_S3');
  if (env.AWS_ENDPOINT_URL) return checkEndpoint(env.AWS_ENDPOINT_URL, 'AWS_ENDPOINT_URL');
  return profileEndpoint(opts.profile, env);
}

/** The profile's `endpoint_url` in ~/.aws/config, if any. */
export async function profileEndpoint(profile: string | undefined, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const fromProfile = await loadConfig<string | undefined>(
    {
      environmentVariableSelector: () => undefined,
      configFileSelector: (p) => p.endpoint_url,
      default: () => undefined,
    },
    { profile },
  )();
  return fromProfile === undefined ? undefined : checkEndpoint(fromProfile, `endpoint_url (profile ${profile ?? env.AWS_PROFILE ?? 'default'})`);
}

/** Region from the flag, the environment or the profile; S3-compatible servers rarely care, so default to us-east-1. */
async function resolveRegion(opts: ConnectionOptions): Promise<string> {
  if (opts.region) return opts.region;
  try {
    return await loadConfig(NODE_REGION_CONFIG_OPTIONS, { ...NODE_REGION_CONFIG_FILE_OPTIONS, profile: opts.profile })();
  } catch {
    return 'us-east-1';
  }
}

/**
 * The S3 client, tuned from measurements on this machine: our own keep-alive
 * agents (the default handler sends `Expect: 100-continue` and opens a new
 * connection per large part), no SDK checksums (pure JS and slow; we send native
 * CRC32C ourselves), and no SDK retries (ours re-read the body from its source).
 */
const truthy = (v: string | undefined) => v !== undefined && v !== '' && v.toLowerCase() !== 'false';
const noop = () => {};
const silentLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
const debugLogger = {
  ...silentLogger,
  warn: (...args: unknown[]) => process.stderr.write(`sdk: ${format(...args)}\n`),
  error: (...args: unknown[]) => process.stderr.write(`sdk: ${format(...args)}\n`),
};

export interface S3Connection {
  client: S3Client;
  /** The endpoint in use; for AWS, the regional default. Part of a checkpoint's id. */
  endpoint: string;
  /** A custom (non-AWS-default) endpoint: `resume` must pass it explicitly. */
  customEndpoint: string | undefined;
  region: string;
  /** GET/PUT/UploadPart without the SDK's per-request overhead (undefined: the SDK carries them). */
  dataPath: S3DataPath | undefined;
}

export async function createS3Client(opts: ConnectionOptions, env: NodeJS.ProcessEnv): Promise<S3Connection> {
  const endpoint = await resolveEndpoint(opts, env);
  const region = await resolveRegion(opts);
  const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets, keepAliveMsecs: 1000 };
  const httpAgent = new http.Agent(agentOptions);
  // One agent for the SDK and the byte path: --ca-bundle and --no-verify-ssl apply to both. An http://
  // endpoint never uses it, so its CA bundle is not read (checking a system bundle costs ~20 ms).
  const tls = endpoint?.startsWith('http://') ? {} : await tlsAgentOptions(opts, env);
  const httpsAgent = new https.Agent({ ...agentOptions, ...tls });
  const forcePathStyle = opts.addressingStyle ? opts.addressingStyle === 'path' : endpoint !== undefined;
  const config = {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(opts.profile ? { profile: opts.profile } : {}),
    forcePathStyle,
    requestHandler: new NodeHttpHandler({
      httpAgent,
      httpsAgent,
      connectionTimeout: 10_000,
      // Inactivity, not total time: a large part may take long, a silent connection may not.
      socketTimeout: opts.stallTimeoutMs ?? 30_000,
    }),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    // The SDK writes some warnings with console.warn unless given a logger: users never see SDK noise.
    logger: opts.debug ? debugLogger : silentLogger,
  } satisfies S3ClientConfig;
  const client = new S3Client(config);
  if (opts.requestPayer) {
    // On every command (list, head, the multipart calls, aborts…), not only those with a RequestPayer field;
    // added before signing, so the header is signed.
    client.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers['x-amz-request-payer'] = 'requester';
        return next(args);
      },
      { step: 'build', name: 's3xferRequestPayer' },
    );
  }
  // Our byte path knows the standard AWS partition only; elsewhere (China, GovCloud, FIPS, dual-stack)
  // the SDK's endpoint rules decide, and the SDK carries the bytes too.
  const sdkOnly =
    !endpoint && (!/^[a-z]{2}-[a-z]+-\d$/.test(region) || /^(cn|us-gov|us-iso)/.test(region) || truthy(env.AWS_USE_FIPS_ENDPOINT) || truthy(env.AWS_USE_DUALSTACK_ENDPOINT));
  const dataPath = sdkOnly ? undefined : new S3DataPath({
    endpoint,
    region,
    forcePathStyle,
    // The client's own provider chain: env, profile, SSO, IMDS… resolved and cached by the SDK.
    credentials: () => client.config.credentials(),
    httpAgent,
    httpsAgent,
    stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
    clockOffsetMs: () => client.config.systemClockOffset ?? 0,
    requestPayer: opts.requestPayer,
  });
  return { client, dataPath, endpoint: endpoint ?? `https://s3.${region}.amazonaws.com`, customEndpoint: endpoint, region };
}
