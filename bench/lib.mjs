// Helpers shared by the benchmarks (run.mjs, scale.mjs): timed child processes with peak RSS and
// CPU from GNU time, statistics, and clean-up on every exit path.

import { execFileSync, spawn } from 'node:child_process';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export const MiB = 1 << 20;
export const RUN_TIMEOUT_MS = 10 * 60_000;

export const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const best = (xs) => (xs.length ? Math.min(...xs) : null);

/** GNU time's path, installing the Debian package `time` if it is missing; undefined when there is none. */
export function ensureGnuTime() {
  const ok = () => {
    try {
      return /GNU/.test(execFileSync('/usr/bin/time', ['--version'], { stdio: 'pipe' }).toString() + '');
    } catch (err) {
      return /GNU/.test(String(err.stderr ?? ''));
    }
  };
  if (ok()) return '/usr/bin/time';
  log('installing the Debian package `time` for peak-RSS measurement…');
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'time'], { stdio: 'ignore' });
  } catch {}
  if (ok()) return '/usr/bin/time';
  log('no GNU time: peak RSS will not be reported');
  return undefined;
}

// Processes: every timed run is its own process group (so a kill reaches the tool
// under /usr/bin/time), wall time measured here, peak RSS (%M) and CPU seconds
// (user %U + system %S, the child's own resource usage) from GNU time.

const live = new Set();
let seq = 0;

export function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
}

/**
 * Spawns argv in `tmp`; resolves {code, signal, ms, rssKB, cpuS, out}. `measure: false` runs it unwrapped
 * (for SIGKILL tests).
 */
export function spawnTimed(argv, { env, tmp, timeBin, measure = true, onSpawn } = {}) {
  const rssFile = path.join(tmp, `rss-${++seq}`);
  const full = measure && timeBin ? [timeBin, '-f', '%M %U %S', '-o', rssFile, ...argv] : argv;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), { env, cwd: tmp, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let out = '';
    const keep = (c) => (out = (out + c).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => killGroup(child), RUN_TIMEOUT_MS);
    onSpawn?.(child);
    let spawnErr;
    child.once('error', (e) => (spawnErr = e));
    child.once('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      live.delete(child);
      let rssKB = null;
      let cpuS = null;
      try {
        // The last line is ours ("Command exited with non-zero status" may come before it).
        const [kb, user, sys] = fsSync.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
        rssKB = kb || null;
        cpuS = Number.isFinite(user + sys) ? user + sys : null;
        fsSync.rmSync(rssFile);
      } catch {}
      resolve({ code: spawnErr ? 127 : code, signal, ms, rssKB, cpuS, out: spawnErr ? String(spawnErr) : out });
    });
  });
}

/** Files and bytes under dir. */
export async function treeStats(dir) {
  let files = 0;
  let bytes = 0;
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) (files++, (bytes += (await fs.stat(path.join(e.parentPath ?? e.path, e.name))).size));
  }
  return { files, bytes };
}

/** The machine, as the results record it. */
export function machine() {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model?.trim(),
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

/**
 * Clean-up on every exit path: `cleanup` functions run in reverse order, live children are killed,
 * then `getTmp()` is removed; SIGINT/SIGTERM/SIGHUP do the same and exit 130. Runs `main`.
 */
export function runMain(main, getTmp) {
  const cleanup = [];
  let cleaning;
  const cleanUp = () => {
    cleaning ??= (async () => {
      for (const child of live) killGroup(child);
      for (const fn of cleanup.reverse()) await Promise.resolve().then(fn).catch(() => {});
      const tmp = getTmp();
      if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    })();
    return cleaning;
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      log(`${sig}: stopping MinIO and removing ${getTmp() ?? 'temp files'}…`);
      cleanUp().finally(() => process.exit(130));
    });
  }
  main(cleanup)
    .catch((err) => {
      log(`failed: ${err.stack ?? err}`);
      process.exitCode = 1;
    })
    .finally(cleanUp);
}

/** An SDK client for checks outside any timing (from the project's node_modules), on one bucket. */
export async function makeS3Client(server, bucket) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
  });
  const send = (Cmd, input) => client.send(new sdk[Cmd](input));
  return {
    createBucket: (Bucket) => send('CreateBucketCommand', { Bucket }),
    async size(Key) {
      try {
        return (await send('HeadObjectCommand', { Bucket: bucket, Key })).ContentLength;
      } catch {
        return -1;
      }
    },
    async list(Prefix) {
      const keys = [];
      let bytes = 0;
      let ContinuationToken;
      do {
        const r = await send('ListObjectsV2Command', { Bucket: bucket, Prefix, ContinuationToken });
        for (const o of r.Contents ?? []) (keys.push(o.Key), (bytes += o.Size));
        ContinuationToken = r.NextContinuationToken;
      } while (ContinuationToken);
      return { keys, bytes };
    },
    async remove(Prefix) {
      const { keys } = await this.list(Prefix);
      for (let i = 0; i < keys.length; i += 1000) {
        const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
        await send('DeleteObjectsCommand', { Bucket: bucket, Delete: { Objects, Quiet: true } });
      }
    },
    async partCount(Key, UploadId) {
      try {
        return (await send('ListPartsCommand', { Bucket: bucket, Key, UploadId })).Parts?.length ?? 0;
      } catch {
        return -1;
      }
    },
    destroy: () => client.destroy(),
  };
}
