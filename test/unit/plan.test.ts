import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLocation } from '../../src/location.js';
import { compileFilter } from '../../src/plan/filter.js';
import { planCopy, type PlanOptions } from '../../src/plan/plan.js';
import type { PlanItem } from '../../src/engine/model.js';
import type { ObjectInfo, ObjectStore } from '../../src/engine/store.js';
import { compareKeys } from '../../src/plan/key-order.js';

const MiB = 1024 * 1024;
const T = Date.parse('2026-01-01T00:00:00Z');

/** Listing (in S3's order) and HEAD from memory: the planner needs nothing else (a real server refuses '..' keys). */
function fakeStore(objects: Partial<ObjectInfo & { key: string }>[]): ObjectStore {
  const all = objects.map((o) => ({ size: 1, lastModifiedMs: T, etag: '"e"', ...o }) as ObjectInfo).sort((a, b) => compareKeys(a.key, b.key));
  return {
    async *list(_b: string, prefix: string) {
      yield* all.filter((o) => o.key.startsWith(prefix));
    },
    async head(_b: string, key: string) {
      return all.find((o) => o.key === key);
    },
  } as unknown as ObjectStore;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-plan-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
fs.mkdirSync(path.join(root, 'data/sub'), { recursive: true });
fs.writeFileSync(path.join(root, 'data/a.txt'), 'a');
fs.writeFileSync(path.join(root, 'data/sub/b.log'), 'bb');
fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(20 * MiB));
fs.utimesSync(path.join(root, 'data/a.txt'), new Date(T - 60_000), new Date(T - 60_000));
fs.utimesSync(path.join(root, 'data/sub/b.log'), new Date(T + 60_000), new Date(T + 60_000));

const opts = (o: Partial<PlanOptions> = {}): PlanOptions => ({
  recursive: false,
  update: false,
  filter: compileFilter([]),
  bigfileThreshold: 16 * MiB,
  partSize: undefined,
  defaultPartSize: 8 * MiB,
  chunkSize: MiB,
  skipCompleted: false,
  ...o,
});

async function plan(src: string, dst: string, o: Partial<PlanOptions> = {}, objects: Partial<ObjectInfo>[] = []) {
  const p = await planCopy(parseLocation(src, root), parseLocation(dst, root), opts(o), {
    store: fakeStore(objects),
    signal: new AbortController().signal,
  });
  return (await collect(p.items)).map(describe_);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const i of items) all.push(i);
  return all;
}

/** A line per item: what a reader of the table wants to see. */
function describe_(i: PlanItem): string {
  switch (i.action) {
    case 'upload':
      return `up ${path.relative(root, i.job.path)} -> ${i.job.key}${i.job.partSize ? ` [parts ${i.job.partSize / MiB} MiB]` : ''}`;
    case 'download':
      return `down ${i.job.key} -> ${path.relative(root, i.job.path)}${i.job.partSize ? ` [ranges ${i.job.partSize / MiB} MiB]` : ''}`;
    case 'skip':
      return `skip ${path.basename(i.source)}: ${i.reason}`;
    case 'refuse':
      return `refuse ${i.source}`;
    case 'copy':
      return `copy ${i.job.source.key} -> ${i.job.key}${i.job.partSize ? ` [parts ${i.job.partSize / MiB} MiB]` : ''}`;
    case 'stdin':
      return `stdin -> ${i.key}`;
    case 'warning':
      return `warning ${i.message}`;
    case 'stdout':
      return `stdout <- ${i.job.key}${i.job.versionId ? ` @${i.job.versionId}` : ''}`;
  }
}

describe('planCopy', () => {
  it.each<[string, string, string, Partial<PlanOptions>, Partial<ObjectInfo>[], string[]]>([
    ['file to key', 'data/a.txt', 's3://bkt/x/y.txt', {}, [], ['up data/a.txt -> x/y.txt']],
    ['file to prefix/', 'data/a.txt', 's3://bkt/x/', {}, [], ['up data/a.txt -> x/a.txt']],
    ['file to bucket root', 'data/a.txt', 's3://bkt', {}, [], ['up data/a.txt -> a.txt']],
    ['big file goes multipart', 'big.bin', 's3://bkt/', {}, [], ['up big.bin -> big.bin [parts 8 MiB]']],
    ['tree: contents under the prefix', 'data', 's3://bkt/p', { recursive: true }, [], ['up data/a.txt -> p/a.txt', 'up data/sub/b.log -> p/sub/b.log']],
    ['tree with filter', 'data', 's3://bkt/p/', { recursive: true, filter: compileFilter([{ kind: 'exclude', pattern: '*.log' }]) }, [], ['up data/a.txt -> p/a.txt']],
    [
      '-u: listed once, decided in memory',
      'data',
      's3://bkt/p/',
      { recursive: true, update: true },
      [{ key: 'p/a.txt' }, { key: 'p/sub/b.log' }],
      ['skip a.txt: destination is up to date', 'up data/sub/b.log -> p/sub/b.log'],
    ],
    ['object to file', 's3://bkt/k/c.txt', 'out.txt', {}, [{ key: 'k/c.txt' }], ['down k/c.txt -> out.txt']],
    ['object to dir/', 's3://bkt/k/c.txt', 'out/', {}, [{ key: 'k/c.txt' }], ['down k/c.txt -> out/c.txt']],
    ['large object: ranged', 's3://bkt/k/big', 'out/', {}, [{ key: 'k/big', size: 40 * MiB }], ['down k/big -> out/big [ranges 8 MiB]']],
    [
      'prefix mirrored; markers are not files; traversal refused',
      's3://bkt/k',
      'out',
      { recursive: true },
      [{ key: 'k/' }, { key: 'k/c.txt' }, { key: 'k/d/' }, { key: 'k/d/e.txt' }, { key: 'k/../../evil' }, { key: 'k//etc/passwd' }, { key: 'k/a/../../../x' }],
      // In listing order: '.' (0x2E) sorts before '/' (0x2F), both before letters.
      [
        "warning skipped s3://bkt/k/: a key ending in '/' cannot be a file (1 bytes not copied)",
        'refuse s3://bkt/k/../../evil',
        'refuse s3://bkt/k//etc/passwd',
        'refuse s3://bkt/k/a/../../../x',
        // c.txt is held until the listing has passed 'c.txt/' (a key under it would need it as a directory).
        "warning skipped s3://bkt/k/d/: a key ending in '/' cannot be a file (1 bytes not copied)",
        'down k/c.txt -> out/c.txt',
        'down k/d/e.txt -> out/d/e.txt',
      ],
    ],
    [
      'names that start with dots are names, not traversals',
      's3://bkt/k/',
      'out',
      { recursive: true },
      [{ key: 'k/..hidden' }, { key: 'k/...' }, { key: 'k/..x/y' }],
      ['down k/... -> out/...', 'down k/..hidden -> out/..hidden', 'down k/..x/y -> out/..x/y'],
    ],
    [
      'keys that land on one path are all refused; a file where a directory is needed too',
      's3://bkt/k/',
      'out',
      { recursive: true },
      [{ key: 'k/a//b' }, { key: 'k/a/b' }, { key: 'k/a/./b' }, { key: 'k/f' }, { key: 'k/f/g' }, { key: 'k/ok' }],
      // The canonical key is refused as it comes; the aliases, held to the end, then.
      ['refuse s3://bkt/k/a/b', 'refuse s3://bkt/k/f', 'down k/f/g -> out/f/g', 'down k/ok -> out/ok', 'refuse s3://bkt/k/a/./b', 'refuse s3://bkt/k/a//b'],
    ],
    ['stdin', '-', 's3://bkt/in.bin', {}, [], ['stdin -> in.bin']],
    ['object to stdout', 's3://bkt/k/c.txt', '-', {}, [{ key: 'k/c.txt' }], ['stdout <- k/c.txt']],
    ['a version to stdout', 's3://bkt/k/c.txt', '-', { versionId: 'v1' }, [{ key: 'k/c.txt' }], ['stdout <- k/c.txt @v1']],
    ['a version to a file', 's3://bkt/k/c.txt', 'out.txt', { versionId: 'v1' }, [{ key: 'k/c.txt' }], ['down k/c.txt -> out.txt']],
    // data/a.txt: 1 byte, mtime T-60s; data/sub/b.log: 2 bytes, mtime T+60s.
    ['tree upload: --min-size', 'data', 's3://bkt/p/', { recursive: true, filter: compileFilter([], { minSize: 2 }) }, [], ['up data/sub/b.log -> p/sub/b.log']],
    ['tree upload: --max-size', 'data', 's3://bkt/p/', { recursive: true, filter: compileFilter([], { maxSize: 1 }) }, [], ['up data/a.txt -> p/a.txt']],
    ['tree upload: --older-than TIME', 'data', 's3://bkt/p/', { recursive: true, filter: compileFilter([], { olderThanMs: T }) }, [], ['up data/a.txt -> p/a.txt']],
    ['tree upload: --max-age from now', 'data', 's3://bkt/p/', { recursive: true, filter: compileFilter([], { maxAgeMs: 30_000 }, T + 60_000) }, [], ['up data/sub/b.log -> p/sub/b.log']],
    [
      'tree download: size and LastModified, with --exclude',
      's3://bkt/k/',
      'out',
      { recursive: true, filter: compileFilter([{ kind: 'exclude', pattern: '*.tmp' }], { minSize: 10, newerThanMs: T }) },
      [{ key: 'k/small', size: 9, lastModifiedMs: T + 1 }, { key: 'k/old', size: 10, lastModifiedMs: T }, { key: 'k/new', size: 10, lastModifiedMs: T + 1000 }, { key: 'k/new.tmp', size: 10, lastModifiedMs: T + 1000 }],
      ['down k/new -> out/new'],
    ],
    [
      'tree copy: --min-age',
      's3://bkt/k/',
      's3://ccc/m/',
      { recursive: true, filter: compileFilter([], { minAgeMs: 3600_000 }, T) },
      [{ key: 'k/recent', lastModifiedMs: T - 60_000 }, { key: 'k/old', lastModifiedMs: T - 7200_000 }],
      ['copy k/old -> m/old'],
    ],
    ['object to object: server-side', 's3://bkt/k/c.txt', 's3://ccc/x/', {}, [{ key: 'k/c.txt' }], ['copy k/c.txt -> x/c.txt']],
    ['large object: copied in parts', 's3://bkt/k/big', 's3://ccc/y', {}, [{ key: 'k/big', size: 40 * MiB }], ['copy k/big -> y [parts 8 MiB]']],
    [
      'prefix to prefix; -u skips what is newer at the destination',
      's3://bkt/k',
      's3://bkt/m/',
      { recursive: true, update: true },
      [{ key: 'k/a' }, { key: 'k/d/b' }, { key: 'm/a', lastModifiedMs: T + 60_000 }],
      ['skip a: destination is up to date', 'copy k/d/b -> m/d/b'],
    ],
  ])('%s', async (_name, src, dst, o, objects, want) => {
    expect(await plan(src, dst, o, objects)).toEqual(want);
  });

  it.each([
    ['data', 's3://bkt/p/', {}, /is a directory: use -r/],
    ['nope', 's3://bkt/p/', {}, /nope: no such file or directory/],
    ['s3://bkt/k/', 'out', {}, /is a prefix, not an object: use -r/],
    ['s3://bkt/missing', 'out', {}, /no such object/],
    ['s3://bkt/k/..', 's3://bkt/k/..', {}, /would be copied onto itself/],
    ['s3://bkt/k/', 's3://ccc/', {}, /is a prefix, not an object: use -r/],
    ['data/a.txt', 'elsewhere', {}, /are local: one side must be s3/],
    ['-', 's3://bkt/p/', {}, /standard input needs a full key/],
    ['-', 's3://bkt/p/x', { recursive: true }, /standard input\) is one stream, not a tree/],
    ['s3://bkt/k/..', 'out/', {}, /its last segment '\.\.' is not a file name/],
    ['s3://bkt/k/.', 'out/', {}, /its last segment '\.' is not a file name/],
    ['s3://bkt/k/', '-', { recursive: true }, /-r cannot write to standard output/],
    ['s3://bkt/k/..', '-', { update: true }, /-u compares with a destination file/],
    ['data/a.txt', '-', {}, /the source must be one object/],
    ['s3://bkt/k/', '-', {}, /is a prefix, not an object/],
    ['data/a.txt', 's3://bkt/x', { versionId: 'v1' }, /--version-id picks a version of the source object/],
    ['s3://bkt/k/', 'out/', { versionId: 'v1', recursive: true }, /cannot be used with -r/],
    ['s3://bkt/nope', 'out/', { versionId: 'v1' }, /no version 'v1'/],
  ])('refuses %s -> %s', async (src, dst, o, message) => {
    await expect(plan(src, dst, o, [{ key: 'k/..' }, { key: 'k/.' }])).rejects.toThrow(message);
  });
});

describe('-u downloads of a tree', () => {
  it('the HEADs that read recorded mtimes run concurrently, not one after another', async () => {
    const out = fs.mkdtempSync(path.join(root, 'heads-'));
    const objects = Array.from({ length: 20 }, (_, i) => ({ key: `h/f${i}`, lastModifiedMs: T + 3600_000, mtimeMs: T }));
    for (const o of objects) {
      fs.writeFileSync(path.join(out, o.key.slice(2)), 'x');
      fs.utimesSync(path.join(out, o.key.slice(2)), new Date(T), new Date(T));
    }
    let inFlight = 0;
    let most = 0;
    const store = fakeStore(objects);
    const listed = { ...store, list: async function* () { for (const o of [...objects].sort((a, b) => compareKeys(a.key, b.key))) yield { ...o, size: 1, etag: '"e"', mtimeMs: undefined }; } };
    store.head = async (_b: string, key: string) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return { ...objects.find((o) => o.key === key)!, size: 1, etag: '"e"' };
    };
    const p = await planCopy(parseLocation('s3://bkt/h/', root), parseLocation(out, root), opts({ recursive: true, update: true }), {
      store: { ...listed, head: store.head } as ObjectStore,
      signal: new AbortController().signal,
    });
    expect((await collect(p.items)).map((i) => i.action)).toEqual(Array(20).fill('skip'));
    expect(most).toBeGreaterThan(1);
  });
});
