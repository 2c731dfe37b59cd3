#!/usr/bin/env node
// End-to-end demo: `npm run demo`.
//
// Starts a throw-away local MinIO, creates bucket `demo`, uploads a small tree
// with the real CLI (bin/s3xfer.js), uploads it again with -u (everything is
// skipped), downloads it back and checks the two trees are byte-identical.
// MinIO and all temp dirs are removed at the end, also on failure or Ctrl-C.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureMinio, startMinio } from './minio.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 's3xfer.js');
const MiB = 1024 * 1024;

let server; // MinIO, once started
let tmp; // our temp dir, once created
let child; // the CLI process currently running, if any
let interrupted = false;

let cleaning;
function cleanUp() {
  cleaning ??= (async () => {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    await server?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    interrupted = true;
    process.stderr.write(`\ndemo: ${sig}, cleaning up…\n`);
    cleanUp().finally(() => process.exit(130));
  });
}

/** Quotes an argument for display if the shell would need it. */
const shq = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);

/** Shows `$ s3xfer <args>` and runs the real CLI with inherited stdio; throws on a non-zero exit. */
async function s3xfer(args, env) {
  process.stdout.write(`\n$ s3xfer ${args.map(shq).join(' ')}\n`);
  child = spawn(process.execPath, [CLI, ...args], { stdio: 'inherit', env });
  const [code, signal] = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  });
  if (code !== 0) throw new Error(`s3xfer ${args[0]} failed (${signal ?? `exit code ${code}`})`);
}

/** Writes `size` random bytes to `file` in 1 MiB chunks. */
async function writeRandom(file, size) {
  const fh = await fs.open(file, 'w');
  try {
    for (let done = 0; done < size; done += MiB) await fh.write(randomBytes(Math.min(MiB, size - done)));
  } finally {
    await fh.close();
  }
}

async function makeTree(dir) {
  await fs.mkdir(path.join(dir, 'docs', 'nested', 'deeper'), { recursive: true });
  await fs.writeFile(path.join(dir, 'README.txt'), 'Hello from the s3xfer demo.\n');
  await fs.writeFile(path.join(dir, 'docs', 'notes.md'), '# Notes\n\n- one\n- two\n');
  await fs.writeFile(path.join(dir, 'docs', 'héllo wörld ✓.txt'), 'a name with spaces and unicode\n');
  await fs.writeFile(path.join(dir, 'docs', 'nested', 'deeper', 'data.csv'), 'id,value\n1,a\n2,b\n');
  await fs.writeFile(path.join(dir, 'empty.txt'), '');
  await writeRandom(path.join(dir, 'big.bin'), 40 * MiB); // above the 16 MiB threshold: multipart
}

/** Relative paths of all files under `dir`, sorted. */
async function listFiles(dir) {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** Compares two trees byte for byte; returns {files, bytes} or throws describing the first difference. */
async function compareTrees(a, b) {
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

async function main() {
  await ensureMinio({ log: (msg) => process.stderr.write(`demo: ${msg}\n`) });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 's3xfer-demo-'));
  server = await startMinio(); // fresh temp data dir, removed by stop()
  console.log(`demo: MinIO (pid ${server.pid}) at ${server.endpoint}`);

  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // keep the demo output clean
  const s3 = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'demo' }));
  } finally {
    s3.destroy();
  }
  console.log('demo: created bucket demo');

  const tree = path.join(tmp, 'tree');
  const restore = path.join(tmp, 'restore');
  await makeTree(tree);
  console.log(`demo: generated a test tree in ${tree}`);

  const env = { ...process.env };
  for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_REGION', 'S3XFER_CHECKPOINT_DIR']) delete env[key];
  Object.assign(env, {
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_REGION: server.region,
  });

  await s3xfer(['cp', '-r', tree, 's3://demo/data/', '--checkpoint-dir', path.join(tmp, '.ckpt')], env);
  await s3xfer(['cp', '-r', '-u', tree, 's3://demo/data/'], env);
  await s3xfer(['cp', '-r', 's3://demo/data/', `${restore}/`], env);

  const { files, bytes } = await compareTrees(tree, restore);
  console.log(`\ndemo OK: ${files} files, ${bytes} bytes round-tripped identically`);
}

try {
  await main();
} catch (err) {
  if (!interrupted) process.stderr.write(`\ndemo FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
