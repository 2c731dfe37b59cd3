#!/usr/bin/env node
// The scale benchmark: a tree of many small files, up and down, full and "only what changed" on an
// unchanged tree, s3xfer against s5cmd, mc and rclone in the same run; then s3xfer as 4 workers at once
// (--shard i/4). Wall time, CPU, peak RSS per process, and the requests each tool sent.
//
//   node bench/scale.mjs [--files 10000[,100000]] [--size 1024] [--peers s5cmd,mc,rclone] [--no-count] [--no-shards]
//
// See bench/README.md. Everything talks to 127.0.0.1 only; MinIO and the temp dir are removed at the end.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ensureMinio, startMinio, MINIO_VERSION } from '../scripts/minio.mjs';
import { describeTools, findPeers, run } from './peers.mjs';
import { ensureGnuTime, log, machine, makeS3Client, runMain, spawnTimed as spawnTimedIn, treeStats } from './lib.mjs';
import { classify, markdown, sharesOf, summarise } from './scale-report.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const S3XFER = path.join(ROOT, 'bin', 's3xfer.js');
const BUCKET = 'scale';
const SHARDS = 4;
const USAGE = 'usage: node bench/scale.mjs [--files 10000[,100000]] [--size 1024] [--peers s5cmd,mc,rclone] [--no-count] [--no-shards] | --report RESULTS.json';

function parseArgs(argv) {
  const o = { files: [10_000], size: 1024, peers: ['s5cmd', 'mc', 'rclone'], count: true, shards: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--files') o.files = argv[++i].split(',').map(Number);
    else if (a === '--size') o.size = Number(argv[++i]);
    else if (a === '--peers') o.peers = argv[++i].split(',').filter((p) => p && p !== 'none');
    else if (a === '--no-count') o.count = false;
    else if (a === '--no-shards') o.shards = false;
    else if (a === '--report') o.report = argv[++i];
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (${USAGE})`);
  }
  if (!o.files.length || !o.files.every((n) => Number.isInteger(n) && n >= 100)) throw new Error('--files needs whole numbers ≥ 100, comma-separated');
  if (!Number.isInteger(o.size) || o.size < 0) throw new Error('--size needs a whole number of bytes');
  return o;
}

let tmp;
let timeBin;
const spawnTimed = (argv, opts = {}) => spawnTimedIn(argv, { ...opts, tmp, timeBin });

/** `count` files of `size` bytes, 100 per directory, names as real trees have them. */
async function makeTree(dir, count, size) {
  const body = Buffer.alloc(size, 'x');
  const names = [];
  for (let i = 0; i < count; i++) {
    const rel = `d${String(Math.floor(i / 100)).padStart(4, '0')}/file-${String(i).padStart(6, '0')}.dat`;
    if (i % 100 === 0) await fs.mkdir(path.join(dir, path.dirname(rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), body);
    names.push(rel);
  }
  return names;
}

/**
 * One tool's four cases in order, each on what the previous one left: full upload, then the same
 * upload again (nothing changed), full download of the common source, then the same download again.
 * `counting`: through the counting proxy, requests recorded per case (wall times then include the proxy).
 */
async function toolCases({ name, tool, s3, tree, n, size, tag, proxy }) {
  const prefix = `${tag}/${name}`;
  const dir = path.join(tmp, `${tag}-${name}`);
  const checkUp = async () => {
    const { keys, bytes } = await s3.list(`${prefix}/`);
    return keys.length === n && bytes === n * size ? null : `${keys.length} objects, ${bytes} bytes on the server`;
  };
  const checkDown = async () => {
    const st = await treeStats(dir);
    return st.files === n && st.bytes === n * size ? null : `${st.files} files, ${st.bytes} bytes on disk`;
  };
  const cases = [
    ['upFull', tool.upTree(tree, BUCKET, prefix), checkUp],
    ['upUnchanged', tool.upSync(tree, BUCKET, prefix), checkUp],
    ['downFull', tool.downTree(BUCKET, `src-${n}`, dir), checkDown],
    ['downUnchanged', tool.downSync(BUCKET, `src-${n}`, dir), checkDown],
  ];
  const out = {};
  for (const [id, argv, check] of cases) {
    execFileSync('sync');
    proxy?.clear();
    const r = await spawnTimed(argv, { env: tool.env });
    const wrong = r.code !== 0 ? `exit ${r.code ?? r.signal}: ${r.out.trim().split('\n').slice(-2).join(' | ')}` : await check();
    out[id] = { ms: r.ms, cpuS: r.cpuS, rssKB: r.rssKB, error: wrong ?? undefined, requests: proxy ? classify(proxy.requests) : undefined };
    log(`${n} files ${tag} ${id} ${name}: ${(r.ms / 1000).toFixed(2)} s${r.rssKB ? `, ${(r.rssKB / 1024).toFixed(0)} MB` : ''}${out[id].requests ? `, ${out[id].requests.total} requests` : ''}${wrong ? ` FAILED ${wrong}` : ''}`);
  }
  await s3.remove(`${prefix}/`);
  await fs.rm(dir, { recursive: true, force: true });
  return out;
}

/** s3xfer as SHARDS processes at once, through the counting proxy: up into one prefix, down into one directory. */
async function shardRuns({ tools, s3, tree, names, n, proxy }) {
  const s3xfer = tools.s3xfer;
  const result = {};
  const dir = path.join(tmp, `shard-${n}`);
  const variants = {
    up: (i) => [...s3xfer.upTree(tree, BUCKET, `shard-${n}`), '--shard', `${i}/${SHARDS}`, '--json', '--checkpoint-dir', path.join(tmp, 'shard-ckpt')],
    down: (i) => [...s3xfer.downTree(BUCKET, `src-${n}`, dir), '--shard', `${i}/${SHARDS}`, '--json', '--checkpoint-dir', path.join(tmp, 'shard-ckpt')],
  };
  for (const [kind, argv] of Object.entries(variants)) {
    execFileSync('sync');
    proxy.clear();
    const t0 = process.hrtime.bigint();
    const runs = await Promise.all(Array.from({ length: SHARDS }, (_, i) => spawnTimed(argv(i), { env: s3xfer.env })));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const writes = new Map();
    const isWrite = kind === 'up' ? (r) => r.method === 'PUT' : (r) => r.method === 'GET' && !('list-type' in r.query) && r.path.split('/').length > 3;
    for (const r of proxy.requests.filter(isWrite)) writes.set(r.path, (writes.get(r.path) ?? 0) + 1);
    const st = kind === 'up' ? await s3.list(`shard-${n}/`) : await treeStats(dir);
    const got = kind === 'up' ? st.keys.map((k) => k.slice(`shard-${n}/`.length)).sort() : undefined;
    result[kind] = {
      ms,
      rssKB: Math.max(...runs.map((r) => r.rssKB ?? 0)) || null,
      cpuS: runs.reduce((s, r) => s + (r.cpuS ?? 0), 0),
      exits: runs.map((r) => r.code),
      union: kind === 'up' ? JSON.stringify(got) === JSON.stringify([...names].sort()) : st.files === n,
      onceEach: writes.size === n && [...writes.values()].every((c) => c === 1),
      shares: sharesOf(runs.map((r) => r.out), n),
      requests: classify(proxy.requests),
    };
    log(`${n} files shards ${kind}: ${(ms / 1000).toFixed(2)} s, union ${result[kind].union}, once each ${result[kind].onceEach}, shares ${result[kind].shares.map((s) => s.files).join('/')}`);
  }
  await s3.remove(`shard-${n}/`);
  await fs.rm(dir, { recursive: true, force: true });
  return result;
}

/** The counting proxy of the tests (test/helpers/proxy.ts), bundled for plain node. */
async function loadProxy() {
  const outfile = path.join(tmp, 'proxy.mjs');
  await build({ entryPoints: [path.join(ROOT, 'test', 'helpers', 'proxy.ts')], outfile, bundle: true, format: 'esm', platform: 'node', logLevel: 'warning' });
  return (await import(pathToFileURL(outfile).href)).startProxy;
}

async function main(cleanup) {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.report) {
    // The tables again from a results file, with the current targets.
    const res = JSON.parse(await fs.readFile(opts.report, 'utf8'));
    res.summary = summarise(res);
    return void process.stdout.write(markdown(res));
  }
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 's3xfer-scale-'));
  timeBin = ensureGnuTime();
  log('finding peers and MinIO…');
  const [{ found, missing }] = await Promise.all([findPeers({ log, only: opts.peers }), ensureMinio({ log })]);
  for (const [n, why] of Object.entries(missing)) log(`peer ${n} unavailable, continuing without it: ${why}`);
  const server = await startMinio();
  cleanup.push(() => server.stop());
  const s3 = await makeS3Client(server, BUCKET);
  cleanup.push(() => s3.destroy());
  await s3.createBucket(BUCKET);
  const startProxy = await loadProxy();
  const proxy = await startProxy({ target: server.endpoint });
  cleanup.push(() => proxy.close());
  const direct = await describeTools({ s3xferBin: S3XFER, peers: found, s3: server, tmp });
  const counted = await describeTools({ s3xferBin: S3XFER, peers: found, s3: { ...server, endpoint: proxy.endpoint }, tmp });
  const names = Object.keys(direct);
  const versions = { s3xfer: (await run(process.execPath, [S3XFER, '--version'])).stdout.trim(), minio: MINIO_VERSION, node: process.version };
  for (const [n, p] of Object.entries(found)) versions[n] = p.version;

  const sizes = {};
  for (const n of opts.files) {
    log(`${n} files of ${opts.size} bytes: writing the tree…`);
    const tree = path.join(tmp, `tree-${n}`);
    const treeNames = await makeTree(tree, n, opts.size);
    // The common download source, uploaded by s5cmd when there is one (independent of s3xfer).
    const seeder = direct.s5cmd ?? direct.s3xfer;
    const seeded = await spawnTimed(seeder.upTree(tree, BUCKET, `src-${n}`), { env: seeder.env });
    if (seeded.code !== 0) throw new Error(`seeding failed: ${seeded.out}`);
    const perTool = {};
    for (const name of names) {
      perTool[name] = { timed: await toolCases({ name, tool: direct[name], s3, tree, n, size: opts.size, tag: `t${n}` }) };
      if (opts.count) perTool[name].counted = await toolCases({ name, tool: counted[name], s3, tree, n, size: opts.size, tag: `c${n}`, proxy });
    }
    const shards = opts.shards ? await shardRuns({ tools: counted, s3, tree, names: treeNames, n, proxy }) : {};
    sizes[n] = { perTool, shards };
    await s3.remove(`src-${n}/`);
    await fs.rm(tree, { recursive: true, force: true });
  }
  const res = { date: new Date().toISOString(), machine: machine(), versions, missingPeers: missing, tools: names, fileSize: opts.size, sizes };
  res.summary = summarise(res);
  const dir = path.join(HERE, 'results');
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `scale-${res.date.slice(0, 16).replace(':', '')}.json`);
  await fs.writeFile(file, JSON.stringify(res, null, 2) + '\n');
  process.stdout.write(markdown(res));
  log(`results written to ${path.relative(process.cwd(), file)}`);
}

runMain(main, () => tmp);
