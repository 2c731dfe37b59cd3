// The kill soak: SIGKILL the CLI at random moments across an upload, a download and
// two S3 → S3 copies (server-side, and streamed from "another endpoint") of a large
// file, rerunning the same command after each kill. At the end the objects and the
// file must be byte-identical and nothing left open on the server; it reports the
// bytes sent again per kill (goal: under one part per kill).
//
//   npm run soak                      # 30 kills (15 up, 15 down), then 8 per copy kind, of a 256 MiB file
//   SOAK_KILLS=10 SOAK_COPY_KILLS=4 SOAK_MIB=64 npm run soak
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, inject, it } from 'vitest';
import { createBucket, makeClient, runCli, s3Env, spawnCli, tmpdir } from '../helpers/cli.js';
import { startProxy, type ProxyRequestInfo, type RecordedRequest } from '../helpers/proxy.js';
import { exitOf, getBytes, openUploads } from '../e2e/fixtures.js';
import { fetchedBytes, isObjectGet, isPart } from '../e2e/interrupt.js';

const isPartCopy = (r: ProxyRequestInfo) => isPart(r) && 'x-amz-copy-source' in r.headers;
const isUploadPart = (r: ProxyRequestInfo) => isPart(r) && !('x-amz-copy-source' in r.headers);

const MiB = 1024 * 1024;
const SIZE = Number(process.env.SOAK_MIB ?? 256) * MiB;
const KILLS = Number(process.env.SOAK_KILLS ?? 30);
const COPY_KILLS = Number(process.env.SOAK_COPY_KILLS ?? 8);
const PART = 8 * MiB;
// A link of about 96 MiB/s, so a 256 MiB transfer takes seconds and kills land mid-way.
const RATE = 96 * MiB;

const s3 = inject('s3');
const client = makeClient(s3);
const sentBytes = (reqs: RecordedRequest[]) => reqs.filter(isUploadPart).reduce((n, r) => n + r.requestBytes, 0);

/** Run `args` and SIGKILL it after a random delay, `kills` times (fewer if it finishes first), then once to the end. */
async function soak(args: string[], env: NodeJS.ProcessEnv, kills: number, expectedMs: number): Promise<number> {
  let done = 0;
  for (let i = 0; i < kills; i++) {
    const child = spawnCli(args, { env });
    // Early enough that most runs are cut: each rerun has less left to do.
    const delay = 200 + Math.random() * (expectedMs / 3);
    const finished = await Promise.race([exitOf(child).then((e) => e), new Promise<false>((r) => setTimeout(() => r(false), delay))]);
    if (finished) {
      expect(finished.code).toBe(0);
      return done;
    }
    child.kill('SIGKILL');
    await exitOf(child);
    done++;
  }
  const last = await runCli(args, { env, timeoutMs: 120_000 });
  expect(last.code, last.stderr).toBe(0);
  return done;
}

it(`survives ${KILLS} SIGKILLs across an upload and a download of ${SIZE / MiB} MiB`, async () => {
  const bucket = await createBucket(client);
  const dir = tmpdir();
  const file = path.join(dir, 'big.bin');
  fs.writeFileSync(file, randomBytes(SIZE));
  const ckpt = path.join(dir, '.ckpt');
  const flags = ['--checkpoint-dir', ckpt, '--part-size', `${PART}`, '--no-progress'];
  const proxy = await startProxy({
    target: s3.endpoint,
    rules: [
      { match: isUploadPart, action: { bytesPerSecond: RATE / 8 } },
      // A server-side part copy moves no bytes through the link: a delay stands for the server's work.
      { match: isPartCopy, action: { delayMs: 150 } },
      { match: (r) => isObjectGet(r) && Boolean(r.headers.range), action: { responseBytesPerSecond: RATE / 8 } },
    ],
  });
  const env = s3Env(s3, proxy.endpoint);
  const expectedMs = (SIZE / RATE) * 1000;
  try {
    const upKills = await soak(['cp', file, `s3://${bucket}/big.bin`, ...flags], env, Math.ceil(KILLS / 2), expectedMs);
    const upSent = sentBytes(proxy.requests);
    expect((await getBytes(client, bucket, 'big.bin')).equals(fs.readFileSync(file))).toBe(true);
    expect(await openUploads(client, bucket)).toBe(0);

    proxy.clear();
    const out = path.join(dir, 'restore');
    const downKills = await soak(['cp', `s3://${bucket}/big.bin`, `${out}/`, ...flags], env, Math.floor(KILLS / 2), expectedMs);
    const downFetched = fetchedBytes(proxy.requests);
    expect(fs.readFileSync(path.join(out, 'big.bin')).equals(fs.readFileSync(file))).toBe(true);
    expect(fs.readdirSync(ckpt).filter((f) => /\.(ucp|dcp)$/.test(f))).toEqual([]);
    expect(fs.readdirSync(out)).toEqual(['big.bin']);

    // Server-side: UploadPartCopy of the object's ranges; parts copied again = parts lost per kill.
    proxy.clear();
    const serverKills = await soak(['cp', `s3://${bucket}/big.bin`, `s3://${bucket}/copy.bin`, ...flags], env, COPY_KILLS, expectedMs);
    const partCopies = proxy.requests.filter((r) => isPartCopy(r) && r.status === 200).length;
    expect((await getBytes(client, bucket, 'copy.bin')).equals(fs.readFileSync(file))).toBe(true);

    // Streamed: the source named through a second endpoint (another proxy to the same server), so its
    // bytes come through s3xfer as ranged GETs and go out as UploadParts.
    proxy.clear();
    const sourceProxy = await startProxy({ target: s3.endpoint });
    const streamArgs = ['cp', `s3://${bucket}/big.bin`, `s3://${bucket}/streamed.bin`, '--source-endpoint-url', sourceProxy.endpoint, ...flags];
    const streamKills = await soak(streamArgs, env, COPY_KILLS, expectedMs).finally(() => sourceProxy.close());
    const streamSent = sentBytes(proxy.requests);
    expect((await getBytes(client, bucket, 'streamed.bin')).equals(fs.readFileSync(file))).toBe(true);
    expect(await openUploads(client, bucket)).toBe(0);
    expect(fs.readdirSync(ckpt).filter((f) => /\.(ucp|dcp|ccp)$/.test(f))).toEqual([]);

    const perKill = (extra: number, kills: number) => (kills ? (extra / kills / MiB).toFixed(1) : '-');
    const report = [
      `kill soak: ${SIZE / MiB} MiB, parts of ${PART / MiB} MiB, 8 in flight`,
      `upload:   ${upKills} kills, ${(upSent / MiB).toFixed(1)} MiB sent for ${SIZE / MiB} MiB: ${perKill(upSent - SIZE, upKills)} MiB resent per kill`,
      `download: ${downKills} kills, ${(downFetched / MiB).toFixed(1)} MiB fetched for ${SIZE / MiB} MiB: ${perKill(downFetched - SIZE, downKills)} MiB refetched per kill`,
      `server-side copy: ${serverKills} kills, ${partCopies} UploadPartCopy for ${SIZE / PART} parts: ${perKill((partCopies - SIZE / PART) * PART, serverKills)} MiB copied again per kill`,
      `streamed copy: ${streamKills} kills, ${(streamSent / MiB).toFixed(1)} MiB sent for ${SIZE / MiB} MiB: ${perKill(streamSent - SIZE, streamKills)} MiB resent per kill`,
    ].join('\n');
    console.log(report);
    fs.mkdirSync('bench/results', { recursive: true });
    fs.writeFileSync('bench/results/soak-latest.txt', `${new Date().toISOString()}\n${report}\n`);
  } finally {
    await proxy.close();
  }
});
