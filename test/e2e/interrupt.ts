import fs from 'node:fs';
import path from 'node:path';
import { s3Env, spawnCli, tmpdir } from '../helpers/cli.js';
import type { S3Info } from '../helpers/context.js';
import { startProxy, type Proxy, type ProxyRequestInfo, type RecordedRequest } from '../helpers/proxy.js';
import { MiB, exitOf, makeTree, waitFor } from './fixtures.js';

export const RESUME_FLAGS = ['--part-size', '5MiB', '--bigfile-threshold', '5MiB', '--parallel', '2', '--no-progress'];
export const isPart = (r: { method: string; query: Record<string, string> }) => r.method === 'PUT' && 'partNumber' in r.query;
/** A GET of an object's bytes: not a listing (of objects, uploads or parts), nor of its tags. */
export const isObjectGet = (r: ProxyRequestInfo) =>
  r.method === 'GET' && !('list-type' in r.query) && !('uploads' in r.query) && !('uploadId' in r.query) && !('tagging' in r.query) && r.path.split('/').length > 2;
export const fetchedBytes = (reqs: RecordedRequest[]) => reqs.filter(isObjectGet).reduce((n, r) => n + r.responseBytes, 0);

/** A slow link for uploads, so a kill lands mid-transfer. */
export function slowUploadProxy(s3: S3Info, bytesPerSecond = 6 * MiB): Promise<Proxy> {
  return startProxy({ target: s3.endpoint, rules: [{ match: isPart, action: { bytesPerSecond } }] });
}

/** Start `cp FILE s3://bucket/key --checkpoint-dir` through a slow link and stop it once `parts` parts are on the server. */
export async function interruptedUpload(
  s3: S3Info,
  opts: {
    bucket: string;
    key: string;
    size?: number;
    signal: NodeJS.Signals;
    parts: number;
    /** Also wait until the checkpoint file records this many parts (saves are coalesced and may lag the server). */
    savedParts?: number;
    extraArgs?: string[];
  },
) {
  const proxy = await slowUploadProxy(s3);
  const dir = tmpdir();
  const file = path.join(dir, 'big.bin');
  makeTree(dir, { 'big.bin': opts.size ?? 64 * MiB });
  const ckpt = path.join(dir, '.ckpt');
  const args = ['cp', file, `s3://${opts.bucket}/${opts.key}`, '--checkpoint-dir', ckpt, ...RESUME_FLAGS, ...(opts.extraArgs ?? [])];
  const child = spawnCli(args, { env: s3Env(s3, proxy.endpoint) });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(() => proxy.requests.filter((r) => isPart(r) && r.status === 200).length >= opts.parts, 40_000, 'parts to finish');
  if (opts.savedParts) await waitFor(() => savedParts(ckpt) >= opts.savedParts!, 20_000, 'the checkpoint to record parts');
  child.kill(opts.signal);
  const exit = await exitOf(child);
  return { proxy, dir, file, ckpt, args, exit, stderr: () => stderr };
}

/** Parts recorded in the (single) .ucp in `dir`. */
export function savedParts(dir: string): number {
  const name = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.ucp')) : undefined;
  if (!name) return 0;
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as { parts: unknown[] }).parts.length;
  } catch {
    return 0;
  }
}
