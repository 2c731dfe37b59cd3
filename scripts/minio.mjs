#!/usr/bin/env node
// Local MinIO server for tests and demos. Plain ESM, Node builtins only.
//
//   node scripts/minio.mjs build   build (once) and cache the MinIO binary
//   node scripts/minio.mjs serve   start a throw-away server, print AWS_* exports, run until Ctrl-C
//        [--port N] [--data-dir DIR]
//
// The binary is built from source with `go install` (Go >= 1.24) and cached in
// ${XDG_CACHE_HOME:-~/.cache}/s3xfer/minio-<MINIO_VERSION>/minio.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsc, createWriteStream } from 'node:fs';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
const MODULE = `github.com/minio/minio@${MINIO_VERSION}`;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const defaultLog = (msg) => process.stderr.write(`${msg}\n`);

/** Directory holding the cached binary: ${XDG_CACHE_HOME:-~/.cache}/s3xfer/minio-<version>. */
export function minioCacheDir() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 's3xfer', `minio-${MINIO_VERSION}`);
}

/** Path of the cached binary (it may not exist yet). */
export function minioBinaryPath() {
  return path.join(minioCacheDir(), process.platform === 'win32' ? 'minio.exe' : 'minio');
}

// ---------------------------------------------------------------------------
// Building

async function findOnPath(name) {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        await fs.access(candidate, fsc.X_OK);
        return candidate;
      } catch {
        // keep looking
      }
    }
  }
  return undefined;
}

/** Runs `<bin> --version`; resolves true if the binary starts. */
function binaryWorks(bin) {
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { timeout: 30_000 }, (err, stdout) => {
      resolve(!err && /minio version/i.test(String(stdout)));
    });
  });
}

async function exists(p) {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * A `go install|build github.com/minio/minio@<version>` started by someone else
 * (not through ensureMinio, so it does not hold our lock). Linux only; elsewhere
 * returns undefined. It may be writing straight into the cache dir, so we wait.
 */
async function foreignBuildPid() {
  if (process.platform !== 'linux') return undefined;
  let entries;
  try {
    entries = await fs.readdir('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv;
    try {
      argv = (await fs.readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue;
    }
    if (
      path.basename(argv[0] ?? '') === 'go' &&
      (argv.includes('install') || argv.includes('build')) &&
      argv.includes(MODULE)
    ) {
      return Number(entry);
    }
  }
  return undefined;
}

/** Returns the pid recorded in the lock file if that process is alive; removes stale locks. */
async function liveLockHolder(lockPath) {
  let text;
  let stat;
  try {
    [text, stat] = await Promise.all([fs.readFile(lockPath, 'utf8'), fs.stat(lockPath)]);
  } catch {
    return undefined; // no lock
  }
  const pid = Number.parseInt(text, 10);
  if (pidAlive(pid)) return pid;
  // Empty file: the holder has just created it and not written its pid yet.
  if (!text.trim() && Date.now() - stat.mtimeMs < 10_000) return -1;
  await fs.rm(lockPath, { force: true });
  return undefined;
}

function tail(text, lines = 25) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function goInstall(goBin, gobin, logFile) {
  const out = createWriteStream(logFile);
  await new Promise((resolve, reject) => out.once('open', resolve).once('error', reject));
  const code = await new Promise((resolve, reject) => {
    const child = spawn(goBin, ['install', MODULE], {
      env: { ...process.env, GOBIN: gobin },
      stdio: ['ignore', out, out],
    });
    child.once('error', reject);
    child.once('exit', (c, signal) => resolve(signal ? 128 : (c ?? 1)));
  });
  await new Promise((resolve) => out.end(resolve));
  if (code !== 0) {
    const log = await fs.readFile(logFile, 'utf8').catch(() => '');
    throw new Error(`building MinIO failed (go install exited with ${code}; full log: ${logFile}):\n${tail(log)}`);
  }
}

/**
 * Returns the path of the MinIO binary, building it with `go install` on first use.
 * Safe to call concurrently from several processes: one builds (holding a lock
 * file, into a temporary GOBIN that is renamed into place), the others wait.
 *
 * @param {{log?: (line: string) => void}} [opts]
 * @returns {Promise<string>}
 */
export async function ensureMinio({ log = defaultLog } = {}) {
  const dir = minioCacheDir();
  const bin = minioBinaryPath();
  const lockPath = `${dir}.lock`;
  let said = '';
  const sayOnce = (msg) => {
    if (said !== msg) log(msg);
    said = msg;
  };

  for (;;) {
    const foreign = await foreignBuildPid();
    if (foreign !== undefined) {
      sayOnce(`waiting for the MinIO build already running (pid ${foreign}) into ${dir}…`);
      await sleep(2_000);
      continue;
    }
    const holder = await liveLockHolder(lockPath);
    if (holder !== undefined) {
      sayOnce(`waiting for another process building MinIO into ${dir}…`);
      await sleep(1_000);
      continue;
    }
    if ((await exists(bin)) && (await binaryWorks(bin))) return bin;

    const goBin = await findOnPath('go');
    if (!goBin) {
      throw new Error(
        'MinIO is needed for the tests but Go is not on PATH: install Go (>= 1.24) to build it automatically, ' +
          'or set S3_TEST_ENDPOINT, S3_TEST_ACCESS_KEY and S3_TEST_SECRET_KEY to use an existing S3-compatible server.',
      );
    }

    await fs.mkdir(path.dirname(dir), { recursive: true });
    let lock;
    try {
      lock = await fs.open(lockPath, 'wx');
    } catch (err) {
      if (err.code === 'EEXIST') continue; // somebody else got there first
      throw err;
    }
    try {
      await lock.writeFile(String(process.pid));
      await lock.close();
      // Someone may have finished a build between our check and taking the lock.
      if ((await exists(bin)) && (await binaryWorks(bin))) return bin;

      log(`building MinIO once into ${dir} (about 3 minutes)…`);
      await fs.mkdir(dir, { recursive: true });
      const tmpGobin = await fs.mkdtemp(path.join(path.dirname(dir), `.minio-build-`));
      try {
        await goInstall(goBin, tmpGobin, path.join(dir, 'build.log'));
        const built = path.join(tmpGobin, path.basename(bin));
        if (!(await binaryWorks(built))) throw new Error(`the freshly built MinIO binary does not run: ${built}`);
        await fs.rename(built, bin); // same filesystem: atomic
      } finally {
        await fs.rm(tmpGobin, { recursive: true, force: true });
      }
      return bin;
    } finally {
      await fs.rm(lockPath, { force: true });
    }
  }
}

// ---------------------------------------------------------------------------
// Running

/** A free TCP port on 127.0.0.1, found by listening on port 0. Servers are closed on return. */
async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve()))));
  }
}

async function assertPortFree(port) {
  const server = net.createServer();
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  } catch (err) {
    throw new Error(`cannot use 127.0.0.1:${port} for MinIO: ${err.code ?? err.message}`);
  } finally {
    await new Promise((resolve) => server.close(() => resolve()));
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomString(length, alphabet = ALNUM) {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // rejection sampling keeps the distribution uniform
      if (byte < 256 - (256 % alphabet.length)) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A TLS server's certificate is usually one the test made itself: only liveness is checked here. */
function isLiveTls(endpoint) {
  return new Promise((resolve) => {
    const req = https.get(`${endpoint}/minio/health/live`, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function isLive(endpoint) {
  if (endpoint.startsWith('https:')) return isLiveTls(endpoint);
  try {
    const res = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer().catch(() => {});
    return res.status === 200;
  } catch {
    return false;
  }
}

// Kills MinIO if the process that started it dies without calling stop()
// (e.g. SIGKILL): it notices its stdin pipe closing, kills MinIO and removes the
// run dir. Exits by itself once MinIO is gone.
const WATCHDOG = `
const [pid, runDir] = [Number(process.argv[1]), process.argv[2]];
const gone = () => { try { process.kill(pid, 0); return false; } catch { return true; } };
let cleaning = false;
const cleanUp = () => {
  cleaning = true;
  try { process.kill(pid, 'SIGKILL'); } catch {}
  const until = Date.now() + 3000;
  const wait = () => {
    if (!gone() && Date.now() < until) return setTimeout(wait, 50);
    try { require('node:fs').rmSync(runDir, { recursive: true, force: true }); } catch {}
    process.exit(0);
  };
  wait();
};
process.stdin.on('end', cleanUp);
process.stdin.on('error', cleanUp);
process.stdin.resume();
process.on('SIGINT', () => {});
setInterval(() => { if (!cleaning && gone()) process.exit(0); }, 1000);
`;

/**
 * Starts a throw-away MinIO server on 127.0.0.1 with random credentials.
 *
 * @param {{dataDir?: string, port?: number, bin?: string, certsDir?: string, env?: Record<string, string>}} [opts]
 *   dataDir: where objects live (created if needed, kept on stop); default: a fresh temp dir removed on stop.
 *   port: API port; default: a free one. bin: MinIO binary; default: the cached one (see ensureMinio).
 *   certsDir: a directory with public.crt and private.key: MinIO serves https:// with them (kept on stop).
 *   env: extra server environment, e.g. MINIO_KMS_SECRET_KEY for SSE-S3/SSE-KMS, MINIO_STORAGE_CLASS_RRS.
 * @returns {Promise<{endpoint: string, accessKey: string, secretKey: string, region: string,
 *   dataDir: string, pid: number, stop: () => Promise<void>}>}
 */
export async function startMinio({ dataDir, port, bin = minioBinaryPath(), certsDir: tlsCertsDir, env: extraEnv = {} } = {}) {
  if (!(await exists(bin))) throw new Error(`MinIO binary not found at ${bin}; call ensureMinio() first`);

  if (port) await assertPortFree(port); // else the health check could reach some other server
  const [apiPort, consolePort] = port ? [port, (await freePorts(1))[0]] : await freePorts(2);
  const accessKey = randomString(20, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
  const secretKey = randomString(40);
  const region = 'us-east-1';
  const endpoint = `${tlsCertsDir ? 'https' : 'http'}://127.0.0.1:${apiPort}`;

  // Private runtime dir: certs/ (so ~/.minio/certs is neither created nor used) and,
  // unless the caller chose a data dir, data/.
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 's3xfer-minio-'));
  const certsDir = path.join(runDir, 'certs');
  const serveCerts = tlsCertsDir ? path.resolve(tlsCertsDir) : certsDir;
  const data = dataDir ? path.resolve(dataDir) : path.join(runDir, 'data');
  try {
    await fs.mkdir(certsDir);
    await fs.mkdir(data, { recursive: true });
  } catch (err) {
    await fs.rm(runDir, { recursive: true, force: true });
    throw err;
  }

  const env = {
    ...process.env,
    MINIO_ROOT_USER: accessKey,
    MINIO_ROOT_PASSWORD: secretKey,
    MINIO_SITE_REGION: region,
    MINIO_BROWSER: 'off', // no console UI
    MINIO_UPDATE: 'off', // no update check against dl.min.io
    MINIO_CALLHOME_ENABLE: 'off', // no call-home (off by default; be explicit)
    MINIO_CI_CD: '1', // test mode: skips root-drive checks, purges deleted data immediately
    ...extraEnv,
  };
  for (const key of ['MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY', 'MINIO_CONFIG_ENV_FILE', 'MINIO_VOLUMES', 'MINIO_OPTS']) {
    delete env[key];
  }

  const args = [
    'server',
    data,
    '--address',
    `127.0.0.1:${apiPort}`,
    '--console-address',
    `127.0.0.1:${consolePort}`,
    '--certs-dir',
    serveCerts,
    '--quiet',
  ];
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-16_384);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError;
  const exited = new Promise((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
    child.once('exit', () => resolve());
  });
  const running = () => child.exitCode === null && child.signalCode === null && !spawnError;

  let watchdog;
  if (child.pid) {
    watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(child.pid), runDir], { stdio: ['pipe', 'ignore', 'ignore'] });
    watchdog.on('error', () => {});
    watchdog.stdin.on('error', () => {});
    watchdog.unref();
    watchdog.stdin.unref?.();
  }

  // Last resort if our process exits without stop() (e.g. vitest on Ctrl-C calls process.exit()).
  const onExit = () => {
    if (running()) child.kill('SIGKILL');
    watchdog?.kill('SIGKILL');
    try {
      fsSync.rmSync(runDir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  };
  process.on('exit', onExit);

  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => running() && child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      watchdog?.kill('SIGKILL');
      process.off('exit', onExit);
      await fs.rm(runDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!running()) {
      await stop();
      const why = spawnError ? spawnError.message : `exited with ${child.exitCode ?? child.signalCode}`;
      throw new Error(`MinIO (${bin}) ${why} before becoming ready:\n${tail(output) || '(no output)'}`);
    }
    if (await isLive(endpoint)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `MinIO did not answer ${endpoint}/minio/health/live within ${READY_TIMEOUT_MS / 1000} s:\n` +
          `${tail(output) || '(no output)'}`,
      );
    }
    await sleep(100);
  }

  return { endpoint, accessKey, secretKey, region, dataDir: data, pid: child.pid, stop };
}

// ---------------------------------------------------------------------------
// CLI

function parseFlags(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument: ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value`);
    flags[m[1]] = value;
  }
  return flags;
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'build') {
    const bin = await ensureMinio();
    process.stdout.write(`${bin}\n`);
    return;
  }
  if (command === 'serve') {
    const flags = parseFlags(rest);
    for (const key of Object.keys(flags)) {
      if (key !== 'port' && key !== 'data-dir') throw new Error(`unknown option --${key}`);
    }
    const port = flags.port === undefined ? undefined : Number(flags.port);
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
      throw new Error(`invalid --port ${flags.port}`);
    }
    await ensureMinio();
    const server = await startMinio({ port, dataDir: flags['data-dir'] });
    process.stdout.write(
      `export AWS_ENDPOINT_URL=${server.endpoint}\n` +
        `export AWS_ACCESS_KEY_ID=${server.accessKey}\n` +
        `export AWS_SECRET_ACCESS_KEY=${server.secretKey}\n` +
        `export AWS_REGION=${server.region}\n`,
    );
    process.stderr.write(
      `# MinIO ${MINIO_VERSION} (pid ${server.pid}) serving ${server.dataDir}; Ctrl-C to stop.\n` +
        `# Tests can use it: S3_TEST_ENDPOINT=${server.endpoint} S3_TEST_ACCESS_KEY=${server.accessKey} ` +
        `S3_TEST_SECRET_KEY=${server.secretKey} npx vitest run\n`,
    );
    await new Promise((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, resolve);
    });
    process.stderr.write('# stopping MinIO…\n');
    await server.stop();
    return;
  }
  process.stderr.write(
    'usage: node scripts/minio.mjs build\n' + '       node scripts/minio.mjs serve [--port N] [--data-dir DIR]\n',
  );
  process.exitCode = 2;
}

const invokedDirectly = (() => {
  try {
    return fsSync.realpathSync(process.argv[1] ?? '') === fsSync.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
