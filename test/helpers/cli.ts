// Helpers for end-to-end tests: run the built CLI, point it at the test S3 server,
// make temp dirs and S3 clients/buckets.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { afterAll, inject, onTestFinished } from 'vitest';
import type { S3Info } from './context.js';

export type { S3Info };

/** Repository root (the directory holding package.json). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI entry point. Build it first (`npm run build`); the helpers do not. */
export const CLI_BIN = path.join(REPO_ROOT, 'bin', 's3xfer.js');

export interface CliOptions {
  /** Merged over process.env; a value of `undefined` removes the variable. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the CLI's stdin, which is then closed (stdin is always closed). */
  input?: Buffer | string;
  /** runCli only: kill the CLI (SIGKILL) and reject after this long. Default 50 s (under the 60 s test timeout). */
  timeoutMs?: number;
}

export interface CliResult {
  /** Exit code, or null if killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// ---------------------------------------------------------------------------
// Cleanup: inside a test, things are cleaned up when that test finishes; outside
// one (describe body, beforeAll), when the file's tests are done.

const fileCleanups: (() => void)[] = [];
afterAll(() => {
  for (const fn of fileCleanups.splice(0).reverse()) fn();
});

function onCleanup(fn: () => void): void {
  try {
    onTestFinished(() => fn());
  } catch {
    fileCleanups.push(fn); // not inside a running test
  }
}

// ---------------------------------------------------------------------------
// Running the CLI

/**
 * Spawns `node bin/s3xfer.js ...args` with piped stdio, for tests that need to
 * interact with or kill the process. It is SIGKILLed at cleanup if still running.
 */
export function spawnCli(args: string[], opts: CliOptions = {}): ChildProcess {
  if (!existsSync(CLI_BIN)) {
    throw new Error(`${CLI_BIN} not found: build the CLI first (npm run build)`);
  }
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin?.on('error', () => {}); // the CLI may exit without reading stdin
  child.stdin?.end(opts.input);
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Runs the built CLI to completion and collects its output. Rejects only on timeout or spawn failure. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 50_000;
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawnCli(args, opts);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => stdout.push(b));
    child.stderr?.on('data', (b: Buffer) => stderr.push(b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `s3xfer ${args.join(' ')} timed out after ${timeoutMs} ms\n` +
            `--- stdout ---\n${Buffer.concat(stdout).toString()}\n--- stderr ---\n${Buffer.concat(stderr).toString()}`,
        ),
      );
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close' rather than 'exit': all output has been read by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      });
    });
  });
}

/**
 * Environment pointing the CLI (and the AWS SDK) at the test server, or at
 * `endpointOverride` (e.g. a proxy's endpoint) with the same credentials.
 * Clears variables that would otherwise take precedence or interfere, and silences
 * the AWS SDK's "Node < 22" NodeVersionSupportWarning so it does not pollute stderr.
 */
export function s3Env(s3: S3Info, endpointOverride?: string): NodeJS.ProcessEnv {
  return {
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    AWS_REGION: s3.region,
    AWS_ENDPOINT_URL: endpointOverride ?? s3.endpoint,
    AWS_PROFILE: undefined,
    AWS_DEFAULT_PROFILE: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_ENDPOINT_URL_S3: undefined,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // The download mtime cache goes to a throw-away directory, never the user's ~/.cache.
    XDG_CACHE_HOME: testCacheHome(),
  };
}

let cacheHome: string | undefined;
function testCacheHome(): string {
  if (!cacheHome) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3xfer-cache-'));
    cacheHome = dir;
    fileCleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  return cacheHome;
}

// ---------------------------------------------------------------------------
// Temp dirs, S3 client, buckets

/** A fresh temp dir, removed when the current test (or, outside a test, the file) finishes. */
export function tmpdir(prefix = 's3xfer-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An S3Client for the test server (path-style; checksums only when required). */
export function makeClient(s3: S3Info, overrides: S3ClientConfig = {}): S3Client {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...overrides,
  });
  onCleanup(() => client.destroy());
  return client;
}

/** Creates a bucket with a unique name (`t-<16 hex>`) and returns the name. */
export async function createBucket(client: S3Client, prefix = 't'): Promise<string> {
  const name = `${prefix}-${randomBytes(8).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** What every e2e file starts with: the test server, an environment pointing the CLI at it, an S3 client. */
export function e2eContext(): { s3: S3Info; env: NodeJS.ProcessEnv; client: S3Client } {
  const s3 = inject('s3');
  return { s3, env: s3Env(s3), client: makeClient(s3) };
}
