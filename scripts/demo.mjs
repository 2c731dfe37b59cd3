#!/usr/bin/env node
// `npm run demo`: a guided tour of what s3xfer is for, against a throw-away local MinIO.
//
// A large upload is SIGKILLed mid-way, its checkpoint inspected (`checkpoint ls`, `checkpoint
// show`), and the same command rerun: only the missing parts are sent, and the object's SHA-256
// is checked. The same for a download (its hidden temp file is shown), then a small tree round
// trip with -r -u. The CLI talks to MinIO through a byte-counting TCP proxy (scripts/demo-lib.mjs),
// so the demo can say how much really crossed the wire. MinIO, the proxy and all temp dirs are
// removed at the end, also on failure or Ctrl-C. Exits non-zero if any check fails.

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListPartsCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureMinio, startMinio } from './minio.mjs';
import * as lib from './demo-lib.mjs';

const { MiB, mib, runCli } = lib;
const SIZE = 256 * MiB; // 32 parts of 8 MiB: the local link moves it in 1–3 s, a 10 ms poll catches it
const KILL_AT = 0.3; // kill once the checkpoint records this fraction of the work
const STEPS = 8;
const BIG = 'big.bin';
const URL_BIG = `s3://demo/${BIG}`;
const CKPT = ['--checkpoint-dir', '.ckpt'];

let server; // MinIO, once started
let proxy; // the counting proxy, once started
let tmp; // our temp dir (also the CLI's working directory), once created
let s3; // SDK client straight to MinIO, for independent checks
let interrupted = false;

let cleaning;
function cleanUp() {
  cleaning ??= (async () => {
    lib.killChildren();
    s3?.destroy();
    await proxy?.close();
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

let stepNo = 0;
const step = (text) => console.log(`\n[${++stepNo}/${STEPS}] ${text}`);
const say = (text) => console.log(`  → ${text}`);
function check(ok, message) {
  if (!ok) throw new Error(message);
}
const cli = (args, opts = {}) => runCli(args, { cwd: tmp, env: cliEnv(), ...opts });
async function cliOk(args) {
  const r = await cli(args);
  check(r.code === 0, `s3xfer ${args.join(' ')} failed (${r.signal ?? `exit code ${r.code}`})`);
  return r;
}

function cliEnv() {
  const env = { ...process.env };
  for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL_S3']) delete env[key];
  for (const key of Object.keys(env)) if (key.startsWith('S3XFER_')) delete env[key];
  return Object.assign(env, {
    AWS_ENDPOINT_URL: proxy.endpoint,
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_REGION: server.region,
    XDG_CONFIG_HOME: tmp, // no config file: the user's ~/.config/s3xfer/config.yaml would change defaults
  });
}

async function setUp() {
  step('Starting a throw-away MinIO and making test data');
  await ensureMinio({ log: (msg) => process.stderr.write(`demo: ${msg}\n`) });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 's3xfer-demo-'));
  server = await startMinio(); // fresh temp data dir, removed by stop()
  proxy = await lib.startCountingProxy(server.endpoint);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // keep the demo output clean
  s3 = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'demo' }));
  say(`MinIO (pid ${server.pid}) at ${server.endpoint}, bucket "demo"; s3xfer reaches it through a proxy that counts bytes`);
  const sha = await lib.writeRandom(path.join(tmp, BIG), SIZE);
  await lib.makeTree(path.join(tmp, 'tree'));
  say(`working directory ${tmp}: ${BIG} (${mib(SIZE)} of random bytes, SHA-256 ${sha.slice(0, 16)}…) and a small tree/`);
  return sha;
}

/** Throws unless the CLI run `r` was SIGKILLed by us (and not finished or failed on its own). */
function checkKilled(r, what) {
  if (r.killedAt) return;
  const how = r.code === 0 ? 'finished' : `failed (${r.signal ?? `exit code ${r.code}`})`;
  throw new Error(`the ${what} ${how} before ${KILL_AT * 100}% of it showed up in the checkpoint, so it was never killed`);
}

/** Upload killed once the .ucp records KILL_AT of the parts; returns what the server holds then. */
async function killUpload(args) {
  step(`Uploading ${BIG} with --checkpoint-dir, and SIGKILLing s3xfer once ${KILL_AT * 100}% of its parts are saved`);
  say('like a crash, an OOM kill or a pulled plug: no chance to clean up or save anything on the way out');
  const dir = path.join(tmp, '.ckpt');
  const r = await cli(args, {
    killWhen: async () => {
      const cp = await lib.readCheckpoint(dir, '.ucp');
      return cp && cp.body.parts.length >= KILL_AT * cp.body.partCount ? cp : undefined;
    },
  });
  checkKilled(r, 'upload');
  const { id, body } = (await lib.readCheckpoint(dir, '.ucp')) ?? r.killedAt; // what it left behind
  const [seen, total] = [r.killedAt.body.parts.length, body.partCount];
  const saved = body.parts.length === seen ? '' : `; the checkpoint it left behind records ${body.parts.length} (a save was in flight)`;
  say(`killed with SIGKILL at ${Math.round((100 * seen) / total)}%, ${seen} of ${total} parts saved in the checkpoint${saved}`);
  const listed = await s3.send(new ListPartsCommand({ Bucket: 'demo', Key: BIG, UploadId: body.uploadId, MaxParts: 10_000 }));
  const held = listed.Parts ?? [];
  say(`ListParts (SDK, straight to MinIO): the server holds ${held.length} parts of that multipart upload`);
  if (held.length > body.parts.length) say('(parts in flight at the kill landed after the last save: the rerun asks the server, so they count)');
  return { id, partCount: total, heldBytes: held.reduce((n, p) => n + p.Size, 0), held: held.length };
}

async function showCheckpoint(id, what) {
  step(`What the checkpoint knows about the interrupted ${what}`);
  await cliOk(['checkpoint', 'ls', ...CKPT]);
  say(`ids can be shortened to a unique prefix, as in git: ${id.slice(0, 6)}`);
  await cliOk(['checkpoint', 'show', id.slice(0, 6), ...CKPT]);
}

async function resumeUpload(args, killed, sha) {
  step('Rerunning the exact same command: only the missing parts are sent');
  proxy.reset();
  const { out } = await cliOk(args);
  const m = /resumed \S+: (\d+) of (\d+) parts already uploaded/.exec(out);
  check(m, 'the rerun did not report a resumed upload');
  const [reused, total] = [Number(m[1]), Number(m[2])];
  check(total === killed.partCount && reused >= killed.held && reused < total, `unexpected resume: ${m[0]}`);
  const sent = proxy.stats.sent;
  say(`the proxy saw ${mib(sent)} go up for a ${mib(SIZE)} file: ${total - reused} of ${total} parts sent, none of the ${killed.held} the server already held`);
  check(sent < SIZE - killed.heldBytes + MiB, `the rerun sent ${mib(sent)}, more than the ${mib(SIZE - killed.heldBytes)} missing`);
  check(!(await lib.readCheckpoint(path.join(tmp, '.ckpt'), '.ucp')), 'the .ucp checkpoint was not removed after the upload completed');
  const obj = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: BIG }));
  const got = await lib.sha256(obj.Body);
  check(got === sha, `the uploaded object's SHA-256 ${got} differs from the file's ${sha}`);
  say(`GetObject (SDK) and SHA-256 of ${URL_BIG}: ${got.slice(0, 16)}…, identical to the local file`);
}

const dcpDone = (cp) => cp?.body.ranges.reduce((n, x) => n + x.bytesDone, 0) ?? 0;

/** Download killed once the .dcp records KILL_AT of the bytes; returns the bytes it recorded. */
async function killDownload(args) {
  step(`Downloading ${URL_BIG} with --checkpoint-dir, and SIGKILLing it once ${KILL_AT * 100}% is on disk`);
  const dir = path.join(tmp, '.ckpt');
  const r = await cli(args, {
    killWhen: async () => {
      const cp = await lib.readCheckpoint(dir, '.dcp');
      return dcpDone(cp) >= KILL_AT * SIZE ? cp : undefined;
    },
  });
  checkKilled(r, 'download');
  const cp = (await lib.readCheckpoint(dir, '.dcp')) ?? r.killedAt; // what it left behind
  const [seen, done] = [dcpDone(r.killedAt), dcpDone(cp)];
  const saved = done === seen ? '' : `; the checkpoint it left behind records ${mib(done)} (a save was in flight)`;
  say(`killed with SIGKILL at ${Math.round((100 * seen) / SIZE)}%, ${mib(seen)} written and checksummed${saved}`);
  const names = await fs.readdir(path.join(tmp, 'restore'));
  const temp = names.find((n) => /^\.big\.bin\.s3xfer-[0-9a-z]+-[0-9a-f]{8}\.part$/.test(n));
  check(temp && !names.includes(BIG), `expected only a hidden temp file in restore/, found ${JSON.stringify(names)}`);
  say(`restore/ holds only the hidden temp file ${temp}: ${BIG} itself never exists half-written`);
  return { id: cp.id, done };
}

async function resumeDownload(args, killed, sha) {
  step('Rerunning the exact same command: only the missing bytes are fetched');
  say('the chunks already on disk are read back and checked against their CRC32C first');
  proxy.reset();
  await cliOk(args);
  const got = proxy.stats.received;
  say(`the proxy saw ${mib(got)} come down for a ${mib(SIZE)} object (${mib(SIZE - killed.done)} were missing)`);
  check(got < SIZE - killed.done + MiB, `the rerun fetched ${mib(got)}, more than the ${mib(SIZE - killed.done)} missing`);
  check(!(await lib.readCheckpoint(path.join(tmp, '.ckpt'), '.dcp')), 'the .dcp checkpoint was not removed after the download completed');
  const names = await fs.readdir(path.join(tmp, 'restore'));
  check(names.length === 1 && names[0] === BIG, `restore/ should hold only ${BIG}, found ${JSON.stringify(names)}`);
  const local = await lib.sha256File(path.join(tmp, 'restore', BIG));
  check(local === sha, `restore/${BIG} has SHA-256 ${local}, the original ${sha}`);
  say(`SHA-256 of restore/${BIG}: ${local.slice(0, 16)}…, identical to the original`);
}

async function treeRoundTrip() {
  step('A tree round trip: cp -r, then cp -r -u skips what is already there');
  await cliOk(['cp', '-r', 'tree', 's3://demo/tree/', ...CKPT]);
  const { out } = await cliOk(['cp', '-r', '-u', 'tree', 's3://demo/tree/']);
  const files = (await lib.listFiles(path.join(tmp, 'tree'))).length;
  check(new RegExp(`^0 copied .*, ${files} skipped, 0 failed$`, 'm').test(out), `the -u rerun should skip all ${files} files`);
  say(`-u: all ${files} files skipped, nothing sent`);
  await cliOk(['cp', '-r', 's3://demo/tree/', 'restore-tree/']);
  const same = await lib.compareTrees(path.join(tmp, 'tree'), path.join(tmp, 'restore-tree'));
  say(`restore-tree/ is byte-identical to tree/ (${same.files} files, ${same.bytes} bytes)`);
  return same;
}

async function main() {
  const t0 = Date.now();
  console.log('s3xfer demo: copies that survive being killed, against a throw-away local MinIO');
  const sha = await setUp();
  const upArgs = ['cp', BIG, URL_BIG, ...CKPT];
  const up = await killUpload(upArgs);
  await showCheckpoint(up.id, 'upload');
  await resumeUpload(upArgs, up, sha);
  const downArgs = ['cp', URL_BIG, 'restore/', ...CKPT];
  const down = await killDownload(downArgs);
  await showCheckpoint(down.id, 'download');
  await resumeDownload(downArgs, down, sha);
  const tree = await treeRoundTrip();
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  console.log(
    `\ndemo OK: ${mib(SIZE)} upload and download each SIGKILLed and resumed without resending what was done, ` +
      `SHA-256 identical; tree of ${tree.files} files round-tripped (${secs} s)`,
  );
}

try {
  await main();
} catch (err) {
  if (!interrupted) process.stderr.write(`\ndemo FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
