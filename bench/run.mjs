#!/usr/bin/env node
// s3xfer benchmark against aws-cli, s5cmd, mc and rclone on a throw-away local MinIO.
//
//   node bench/run.mjs [--rounds N] [--skip-2g]
//
// See bench/README.md. Everything talks to 127.0.0.1 only; MinIO and the temp dir are
// removed at the end, also on failure or Ctrl-C. Results: stdout (markdown) and
// bench/results/<date>.json.

import { execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureMinio, startMinio, MINIO_VERSION } from '../scripts/minio.mjs';
import { describeTools, findPeers, run } from './peers.mjs';
import { MiB, best, ensureGnuTime, killGroup, log, machine, makeS3Client, median, runMain, spawnTimed as spawnTimedIn, treeStats } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const S3XFER = path.resolve(HERE, '..', 'bin', 's3xfer.js');
const BIG = 256 * MiB;
const GIGA = 1024 * MiB;
const HUGE = 2048 * MiB;
const SMALL_COUNT = 1000;
const SMALL_SIZE = 8 * 1024;
const BUCKET = 'bench';
const TARGETS = { ratio: 1.0, rssMB: 150, ckptOverhead: 0.03, resumeRatio: 0.6, versionMs: 150 };

function parseArgs(argv) {
  const o = { rounds: 3, skip2g: false, peers: ['aws', 's5cmd', 'mc', 'rclone'], only: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') o.rounds = Number(argv[++i]);
    else if (argv[i].startsWith('--rounds=')) o.rounds = Number(argv[i].slice(9));
    else if (argv[i] === '--skip-2g') o.skip2g = true;
    else if (argv[i] === '--peers') o.peers = argv[++i].split(',').filter(Boolean);
    // Only these cases (ids: upBig, downBig, downGiga, copyGiga, upSmall, downSmall): no 2 GiB, checkpoint, resume or --version runs.
    else if (argv[i] === '--only') o.only = argv[++i].split(',').filter(Boolean);
    else if (argv[i] === '-h' || argv[i] === '--help') {
      process.stdout.write('usage: node bench/run.mjs [--rounds N] [--skip-2g] [--peers aws,s5cmd,mc,rclone] [--only copyGiga,downGiga,…]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]} (usage: node bench/run.mjs [--rounds N] [--skip-2g] [--peers aws,s5cmd,mc,rclone])`);
  }
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds needs a positive integer');
  return o;
}

// ---------------------------------------------------------------------------
// Processes (bench/lib.mjs): timed in the temp dir, under GNU time when there is one.

let timeBin;
let tmp;
const spawnTimed = (argv, opts = {}) => spawnTimedIn(argv, { ...opts, tmp, timeBin });

// S3 checks (bench/lib.mjs).
let s3;

// ---------------------------------------------------------------------------
// Local data

async function writeRandomFile(file, size) {
  const fh = await fs.open(file, 'w');
  const buf = Buffer.alloc(8 * MiB);
  for (let done = 0; done < size; done += buf.length) {
    randomFillSync(buf);
    await fh.write(buf, 0, Math.min(buf.length, size - done));
  }
  await fh.close();
}

async function sha256(file) {
  const h = createHash('sha256');
  for await (const chunk of fsSync.createReadStream(file, { highWaterMark: 4 * MiB })) h.update(chunk);
  return h.digest('hex');
}

// ---------------------------------------------------------------------------
// Cases. Each case's `once(tool, round)` returns {ms, rssKB} or throws when the copy is wrong.

function makeCases(tools, data, sums) {
  const dl = path.join(tmp, 'dl');
  const fail = (r, what) => new Error(`${what} (exit ${r.code ?? r.signal}): ${r.out.trim().split('\n').slice(-3).join(' | ')}`);
  const upFile = (file, size) => async (name, round) => {
    const key = `up/${name}/r${round}/${path.basename(file)}`;
    const r = await spawnTimed(tools[name].upFile(file, BUCKET, key), { env: tools[name].env });
    const got = await s3.size(key);
    await s3.remove(`up/${name}/r${round}/`);
    if (r.code !== 0 || got !== size) throw fail(r, `uploaded ${got} of ${size} bytes`);
    return r;
  };
  const downFile = (key, size, hash) => async (name, round) => {
    const file = path.join(dl, `${name}-r${round}-${path.basename(key)}`);
    await fs.rm(file, { force: true }); // the destination never exists before a run
    const r = await spawnTimed(tools[name].downFile(BUCKET, key, file), { env: tools[name].env });
    const got = (await fs.stat(file).catch(() => ({ size: -1 }))).size;
    const ok = r.code === 0 && got === size && (!hash || (await sha256(file)) === hash);
    await fs.rm(file, { force: true });
    if (!ok) throw fail(r, `downloaded ${got} of ${size} bytes${hash ? ' or wrong SHA-256' : ''}`);
    return r;
  };
  const cases = {
    upBig: { title: '256 MiB upload', once: upFile(data.big, BIG) },
    downBig: { title: '256 MiB download', once: downFile('src/big.bin', BIG, sums.big) },
    downGiga: { title: '1 GiB download', once: downFile('src/giga.bin', GIGA, sums.giga) },
    copyGiga: {
      title: '1 GiB S3 → S3 copy (one endpoint)',
      async once(name, round) {
        const key = `cp/${name}/r${round}/giga.bin`;
        const r = await spawnTimed(tools[name].copyFile(BUCKET, 'src/giga.bin', BUCKET, key), { env: tools[name].env });
        const got = await s3.size(key);
        await s3.remove(`cp/${name}/r${round}/`);
        if (r.code !== 0 || got !== GIGA) throw fail(r, `copied ${got} of ${GIGA} bytes`);
        return r;
      },
    },
    upSmall: {
      title: '1,000 × 8 KiB upload (-r)',
      async once(name, round) {
        const prefix = `up/${name}/r${round}/small`;
        const r = await spawnTimed(tools[name].upTree(data.small, BUCKET, prefix), { env: tools[name].env });
        const { keys, bytes } = await s3.list(`${prefix}/`);
        await s3.remove(`${prefix}/`);
        if (r.code !== 0 || keys.length !== SMALL_COUNT || bytes !== SMALL_COUNT * SMALL_SIZE) {
          throw fail(r, `uploaded ${keys.length} files, ${bytes} bytes`);
        }
        return r;
      },
    },
    downSmall: {
      title: '1,000 × 8 KiB download (-r)',
      async once(name, round) {
        const dir = path.join(dl, `${name}-r${round}-small`);
        await fs.rm(dir, { recursive: true, force: true });
        const r = await spawnTimed(tools[name].downTree(BUCKET, 'src/small', dir), { env: tools[name].env });
        const st = await treeStats(dir);
        await fs.rm(dir, { recursive: true, force: true });
        if (r.code !== 0 || st.files !== SMALL_COUNT || st.bytes !== SMALL_COUNT * SMALL_SIZE) {
          throw fail(r, `downloaded ${st.files} files, ${st.bytes} bytes`);
        }
        return r;
      },
    },
  };
  const huge = {
    upHuge: { title: '2 GiB upload', once: upFile(data.huge, HUGE) },
    downHuge: { title: '2 GiB download', once: downFile('src/huge.bin', HUGE) },
  };
  return { cases, huge };
}

/** s3xfer's 256 MiB upload with `--checkpoint-dir` (fresh dir each run). */
async function s3xferCheckpointed(tools, file, round, tag) {
  const ckpt = path.join(tmp, `ckpt-${tag}-${round}`);
  const key = `up/s3xfer-${tag}/r${round}/big.bin`;
  const argv = [...tools.s3xfer.upFile(file, BUCKET, key), '--checkpoint-dir', ckpt];
  return { ckpt, key, argv };
}

/** Starts a checkpointed upload, SIGKILLs it once half the parts are in the .ucp, then times the rerun. */
async function resumeAtHalf(tools, file, round) {
  const { ckpt, key, argv } = await s3xferCheckpointed(tools, file, round, 'resume');
  const env = tools.s3xfer.env;
  let ucp;
  const first = await spawnTimed(argv, {
    env,
    measure: false,
    onSpawn(child) {
      const poll = setInterval(() => {
        if (child.exitCode !== null || child.signalCode !== null) return clearInterval(poll);
        for (const f of fsSync.existsSync(ckpt) ? fsSync.readdirSync(ckpt) : []) {
          if (!f.endsWith('.ucp')) continue;
          try {
            const j = JSON.parse(fsSync.readFileSync(path.join(ckpt, f), 'utf8'));
            if (j.parts.length * 2 >= j.partCount) {
              ucp = j;
              killGroup(child);
              clearInterval(poll);
            }
          } catch {} // mid-rename: try again
        }
      }, 5);
    },
  });
  if (first.signal !== 'SIGKILL' || !ucp) throw new Error(`could not kill s3xfer at 50% (exit ${first.code}): ${first.out}`);
  const onServer = await s3.partCount(key, ucp.uploadId);
  const r = await spawnTimed(argv, { env });
  const got = await s3.size(key);
  await s3.remove(`up/s3xfer-resume/r${round}/`);
  const leftover = (fsSync.existsSync(ckpt) ? fsSync.readdirSync(ckpt) : []).filter((f) => f.endsWith('.ucp'));
  await fs.rm(ckpt, { recursive: true, force: true });
  if (r.code !== 0 || got !== BIG) throw new Error(`resume uploaded ${got} bytes (exit ${r.code}): ${r.out}`);
  if (leftover.length) throw new Error(`resume left ${leftover.join(', ')} behind`);
  return { ...r, partsInCheckpoint: ucp.parts.length, partsOnServer: onServer, partCount: ucp.partCount };
}

// ---------------------------------------------------------------------------
// Reporting

const sec = (ms) => (ms == null ? '–' : (ms / 1000).toFixed(2));
const cpu = (s) => (s == null ? '' : ` (${s.toFixed(2)} cpu)`);
const mb = (kb) => (kb == null ? '–' : (kb / 1024).toFixed(0));
const met = (ok) => (ok == null ? 'n/a' : ok ? '✅ met' : '❌ not met');

function summarise(runs) {
  const ok = runs.filter((r) => !r.error);
  const ms = ok.map((r) => r.ms);
  const rss = ok.map((r) => r.rssKB).filter((x) => x != null);
  const cpuS = ok.map((r) => r.cpuS).filter((x) => x != null);
  return { medianMs: median(ms), bestMs: best(ms), medianCpuS: median(cpuS), peakRssKB: rss.length ? Math.max(...rss) : null, fails: runs.length - ok.length, runs };
}

function markdown(res) {
  const names = res.tools;
  const out = [];
  out.push(`### s3xfer benchmark — ${res.date}`, '');
  out.push(`Machine: ${res.machine.nproc} cores (${res.machine.cpu}), ${res.machine.memGiB} GiB RAM, Node ${res.machine.node}, ${res.machine.os}; MinIO ${res.versions.minio} on 127.0.0.1, same machine.`, '');
  out.push(`Versions: ${Object.entries(res.versions).map(([k, v]) => `${k} \`${v}\``).join(', ')}.`, '');
  out.push(`Wall time in seconds, median / best of ${res.rounds} interleaved rounds, and the median CPU seconds (user + sys, GNU time) in brackets; default settings for every tool.`, '');
  out.push(`| Case | ${names.join(' | ')} | s3xfer ÷ fastest peer (median) | Target ≤ ${TARGETS.ratio.toFixed(1)}× |`);
  out.push(`|---|${names.map(() => '---:').join('|')}|---:|---|`);
  for (const c of Object.values(res.cases)) {
    const cells = names.map((n) => {
      const t = c.tools[n];
      if (!t) return '–';
      const s = t.medianMs == null ? 'FAIL' : `${sec(t.medianMs)} / ${sec(t.bestMs)}${cpu(t.medianCpuS)}`;
      return t.fails ? `${s} (${t.fails} failed)` : s;
    });
    const ratio = c.ratio == null ? '–' : `${c.ratio.toFixed(2)}× (vs ${c.fastestPeer})`;
    out.push(`| ${c.title} | ${cells.join(' | ')} | ${ratio} | ${met(c.ratio == null ? null : c.ratio <= TARGETS.ratio)} |`);
  }
  if (res.huge) {
    out.push('', `Peak RSS (MB, GNU time %M), wall time (s) and CPU seconds for a 2 GiB file, ${res.hugeRounds} run(s) per tool:`, '');
    out.push(`| Case | ${names.join(' | ')} | Target: s3xfer ≤ ${TARGETS.rssMB} MB |`);
    out.push(`|---|${names.map(() => '---:').join('|')}|---|`);
    for (const c of Object.values(res.huge)) {
      const cells = names.map((n) => (c.tools[n] ? (c.tools[n].medianMs == null ? 'FAIL' : `${mb(c.tools[n].peakRssKB)} MB, ${sec(c.tools[n].medianMs)} s${cpu(c.tools[n].medianCpuS)}`) : '–'));
      const rss = c.tools.s3xfer?.peakRssKB;
      out.push(`| ${c.title} | ${cells.join(' | ')} | ${met(rss == null ? null : rss / 1024 <= TARGETS.rssMB)} |`);
    }
  }
  out.push('', '| s3xfer target | Measured | Target | |', '|---|---:|---:|---|');
  for (const t of res.targets) out.push(`| ${t.name} | ${t.measured} | ${t.target} | ${met(t.met)} |`);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------

/** The test data each case reads: with --only, nothing else is made or seeded. */
const NEEDS = { upBig: ['big'], downBig: ['big'], downGiga: ['giga'], copyGiga: ['giga'], upSmall: ['small'], downSmall: ['small'] };

async function main(cleanup) {
  const opts = parseArgs(process.argv.slice(2));
  for (const c of opts.only ?? []) if (!NEEDS[c]) throw new Error(`unknown case ${c} (cases: ${Object.keys(NEEDS).join(', ')})`);
  const needs = new Set((opts.only ?? Object.keys(NEEDS)).flatMap((c) => NEEDS[c]));
  if (opts.only) opts.skip2g = true;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 's3xfer-bench-'));
  timeBin = ensureGnuTime();

  log('finding / installing peers and MinIO (first time: rclone takes ~4 min to build)…');
  const [{ found, missing }] = await Promise.all([findPeers({ log, only: opts.peers }), ensureMinio({ log })]);
  for (const [n, why] of Object.entries(missing)) log(`peer ${n} unavailable, continuing without it: ${why}`);

  log('creating test data…');
  const data = { big: path.join(tmp, 'big.bin'), giga: path.join(tmp, 'giga.bin'), huge: path.join(tmp, 'huge.bin'), small: path.join(tmp, 'small') };
  await fs.mkdir(data.small);
  await fs.mkdir(path.join(tmp, 'dl'));
  if (needs.has('big')) await writeRandomFile(data.big, BIG);
  if (needs.has('giga')) await writeRandomFile(data.giga, GIGA);
  if (needs.has('small')) for (let i = 0; i < SMALL_COUNT; i++) await fs.writeFile(path.join(data.small, `f${String(i).padStart(4, '0')}.bin`), randomFillSync(Buffer.alloc(SMALL_SIZE)));
  if (!opts.skip2g) await writeRandomFile(data.huge, HUGE);
  const sums = { big: needs.has('big') ? await sha256(data.big) : null, giga: needs.has('giga') ? await sha256(data.giga) : null };

  const server = await startMinio();
  cleanup.push(() => server.stop());
  s3 = await makeS3Client(server, BUCKET);
  cleanup.push(() => s3.destroy());
  await s3.createBucket(BUCKET);
  const tools = await describeTools({ s3xferBin: S3XFER, peers: found, s3: server, tmp });
  const names = Object.keys(tools);

  // Seed the download sources with aws-cli (a reference independent of s3xfer) when present.
  log('seeding download sources…');
  const seeder = tools.aws ?? tools.s3xfer;
  const seeds = [
    needs.has('big') && seeder.upFile(data.big, BUCKET, 'src/big.bin'),
    needs.has('giga') && seeder.upFile(data.giga, BUCKET, 'src/giga.bin'),
    needs.has('small') && seeder.upTree(data.small, BUCKET, 'src/small'),
    !opts.skip2g && seeder.upFile(data.huge, BUCKET, 'src/huge.bin'),
  ].filter(Boolean);
  for (const argv of seeds) {
    const r = await spawnTimed(argv, { env: seeder.env });
    if (r.code !== 0) throw new Error(`seeding failed: ${argv.join(' ')}\n${r.out}`);
  }

  const versions = { s3xfer: (await run(process.execPath, [S3XFER, '--version'])).stdout.trim(), minio: MINIO_VERSION, node: process.version };
  for (const [n, p] of Object.entries(found)) versions[n] = p.version;

  // --version start-up time: 2 warm-ups, then 15 runs.
  const versionRuns = [];
  for (let i = 0; i < (opts.only ? 0 : 17); i++) {
    const r = await spawnTimed([process.execPath, S3XFER, '--version'], { env: tools.s3xfer.env, measure: false });
    if (i >= 2) versionRuns.push(r.ms);
  }

  const made = makeCases(tools, data, sums);
  const huge = made.huge;
  const cases = opts.only ? Object.fromEntries(opts.only.map((c) => [c, made.cases[c]])) : made.cases;
  const runs = Object.fromEntries(Object.keys(cases).map((c) => [c, Object.fromEntries(names.map((n) => [n, []]))]));
  const ckptRuns = { plain: [], checkpoint: [] };
  const resumeRuns = [];
  const attempt = async (bucket, fn, label) => {
    execFileSync('sync'); // earlier runs' dirty pages must not be flushed on the next tool's time
    try {
      const r = await fn();
      bucket.push(r);
      log(`${label}: ${sec(r.ms)} s${cpu(r.cpuS)}${r.rssKB ? `, ${mb(r.rssKB)} MB` : ''}`);
    } catch (err) {
      bucket.push({ error: err.message });
      log(`${label}: FAILED ${err.message}`);
    }
  };

  for (let round = 1; round <= opts.rounds; round++) {
    const order = names.map((_, i) => names[(i + round - 1) % names.length]); // rotate who goes first
    for (const [id, c] of Object.entries(cases)) {
      for (const n of order) await attempt(runs[id][n], () => c.once(n, round), `round ${round} ${id} ${n}`);
    }
    if (opts.only) continue;
    // (g) checkpoint overhead: the same upload with and without --checkpoint-dir, alternating.
    for (const tag of round % 2 ? ['plain', 'checkpoint'] : ['checkpoint', 'plain']) {
      await attempt(ckptRuns[tag], async () => {
        if (tag === 'plain') return cases.upBig.once('s3xfer', `${round}-plain`);
        const { ckpt, key, argv } = await s3xferCheckpointed(tools, data.big, round, 'ckpt');
        const r = await spawnTimed(argv, { env: tools.s3xfer.env });
        const got = await s3.size(key);
        await s3.remove(key);
        await fs.rm(ckpt, { recursive: true, force: true });
        if (r.code !== 0 || got !== BIG) throw new Error(`uploaded ${got} bytes (exit ${r.code}): ${r.out}`);
        return r;
      }, `round ${round} s3xfer ${tag}`);
    }
    // (f) resume at 50%.
    await attempt(resumeRuns, () => resumeAtHalf(tools, data.big, round), `round ${round} s3xfer resume-at-50%`);
  }

  const hugeRuns = {};
  if (!opts.skip2g) {
    for (const [id, c] of Object.entries(huge)) {
      hugeRuns[id] = Object.fromEntries(names.map((n) => [n, []]));
      for (const n of names) await attempt(hugeRuns[id][n], () => c.once(n, 1), `${id} ${n}`);
    }
  }

  // ---- results
  const summariseCase = (c, perTool) => {
    const t = Object.fromEntries(Object.entries(perTool).map(([n, r]) => [n, summarise(r)]));
    const peers = Object.entries(t).filter(([n, s]) => n !== 's3xfer' && s.medianMs != null && s.fails === 0);
    const fastest = peers.sort((a, b) => a[1].medianMs - b[1].medianMs)[0];
    const mine = t.s3xfer?.medianMs;
    return { title: c.title, tools: t, fastestPeer: fastest?.[0] ?? null, ratio: fastest && mine != null ? mine / fastest[1].medianMs : null };
  };
  const res = {
    date: new Date().toISOString(),
    machine: machine(),
    versions,
    missingPeers: missing,
    tools: names,
    rounds: opts.rounds,
    hugeRounds: 1,
    cases: Object.fromEntries(Object.entries(cases).map(([id, c]) => [id, summariseCase(c, runs[id])])),
    huge: opts.skip2g ? null : Object.fromEntries(Object.entries(huge).map(([id, c]) => [id, summariseCase(c, hugeRuns[id])])),
    checkpoint: { plain: summarise(ckptRuns.plain), checkpoint: summarise(ckptRuns.checkpoint) },
    resume: summarise(resumeRuns),
    version: { medianMs: median(versionRuns), bestMs: best(versionRuns), runs: versionRuns },
  };
  const overhead = res.checkpoint.checkpoint.medianMs / res.checkpoint.plain.medianMs - 1;
  const resumeRatio = res.resume.medianMs / res.checkpoint.checkpoint.medianMs;
  const partsNote = resumeRuns.filter((r) => !r.error).map((r) => `${r.partsOnServer}/${r.partCount}`).join(', ');
  res.targets = [
    ...Object.values(res.cases).map((c) => ({ name: `${c.title}: ÷ fastest peer`, measured: c.ratio == null ? '–' : `${c.ratio.toFixed(2)}×`, target: `≤ ${TARGETS.ratio.toFixed(1)}×`, met: c.ratio == null ? null : c.ratio <= TARGETS.ratio })),
    ...Object.values(res.huge ?? {}).map((c) => {
      const kb = c.tools.s3xfer?.peakRssKB;
      return { name: `${c.title}: peak RSS`, measured: `${mb(kb)} MB`, target: `≤ ${TARGETS.rssMB} MB`, met: kb == null ? null : kb / 1024 <= TARGETS.rssMB };
    }),
    { name: `--checkpoint-dir overhead, 256 MiB upload (${sec(res.checkpoint.checkpoint.medianMs)} vs ${sec(res.checkpoint.plain.medianMs)} s)`, measured: Number.isFinite(overhead) ? `${(overhead * 100).toFixed(1)}%` : '–', target: `< ${TARGETS.ckptOverhead * 100}%`, met: Number.isFinite(overhead) ? overhead < TARGETS.ckptOverhead : null },
    { name: `resume at 50% ÷ full checkpointed upload (${sec(res.resume.medianMs)} vs ${sec(res.checkpoint.checkpoint.medianMs)} s; parts on server at kill: ${partsNote || '–'})`, measured: Number.isFinite(resumeRatio) ? `${resumeRatio.toFixed(2)}×` : '–', target: `≤ ${TARGETS.resumeRatio}×`, met: Number.isFinite(resumeRatio) ? resumeRatio <= TARGETS.resumeRatio : null },
    { name: '`s3xfer --version` (median of 15)', measured: res.version.medianMs == null ? '–' : `${res.version.medianMs.toFixed(0)} ms`, target: `< ${TARGETS.versionMs} ms`, met: res.version.medianMs == null ? null : res.version.medianMs < TARGETS.versionMs },
  ];
  // --only: the chosen cases' targets alone (the others were not measured).
  if (opts.only) res.targets = res.targets.slice(0, Object.keys(res.cases).length);

  const dir = path.join(HERE, 'results');
  await fs.mkdir(dir, { recursive: true });
  let file = path.join(dir, `${res.date.slice(0, 10)}.json`);
  if (fsSync.existsSync(file)) file = path.join(dir, `${res.date.slice(0, 16).replace(':', '')}.json`);
  await fs.writeFile(file, JSON.stringify(res, null, 2) + '\n');
  process.stdout.write(markdown(res));
  log(`results written to ${path.relative(process.cwd(), file)}`);
}

runMain(main, () => tmp);
