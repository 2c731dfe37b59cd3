import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metadataDirective } from '../../src/cli/copy-flags.js';
import type { EngineContext } from '../../src/engine/context.js';
import { metaFor } from '../../src/engine/copy-source.js';
import type { CopyJob } from '../../src/engine/model.js';
import type { ObjectInfo } from '../../src/engine/store.js';
import { parseLocation } from '../../src/location.js';
import { compileFilter } from '../../src/plan/filter.js';
import { planCopy } from '../../src/plan/plan.js';

describe('--metadata-directive', () => {
  it('takes COPY or REPLACE in any case', () => {
    expect(metadataDirective('replace', '--metadata-directive')).toBe('REPLACE');
    expect(() => metadataDirective('MOVE', '--metadata-directive')).toThrow(/use COPY or REPLACE/);
  });
});

describe('what a copy writes (metaFor)', () => {
  const head = { metadata: { mtime: '1700000000.000', owner: 'ops' }, headers: { contentType: 'text/plain', cacheControl: 'no-cache' } } as unknown as ObjectInfo;
  const job = (replace?: CopyJob['replace']) => ({ replace }) as CopyJob;
  const ctx = { object: { settings: { storageClass: 'STANDARD_IA', headers: { contentType: 'ignored/guess' } }, metadata: {}, guessContentType: true } } as unknown as EngineContext;

  it("COPY: the source's metadata, headers and tags; the run's storage class", () => {
    expect(metaFor(ctx, job(), head, { team: 'a b' })).toEqual({
      metadata: head.metadata,
      settings: { headers: head.headers, storageClass: 'STANDARD_IA', acl: undefined, sse: undefined, tagging: 'team=a+b' },
    });
  });
  it('REPLACE: the command line only, but the recorded mtime kept', () => {
    const m = metaFor(ctx, job({ metadata: { team: 'web', mtime: '1.000' }, settings: { headers: { contentType: 'application/json' } } }), head);
    expect(m.metadata).toEqual({ mtime: '1700000000.000', team: 'web' });
    expect(m.settings.headers).toEqual({ contentType: 'application/json' });
  });
});

describe('planning a copy from another endpoint', () => {
  const store = (keys: string[]) =>
    ({
      async *list(_b: string, prefix: string) {
        yield* keys.filter((k) => k.startsWith(prefix)).map((key) => ({ key, size: 1, lastModifiedMs: 0, etag: '"e"' }));
      },
      async head(_b: string, key: string) {
        return keys.includes(key) ? { key, size: 1, lastModifiedMs: 0, etag: '"e"' } : undefined;
      },
    }) as never;
  const opts = { recursive: true, update: false, filter: compileFilter([]), bigfileThreshold: 16, partSize: undefined, defaultPartSize: 8, chunkSize: 1, skipCompleted: false };
  const cwd = fs.realpathSync('.');

  it('lists the source on the source store, marks each job streamed; the same bucket and prefix is not a copy onto itself', async () => {
    const plan = await planCopy(parseLocation('s3://bkt/p/', cwd), parseLocation('s3://bkt/p/', cwd), { ...opts, sourceEndpoint: 'http://old:9000', sourceOnOtherServer: true }, {
      store: store([]),
      sourceStore: store(['p/a', 'p/b']),
      signal: new AbortController().signal,
    });
    expect((await collect(plan.items)).map((i) => (i.action === 'copy' ? [i.job.source.key, i.job.key, i.job.sourceEndpoint] : i.action))).toEqual([
      ['p/a', 'p/a', 'http://old:9000'],
      ['p/b', 'p/b', 'http://old:9000'],
    ]);
  });

  it('on one endpoint, the same prefix is refused', async () => {
    await expect(planCopy(parseLocation('s3://bkt/p/', cwd), parseLocation('s3://bkt/p/', cwd), opts, { store: store(['p/a']), signal: new AbortController().signal })).rejects.toThrow(
      /onto itself/,
    );
  });
});

describe('part size of a copy', () => {
  const MiB = 1024 * 1024;
  const big = { async head() { return { key: 'k', size: 200 * MiB, lastModifiedMs: 0, etag: '"e"' }; } } as never;
  const base = { recursive: false, update: false, filter: compileFilter([]), bigfileThreshold: 16 * MiB, partSize: undefined as number | undefined, defaultPartSize: 8 * MiB, defaultCopyPartSize: 64 * MiB, chunkSize: MiB, skipCompleted: false };
  const partOf = async (o: Partial<typeof base> & { sourceEndpoint?: string }) => {
    const cwd = fs.realpathSync('.');
    const plan = await planCopy(parseLocation('s3://bkt/k', cwd), parseLocation('s3://other/k', cwd), { ...base, ...o }, { store: big, sourceStore: big, signal: new AbortController().signal });
    const item = (await collect(plan.items))[0]!;
    return item.action === 'copy' ? item.job.partSize! / MiB : undefined;
  };

  it.each([
    ['server-side: the copy default (no bytes through us)', {}, 64],
    ['streamed: the upload default (parts go through budget buffers)', { sourceEndpoint: 'http://old:9000' }, 8],
    ['--part-size wins either way', { partSize: 16 * MiB }, 16],
    ['--part-size wins either way (streamed)', { partSize: 16 * MiB, sourceEndpoint: 'http://old:9000' }, 16],
  ])('%s', async (_what, o, mib) => {
    expect(await partOf(o)).toBe(mib);
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
