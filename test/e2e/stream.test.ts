// Trees of many objects: the plan streams (the first PUT leaves before the listing ends) and an
// unchanged tree's -u run costs its LIST pages and nothing else, both ways.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, e2eContext, runCli, s3Env, tmpdir } from '../helpers/cli.js';
import { startProxy, type RecordedRequest } from '../helpers/proxy.js';
import { getBytes } from './fixtures.js';

const { s3, client } = e2eContext();
let bucket: string;
beforeAll(async () => {
  bucket = await createBucket(client);
});

const isList = (r: RecordedRequest) => r.method === 'GET' && r.query['list-type'] === '2';
const HOUR = 3600_000;

/** `dirs` × `perDir` one-byte files, all with an mtime an hour ago (well before any upload). */
function makeFiles(root: string, dirs: number, perDir: number): string[] {
  const old = new Date(Date.now() - HOUR);
  const rels: string[] = [];
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, `d${String(d).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir; f++) {
      const rel = `d${String(d).padStart(3, '0')}/f${String(f).padStart(4, '0')}`;
      fs.writeFileSync(path.join(root, rel), String(f % 10));
      fs.utimesSync(path.join(root, rel), old, old);
      rels.push(rel);
    }
  }
  return rels;
}

describe('a tree of 20,000 files', () => {
  it('-u of the unchanged tree sends only LISTs; with LIST pages slowed, the first PUT reaches the server before the last page is answered', async () => {
    const src = tmpdir();
    const rels = makeFiles(src, 100, 200);
    const prefix = `s3://${bucket}/big/`;
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const env = s3Env(s3, proxy.endpoint);
      const first = await runCli(['cp', '-r', '-j', '64', src, prefix], { env, timeoutMs: 170_000 });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/20000 copied/);

      proxy.clear();
      const again = await runCli(['cp', '-r', '-u', src, prefix], { env, timeoutMs: 60_000 });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/0 copied .*, 20000 skipped, 0 failed/);
      // 20 pages of 1,000 keys (MinIO may add an empty last one), nothing else: no HEAD, no PUT, no GET of a body.
      expect(proxy.requests.filter((r) => !isList(r)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
      const pages = proxy.requests.filter(isList).length;
      expect(pages).toBeGreaterThanOrEqual(20);

      // The first file in key order and one near the end change; every LIST page is slowed.
      const later = new Date(Date.now() + 60_000);
      for (const rel of [rels[0]!, rels[19_990]!]) {
        fs.writeFileSync(path.join(src, rel), `changed ${rel}`);
        fs.utimesSync(path.join(src, rel), later, later);
      }
      proxy.clear();
      proxy.setRules([{ match: (r) => r.method === 'GET' && r.query['list-type'] === '2', action: { delayMs: 150 } }]);
      const changed = await runCli(['cp', '-r', '-u', src, prefix], { env, timeoutMs: 60_000 });
      expect(changed.code, changed.stderr).toBe(0);
      const puts = proxy.requests.filter((r) => r.method === 'PUT');
      expect(puts.map((r) => decodeURIComponent(r.path))).toEqual([`/${bucket}/big/${rels[0]}`, `/${bucket}/big/${rels[19_990]}`]);
      const lists = proxy.requests.filter(isList);
      expect(lists).toHaveLength(pages);
      const lastPageAnswered = Math.max(...lists.map((r) => r.answeredAt!));
      expect(puts[0]!.forwardedAt!).toBeLessThan(lastPageAnswered);
      expect((await getBytes(client, bucket, `big/${rels[0]}`)).toString()).toBe(`changed ${rels[0]}`);
    } finally {
      await proxy.close();
    }
  }, 240_000);
});

describe('downloads', () => {
  it('-u of an unchanged tree that s3xfer downloaded sends only LISTs, though every object was uploaded after its file was last changed', async () => {
    const src = tmpdir();
    makeFiles(src, 3, 500);
    const prefix = `s3://${bucket}/down/`;
    const proxy = await startProxy({ target: s3.endpoint });
    try {
      const env = s3Env(s3, proxy.endpoint);
      expect((await runCli(['cp', '-r', src, prefix], { env })).code).toBe(0);
      const dst = tmpdir();
      const down = await runCli(['cp', '-r', prefix, dst], { env });
      expect(down.code, down.stderr).toBe(0);
      // The files carry their recorded mtime (an hour ago), older than the objects' LastModified:
      // the listing alone cannot say they are current.
      expect(fs.statSync(path.join(dst, 'd000/f0000')).mtimeMs).toBeLessThan(Date.now() - HOUR / 2);

      proxy.clear();
      const again = await runCli(['cp', '-r', '-u', prefix, dst], { env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/0 copied .*, 1500 skipped, 0 failed/);
      expect(proxy.requests.filter((r) => !isList(r)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
      expect(proxy.requests.filter(isList).length).toBeLessThanOrEqual(3);

      // Without what the last run recorded (another machine, a cleared cache), each object needs its HEAD, and still nothing is fetched.
      proxy.clear();
      const fresh = await runCli(['cp', '-r', '-u', prefix, dst], { env: { ...env, XDG_CACHE_HOME: tmpdir() } });
      expect(fresh.stdout).toMatch(/0 copied .*, 1500 skipped, 0 failed/);
      expect(proxy.requests.filter((r) => r.method === 'HEAD')).toHaveLength(1500);
      expect(proxy.requests.filter((r) => r.method === 'GET' && !isList(r))).toHaveLength(0);

      // An object replaced since (by any tool: a new ETag) is fetched again; the rest stay LIST-only.
      fs.writeFileSync(path.join(src, 'd001/f0007'), 'new bytes');
      fs.utimesSync(path.join(src, 'd001/f0007'), new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
      expect((await runCli(['cp', '-r', '-u', src, prefix], { env })).code).toBe(0);
      proxy.clear();
      const one = await runCli(['cp', '-r', '-u', prefix, dst], { env });
      expect(one.stdout).toMatch(/1 copied .*, 1499 skipped, 0 failed/);
      expect(fs.readFileSync(path.join(dst, 'd001/f0007'), 'utf8')).toBe('new bytes');
      expect(proxy.requests.filter((r) => !isList(r)).map((r) => `${r.method} ${decodeURIComponent(r.path)}`)).toEqual([
        `HEAD /${bucket}/down/d001/f0007`,
        `GET /${bucket}/down/d001/f0007`,
      ]);
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
