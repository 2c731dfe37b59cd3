import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MtimeCache, mtimeCachePath } from '../../src/plan/mtime-cache.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-mtimes-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const entry = (key: string, etag = '"e"') => ({ key, etag, lastModifiedMs: 1000, mtimeMs: 500 });
const lines = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as string[])[0]);

describe('the download mtime cache', () => {
  it('answers only for the very version it recorded, and is rewritten in key order whatever order downloads finish in', async () => {
    const file = path.join(dir, 'a.ndjson');
    fs.writeFileSync(file, ['a', 'b', 'c'].map((k) => JSON.stringify([k, '"e"', 1000, 500])).join('\n') + '\nnot json\n');
    const cache = await MtimeCache.open(file, { read: true, write: true });
    expect(await cache.find('a', { etag: '"e"', lastModifiedMs: 1000 })).toMatchObject({ mtimeMs: 500 });
    expect(await cache.find('b', { etag: '"other"', lastModifiedMs: 1000 })).toBeUndefined(); // replaced since
    expect(await cache.find('c', { etag: '"e"', lastModifiedMs: 2000 })).toBeUndefined(); // metadata replaced
    const first = cache.reserve();
    const second = cache.reserve();
    const third = cache.reserve();
    third(entry('c'));
    second(undefined); // a failed download: no entry
    first(entry('a'));
    await cache.close(true);
    expect(lines(file)).toEqual(['a', 'c']);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a run that stopped early keeps the old entries it never reached', async () => {
    const file = path.join(dir, 'b.ndjson');
    fs.writeFileSync(file, ['a', 'b', 'c', 'd'].map((k) => JSON.stringify([k, '"e"', 1000, 500])).join('\n') + '\n');
    const cache = await MtimeCache.open(file, { read: true, write: true });
    expect(await cache.find('b', { etag: '"e"', lastModifiedMs: 1000 })).toBeDefined();
    cache.reserve()(entry('b'));
    await cache.close(false);
    expect(lines(file)).toEqual(['b', 'c', 'd']);
  });

  it('a download that never finishes holds back at most 10,000 later entries: its own is dropped', async () => {
    const file = path.join(dir, 'c.ndjson');
    const cache = await MtimeCache.open(file, { read: false, write: true });
    const slow = cache.reserve();
    for (let i = 0; i < 10_001; i++) cache.reserve()(entry(`k${String(i).padStart(6, '0')}`));
    slow(entry('a-too-late'));
    await cache.close(true);
    const keys = lines(file);
    expect(keys[0]).toBe('k000000');
    expect(keys).not.toContain('a-too-late');
  });

  it('one file per endpoint, bucket, prefix and destination, under XDG_CACHE_HOME', () => {
    const p = (root: string) => mtimeCachePath({ XDG_CACHE_HOME: '/c' }, '/home/u', { endpoint: 'http://e', bucket: 'b', prefix: 'p/', root });
    expect(p('/x')).toMatch(/^\/c\/s3xfer\/mtimes\/[0-9a-f]{32}\.ndjson$/);
    expect(p('/x')).not.toBe(p('/y'));
  });
});

describe('temp files of killed runs', () => {
  it('are removed when the next run writes the cache; a live run\'s is left alone', async () => {
    const file = path.join(dir, 'd.ndjson');
    const dead = `${file}.999999999-0123abcd.tmp`;
    const live = `${file}.${process.pid}-89abcdef.tmp`;
    fs.writeFileSync(dead, '');
    fs.writeFileSync(live, '');
    const cache = await MtimeCache.open(file, { read: true, write: true });
    await cache.close(true);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    fs.rmSync(live);
  });
});
