// Helpers for scripts/demo.mjs: running the real CLI (and killing it), a byte-counting
// TCP proxy, random files, SHA-256, small trees. Plain ESM, Node builtins only.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 's3xfer.js');
export const MiB = 1024 * 1024;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Quotes an argument for display if the shell would need it. */
const shq = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);

const children = new Set();
/** SIGKILLs every CLI process still running (used by the demo's clean-up). */
export function killChildren() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * Shows `$ s3xfer <args>`, runs the built CLI in `cwd` and echoes its output (indented).
 * With `killWhen`, calls it every 10 ms while the CLI runs; once it returns a value the CLI
 * is SIGKILLed and that value is returned as `killedAt`.
 * @returns {Promise<{code: number|null, signal: string|null, out: string, killedAt?: unknown}>}
 */
export async function runCli(args, { cwd, env, killWhen }) {
  process.stdout.write(`\n  $ s3xfer ${args.map(shq).join(' ')}\n`);
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const echo = (chunk) => {
    out += chunk;
    process.stdout.write(String(chunk).replace(/^(?=.)/gm, '    '));
  };
  child.stdout.on('data', echo);
  child.stderr.on('data', echo);
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let killedAt;
  if (killWhen) {
    let done = false;
    exited.finally(() => (done = true)).catch(() => {});
    while (!done && killedAt === undefined) {
      killedAt = await killWhen();
      if (killedAt === undefined) await sleep(10);
    }
    if (killedAt !== undefined) child.kill('SIGKILL');
  }
  const { code, signal } = await exited;
  children.delete(child);
  return { code, signal, out, killedAt };
}

/** Parsed JSON of the single file ending in `ext` in `dir`, with its id, or undefined (none yet, or mid-write). */
export async function readCheckpoint(dir, ext) {
  try {
    const name = (await fs.readdir(dir)).find((f) => f.endsWith(ext));
    if (!name) return undefined;
    const body = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8'));
    return { id: name.slice(0, -ext.length), body };
  } catch {
    return undefined;
  }
}

/** Writes `size` random bytes to `file`; returns their SHA-256 (hex). */
export async function writeRandom(file, size) {
  const hash = createHash('sha256');
  const fh = await fs.open(file, 'w');
  try {
    for (let done = 0; done < size; done += 4 * MiB) {
      const chunk = randomBytes(Math.min(4 * MiB, size - done));
      hash.update(chunk);
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** SHA-256 (hex) of a readable stream's bytes. */
export async function sha256(stream) {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}
export const sha256File = (file) => sha256(createReadStream(file));

/**
 * A TCP proxy in front of `target` (http://host:port) that counts the bytes going each way,
 * so the demo can say how much really crossed the wire.
 */
export async function startCountingProxy(target) {
  const { hostname, port } = new URL(target);
  const stats = { sent: 0, received: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
    client.on('data', (d) => (stats.sent += d.length));
    upstream.on('data', (d) => (stats.received += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    stats,
    reset: () => Object.assign(stats, { sent: 0, received: 0 }),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A small tree: nested dirs, an empty file, a name with spaces and Unicode. */
export async function makeTree(dir) {
  await fs.mkdir(path.join(dir, 'docs', 'nested', 'deeper'), { recursive: true });
  await fs.writeFile(path.join(dir, 'README.txt'), 'Hello from the s3xfer demo.\n');
  await fs.writeFile(path.join(dir, 'docs', 'notes.md'), '# Notes\n\n- one\n- two\n');
  await fs.writeFile(path.join(dir, 'docs', 'héllo wörld ✓.txt'), 'a name with spaces and unicode\n');
  await fs.writeFile(path.join(dir, 'docs', 'nested', 'deeper', 'data.csv'), 'id,value\n1,a\n2,b\n');
  await fs.writeFile(path.join(dir, 'empty.txt'), '');
  await fs.writeFile(path.join(dir, 'photo.raw'), randomBytes(3 * MiB));
}

/** Relative paths of all files under `dir`, sorted. */
export async function listFiles(dir) {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** Compares two trees byte for byte; returns {files, bytes} or throws describing the first difference. */
export async function compareTrees(a, b) {
  const [filesA, filesB] = await Promise.all([listFiles(a), listFiles(b)]);
  const missing = filesA.filter((f) => !filesB.includes(f));
  const extra = filesB.filter((f) => !filesA.includes(f));
  if (missing.length || extra.length) {
    throw new Error(`trees differ: missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`);
  }
  let bytes = 0;
  for (const rel of filesA) {
    const [x, y] = await Promise.all([fs.readFile(path.join(a, rel)), fs.readFile(path.join(b, rel))]);
    if (!x.equals(y)) throw new Error(`contents differ: ${rel} (${x.length} vs ${y.length} bytes)`);
    bytes += x.length;
  }
  return { files: filesA.length, bytes };
}
