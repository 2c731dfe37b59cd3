// The download's sink (ranged-get.ts) fed the way our connections feed it: views of the range's
// buffer, cut anywhere, a body cut mid-chunk. Progress must count whole chunks only, each with the
// range's running CRC32C, and a retry must continue from the last whole chunk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { afterAll, describe, expect, it } from 'vitest';
import { TruncatedBodyError } from '../../src/errors.js';
import { uint32Base64 } from '../../src/engine/checksum.js';
import { downloadObject, type DownloadSession, type DownloadState } from '../../src/engine/download.js';
import type { EngineContext } from '../../src/engine/context.js';
import type { BodySink } from '../../src/engine/body-sink.js';
import type { GetInput } from '../../src/engine/store.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { engineContext } from '../helpers/engine-context.js';

const MiB = 1024 * 1024;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-range-writer-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A store whose GET bodies arrive as `drainInto` views of the caller's buffer, `piece` bytes at a time. */
class ViewStore extends MemoryStore {
  readonly starts: number[] = [];
  cutAfter: number | undefined;

  override async get(input: GetInput) {
    const out = await super.get(input);
    const bytes = (await out.body.toArray())[0] as Buffer;
    this.starts.push(input.range?.start ?? 0);
    const cut = this.cutAfter;
    this.cutAfter = undefined;
    const buffer = input.buffer!;
    const drainInto = async (sink: BodySink) => {
      for (let at = 0; at < bytes.length; ) {
        const n = Math.min(300 * 1024 + 7, bytes.length - at, cut === undefined ? Infinity : cut - at);
        if (n <= 0) throw new TruncatedBodyError('cut by the test');
        bytes.copy(buffer, 0, at, at + n);
        await sink(buffer.subarray(0, n));
        at += n;
      }
    };
    return { ...out, body: Object.assign(out.body, { drainInto }) };
  }
}

function context(store: MemoryStore): EngineContext {
  return engineContext(store);
}

describe('the range sink', () => {
  it('views across chunk ends, a cut mid-chunk: whole chunks only, with their running CRC32C; the retry starts at the last one', async () => {
    const store = new ViewStore();
    const bytes = Buffer.from(Array.from({ length: 11 * MiB + 5 }, (_, i) => (i * 7 + (i >> 12)) % 251));
    await store.put({ bucket: 'b', key: 'o', body: bytes, crc32c: uint32Base64(crc32c(bytes)), metadata: {} });
    const info = (await store.head('b', 'o'))!;
    store.cutAfter = 2 * MiB + 1000;
    let state: DownloadState | undefined;
    const chunkSaves: number[] = [];
    const session: DownloadSession = {
      resume: async () => undefined,
      started: async (s) => void (state = s),
      chunkDone: (s) => void chunkSaves.push([...s.ranges.values()].reduce((n, r) => n + r.bytesDone, 0)),
      keepOnFailure: async () => false,
      completed: async () => {},
      release: async () => {},
    };
    const out = path.join(dir, 'o.bin');
    await downloadObject(context(store), { id: 1, bucket: 'b', key: 'o', size: info.size, etag: info.etag, lastModifiedMs: 0, path: out, root: dir, partSize: 5 * MiB, chunkSize: MiB }, session);
    expect(fs.readFileSync(out).equals(bytes)).toBe(true);
    // The cut range was asked again from its third chunk, not from its start nor mid-chunk.
    expect(store.starts.filter((s) => s % (5 * MiB) !== 0)).toEqual([2 * MiB]);
    // Every chunk was saved once, and each range's CRCs are the running CRC32C at each chunk's end.
    expect(chunkSaves).toHaveLength(5 + 5 + 2);
    for (const [n, r] of state!.ranges) {
      const start = (n - 1) * 5 * MiB;
      const size = Math.min(5 * MiB, bytes.length - start);
      const want = Array.from({ length: Math.ceil(size / MiB) }, (_, i) => uint32Base64(crc32c(bytes.subarray(start, start + Math.min(size, (i + 1) * MiB)))));
      expect(r.chunkCrcs).toEqual(want);
      expect(r.bytesDone).toBe(size);
    }
  });

  it('a server that sends more than the range: refused, nothing beyond the range written', async () => {
    const store = new ViewStore();
    const bytes = Buffer.alloc(6 * MiB, 1);
    await store.put({ bucket: 'b', key: 'x', body: bytes, crc32c: uint32Base64(crc32c(bytes)), metadata: {} });
    const info = (await store.head('b', 'x'))!;
    const sneaky = new (class extends ViewStore {
      override async get(input: GetInput) {
        return super.get({ ...input, range: input.range && { start: input.range.start, end: input.range.end + 10 } });
      }
    })();
    sneaky.objects.set('x', store.objects.get('x')!);
    const job = { id: 2, bucket: 'b', key: 'x', size: info.size, etag: info.etag, lastModifiedMs: 0, path: path.join(dir, 'x.bin'), root: dir, partSize: 5 * MiB, chunkSize: MiB };
    await expect(downloadObject(context(sneaky), job)).rejects.toThrow(/more bytes than the range asked for/);
    expect(fs.existsSync(job.path)).toBe(false);
  });
});
