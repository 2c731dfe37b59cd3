// --shard I/N: N workers at once, one bucket, one checkpoint directory; the union is the tree, nothing twice.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, e2eContext, runCli, s3Env, spawnCli, tmpdir, type CliResult } from '../helpers/cli.js';
import { startProxy, type Proxy, type RecordedRequest } from '../helpers/proxy.js';
import { MiB, exitOf, getBytes, listKeys, makeTree, openUploads, readTree, waitFor } from './fixtures.js';
import { RESUME_FLAGS, isObjectGet, isPart } from './interrupt.js';

const { s3, env, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

/** The README's recipe, computed here without our code: first 4 bytes of SHA-256, big-endian, mod N. */
const shareOf = (rel: string, n: number) => createHash('sha256').update(rel, 'utf8').digest().readUInt32BE(0) % n;
const N = 4;

/** A few hundred small files with realistic and awkward names, and one multipart file in every share. */
function tree(): Record<string, string | number> {
  const files: Record<string, string | number> = {};
  for (let i = 0; i < 360; i++) files[`logs/2026/11/${String(i % 30).padStart(2, '0')}/part-${String(i).padStart(5, '0')}.csv`] = `row ${i}\n`.repeat(i % 7);
  for (let i = 0; i < 40; i++) files[`ünï cödé/ødd name #${i} %.txt`] = `odd ${i}`;
  for (let share = 0; share < N; share++) {
    let i = 0;
    while (shareOf(`big/file-${i}.bin`, N) !== share) i++;
    files[`big/file-${i}.bin`] = 6 * MiB + share;
  }
  return files;
}

const json = (res: CliResult) =>
  res.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string });
const doneOf = (res: CliResult) => json(res).filter((e) => e.type === 'done').map((e) => String(e.destination));
const keyOf = (r: RecordedRequest) => decodeURIComponent(r.path.split('/').slice(2).join('/'));
const isSinglePut = (r: RecordedRequest) => r.method === 'PUT' && !('partNumber' in r.query);
const isCreate = (r: RecordedRequest) => r.method === 'POST' && 'uploads' in r.query;

/** The N workers of one job, at once, through one proxy, sharing one checkpoint directory. */
async function workers(proxy: Proxy, args: (i: number) => string[]): Promise<CliResult[]> {
  return Promise.all(
    Array.from({ length: N }, (_, i) =>
      runCli(['cp', '--json', '--no-progress', ...RESUME_FLAGS, ...args(i)], { env: s3Env(s3, proxy.endpoint), timeoutMs: 55_000 }),
    ),
  );
}

describe('--shard I/N, four workers at once', () => {
  it('upload: the shares are disjoint and make the whole tree; each object written once; -u afterwards sends no PUT', { timeout: 120_000 }, async () => {
    const files = tree();
    const src = makeTree(tmpdir(), files);
    const ckpt = path.join(tmpdir(), 'ckpt');
    const proxy = await startProxy({ target: s3.endpoint });
    const results = await workers(proxy, (i) => ['-r', src, `s3://${bucket}/up/`, '--shard', `${i}/${N}`, '--checkpoint-dir', ckpt]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    const names = Object.keys(files).sort();
    expect(await listKeys(client, bucket, 'up/')).toEqual(names.map((n) => `up/${n}`));
    // Disjoint, and each worker copied exactly the share the README's recipe names.
    const copied = results.map((r) => doneOf(r).map((d) => d.replace(`s3://${bucket}/up/`, '')).sort());
    for (let i = 0; i < N; i++) {
      expect(copied[i]).toEqual(names.filter((n) => shareOf(n, N) === i));
      expect(Math.abs(copied[i]!.length / names.length - 0.25)).toBeLessThanOrEqual(0.05);
    }
    // Written once: one PUT per small object, one multipart upload per large one, nothing aborted or left open.
    const big = names.filter((n) => n.startsWith('big/'));
    const puts = proxy.requests.filter(isSinglePut).map(keyOf).sort();
    expect(puts).toEqual(names.filter((n) => !big.includes(n)).map((n) => `up/${n}`));
    expect(proxy.requests.filter(isCreate).map(keyOf).sort()).toEqual(big.map((n) => `up/${n}`));
    expect(proxy.requests.filter(isPart)).toHaveLength(big.length * 2);
    expect(proxy.requests.filter((r) => r.method === 'DELETE')).toHaveLength(0);
    expect(await openUploads(client, bucket, 'up/')).toBe(0);
    expect(fs.readdirSync(ckpt)).toEqual([]);
    for (const n of [...big, 'ünï cödé/ødd name #3 %.txt']) {
      expect((await getBytes(client, bucket, `up/${n}`)).equals(fs.readFileSync(path.join(src, n)))).toBe(true);
    }

    proxy.clear();
    const again = await workers(proxy, (i) => ['-r', '-u', src, `s3://${bucket}/up/`, '--shard', `${i}/${N}`]);
    await proxy.close();
    for (const [i, r] of again.entries()) {
      expect(r.code, r.stderr).toBe(0);
      expect(json(r).filter((e) => e.type === 'skip')).toHaveLength(copied[i]!.length);
    }
    expect(proxy.requests.filter((r) => r.method !== 'GET' || !('list-type' in r.query))).toEqual([]);
  });

  it('download: four workers into one directory rebuild the tree byte for byte, each object fetched once', { timeout: 120_000 }, async () => {
    const files = tree();
    const src = makeTree(tmpdir(), files);
    const up = await runCli(['cp', '-r', '--no-progress', src, `s3://${bucket}/down/`], { env });
    expect(up.code, up.stderr).toBe(0);
    const dst = path.join(tmpdir(), 'restore');
    const ckpt = path.join(tmpdir(), 'ckpt');
    const proxy = await startProxy({ target: s3.endpoint });
    const results = await workers(proxy, (i) => ['-r', `s3://${bucket}/down/`, `${dst}/`, '--shard', `${i}/${N}`, '--checkpoint-dir', ckpt]);
    await proxy.close();
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    const want = readTree(src);
    const got = readTree(dst);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [rel, bytes] of Object.entries(want)) expect(got[rel]!.equals(bytes), rel).toBe(true);
    // Small objects: one GET each; large ones: one GET per 5 MiB range (two each), never from two workers.
    const gets = new Map<string, number>();
    for (const r of proxy.requests.filter(isObjectGet)) gets.set(keyOf(r), (gets.get(keyOf(r)) ?? 0) + 1);
    for (const rel of Object.keys(want)) expect(gets.get(`down/${rel}`), rel).toBe(rel.startsWith('big/') ? 2 : 1);
    const copied = results.map((r) => doneOf(r));
    expect(copied.flat()).toHaveLength(Object.keys(want).length);
    for (const c of copied) expect(Math.abs(c.length / Object.keys(want).length - 0.25)).toBeLessThanOrEqual(0.05);
  });

  it('a worker killed mid-upload resumes from the shared checkpoint directory; the others finish and abort nothing', { timeout: 120_000 }, async () => {
    const files = tree();
    const src = makeTree(tmpdir(), files);
    const ckpt = path.join(tmpdir(), 'ckpt');
    const proxy = await startProxy({ target: s3.endpoint, rules: [{ match: isPart, action: { bytesPerSecond: 4 * MiB } }] });
    const penv = s3Env(s3, proxy.endpoint);
    const args = (i: number) => ['cp', '--json', '--no-progress', ...RESUME_FLAGS, '-r', src, `s3://${bucket}/kill/`, '--shard', `${i}/${N}`, '--checkpoint-dir', ckpt];
    const victim = spawnCli(args(0), { env: penv });
    const others = Promise.all([1, 2, 3].map((i) => runCli(args(i), { env: penv, timeoutMs: 55_000 })));
    const bigOf0 = Object.keys(files).find((n) => n.startsWith('big/') && shareOf(n, N) === 0)!;
    await waitFor(() => proxy.requests.some((r) => isPart(r) && r.status === 200 && keyOf(r) === `kill/${bigOf0}`), 40_000, 'a part of share 0');
    victim.kill('SIGKILL');
    await exitOf(victim);
    for (const r of await others) expect(r.code, r.stderr).toBe(0);
    proxy.setRules([]);
    const rerun = await runCli(args(0), { env: penv });
    await proxy.close();
    expect(rerun.code, rerun.stderr).toBe(0);
    const done = json(rerun).filter((e) => e.type === 'done' && String(e.destination).endsWith(bigOf0));
    expect(done[0]?.resumed, rerun.stdout).toMatchObject({ partsDone: 1 });
    expect(proxy.requests.filter((r) => r.method === 'DELETE')).toHaveLength(0);
    expect(await openUploads(client, bucket, 'kill/')).toBe(0);
    expect(await listKeys(client, bucket, 'kill/')).toEqual(Object.keys(files).sort().map((n) => `kill/${n}`));
    expect((await getBytes(client, bucket, `kill/${bigOf0}`)).equals(fs.readFileSync(path.join(src, bigOf0)))).toBe(true);
  });
});

describe('--shard on a server-side copy', () => {
  it('two workers copy disjoint halves of a prefix; together the whole prefix, each object copied once', { timeout: 60_000 }, async () => {
    const files = Object.fromEntries(Object.entries(tree()).filter(([n]) => !n.startsWith('big/')).slice(0, 120));
    const up = await runCli(['cp', '-r', '--no-progress', makeTree(tmpdir(), files), `s3://${bucket}/cs/`], { env });
    expect(up.code, up.stderr).toBe(0);
    const proxy = await startProxy({ target: s3.endpoint });
    const results = await Promise.all(
      [0, 1].map((i) => runCli(['cp', '--json', '--no-progress', '-r', `s3://${bucket}/cs/`, `s3://${bucket}/cs-copy/`, '--shard', `${i}/2`], { env: s3Env(s3, proxy.endpoint) })),
    );
    await proxy.close();
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const names = Object.keys(files).sort();
    expect(await listKeys(client, bucket, 'cs-copy/')).toEqual(names.map((n) => `cs-copy/${n}`));
    for (const [i, r] of results.entries()) {
      expect(doneOf(r).map((d) => d.replace(`s3://${bucket}/cs-copy/`, '')).sort()).toEqual(names.filter((n) => shareOf(n, 2) === i));
    }
    const copies = proxy.requests.filter((r) => r.method === 'PUT' && 'x-amz-copy-source' in r.headers).map(keyOf).sort();
    expect(copies).toEqual(names.map((n) => `cs-copy/${n}`));
  });
});

describe('sync --delete --shard', () => {
  it('each worker deletes only the extras of its own share, never what another copies; together the destination mirrors the source', { timeout: 60_000 }, async () => {
    const files = Object.fromEntries(Object.entries(tree()).filter(([n]) => !n.startsWith('big/')).slice(0, 100));
    const src = makeTree(tmpdir(), files);
    // Extras at the destination (the source no longer has them), in every share; and the source's files not there yet.
    const extras = Array.from({ length: 40 }, (_, i) => `gone/old-${i}.txt`);
    const seed = makeTree(tmpdir(), Object.fromEntries(extras.map((n) => [n, n])));
    expect((await runCli(['cp', '-r', '--no-progress', seed, `s3://${bucket}/sync/`], { env })).code).toBe(0);
    expect(new Set(extras.map((n) => shareOf(n, N))).size).toBe(N);

    const first = await runCli(['sync', '--delete', '--no-progress', '--json', src, `s3://${bucket}/sync/`, '--shard', `0/${N}`], { env });
    expect(first.code, first.stderr).toBe(0);
    const deleted0 = json(first).filter((e) => e.type === 'deleted').map((e) => String(e.target).replace(`s3://${bucket}/sync/`, ''));
    expect(deleted0.sort()).toEqual(extras.filter((n) => shareOf(n, N) === 0).sort());
    // Share 0 alone: the other shares' files are not copied yet, and nothing of theirs was deleted.
    const after0 = await listKeys(client, bucket, 'sync/');
    for (const n of extras.filter((x) => shareOf(x, N) !== 0)) expect(after0).toContain(`sync/${n}`);

    const rest = await Promise.all(
      [1, 2, 3].map((i) => runCli(['sync', '--delete', '--no-progress', src, `s3://${bucket}/sync/`, '--shard', `${i}/${N}`], { env })),
    );
    for (const r of rest) expect(r.code, r.stderr).toBe(0);
    expect(await listKeys(client, bucket, 'sync/')).toEqual(Object.keys(files).sort().map((n) => `sync/${n}`));
  });
});

describe('--shard: counts, sources of the index, bad input', () => {
  const src = () => makeTree(tmpdir(), tree());

  it('--dry-run prints the share: files and bytes, in text and in --json; writes nothing', async () => {
    const dir = src();
    const files = tree();
    const mine = Object.keys(files).filter((n) => shareOf(n, N) === 1);
    const bytes = mine.reduce((s, n) => s + fs.statSync(path.join(dir, n)).size, 0);
    const text = await runCli(['cp', '--no-progress', '--dry-run', '-r', dir, `s3://${bucket}/dry/`, '--shard', '1/4'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^shard 1/4: ${mine.length} files in this share, ${mine.length} to copy \\(.*\\), 0 skipped$`, 'm'));
    const res = await runCli(['cp', '--json', '--dry-run', '-r', dir, `s3://${bucket}/dry/`, '--shards', '4'], { env: { ...env, JOB_COMPLETION_INDEX: '1' } });
    expect(res.code, res.stderr).toBe(0);
    expect(json(res).find((e) => e.type === 'shard')).toMatchObject({ index: 1, count: 4, files: mine.length, toCopy: mine.length, bytes, skipped: 0 });
    expect(await listKeys(client, bucket, 'dry/')).toEqual([]);
  });

  it('--include/--exclude and --shard combine: a file is copied when both keep it', async () => {
    const dir = src();
    const mine = Object.keys(tree()).filter((n) => shareOf(n, N) === 2 && !n.endsWith('.txt'));
    const res = await runCli(['cp', '--json', '--dry-run', '-r', dir, `s3://${bucket}/dry/`, '--exclude', '*.txt', '--shard', '2/4'], { env });
    expect(res.code, res.stderr).toBe(0);
    const would = json(res).filter((e) => e.type === 'would-copy').map((e) => String(e.destination).replace(`s3://${bucket}/dry/`, ''));
    expect(would.sort()).toEqual(mine.sort());
    expect(json(res).find((e) => e.type === 'shard')).toMatchObject({ files: mine.length });
  });

  it('S3XFER_SHARD is read like the other options', async () => {
    const res = await runCli(['cp', '--json', '--dry-run', '-r', src(), `s3://${bucket}/dry/`], { env: { ...env, S3XFER_SHARD: '3/4' } });
    expect(res.code, res.stderr).toBe(0);
    expect(json(res).find((e) => e.type === 'shard')).toMatchObject({ index: 3, count: 4 });
  });

  it.each<[string, string[], NodeJS.ProcessEnv, RegExp]>([
    ['index = count', ['--shard', '4/4'], {}, /--shard '4\/4': index 4 is out of range for 4 shards: use 0 to 3/],
    ['no shards', ['--shard', '0/0'], {}, /number of shards must be 1 to 10000, not 0/],
    ['not numbers', ['--shard', 'a/b'], {}, /'b' is not a whole number/],
    ['--shards without an index', ['--shards', '4'], { JOB_COMPLETION_INDEX: undefined }, /JOB_COMPLETION_INDEX, which is not set/],
    ['JOB_COMPLETION_INDEX out of range', ['--shards', '4'], { JOB_COMPLETION_INDEX: '4' }, /JOB_COMPLETION_INDEX=4 with --shards 4: index 4 is out of range/],
    ['both flags', ['--shard', '1/4', '--shards', '4'], {}, /give one/],
    ['a single file', ['--shard', '1/4', '--no-recursive'], {}, /use it with -r/],
  ])('%s: one line, exit 2', async (_name, flags, extraEnv, message) => {
    const dir = src();
    const args = flags.includes('--no-recursive')
      ? ['cp', '--no-progress', path.join(dir, 'big', fs.readdirSync(path.join(dir, 'big'))[0]!), `s3://${bucket}/bad/`, ...flags.filter((f) => f !== '--no-recursive')]
      : ['cp', '--no-progress', '-r', dir, `s3://${bucket}/bad/`, ...flags];
    const res = await runCli(args, { env: { ...env, ...extraEnv } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(await listKeys(client, bucket, 'bad/')).toEqual([]);
  });
});
