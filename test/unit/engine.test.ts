import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runParts } from '../../src/engine/parts.js';
import { BufferBudget } from '../../src/engine/memory.js';
import { uploadFile } from '../../src/engine/upload.js';
import { uploadStream } from '../../src/engine/upload-stream.js';
import { downloadObject } from '../../src/engine/download.js';
import { Destination } from '../../src/engine/destination.js';
import type { EngineContext } from '../../src/engine/context.js';
import type { TransferEvent } from '../../src/report/events.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { engineContext } from '../helpers/engine-context.js';

const MiB = 1024 * 1024;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-engine-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const retryable = () => Object.assign(new Error('reset'), { code: 'ECONNRESET' });
const fatal = () => Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
const fast = { policy: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } };

function context(store: MemoryStore, over: Partial<EngineContext> = {}): EngineContext & { events: TransferEvent[] } {
  return engineContext(store, { retry: fast.policy, parallel: 4, ...over });
}

describe('runParts', () => {
  it('keeps at most `parallel` parts in flight and runs them all', async () => {
    let now = 0;
    let most = 0;
    const done: number[] = [];
    await runParts([1, 2, 3, 4, 5, 6, 7], { parallel: 3, signal: new AbortController().signal, retry: fast }, async (n) => {
      most = Math.max(most, ++now);
      await new Promise((r) => setTimeout(r, 5));
      now--;
      done.push(n);
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('the first failure stops new parts, cancels those in flight, and is what is thrown', async () => {
    const started: number[] = [];
    let cancelled = 0;
    const run = runParts([1, 2, 3, 4, 5, 6], { parallel: 2, signal: new AbortController().signal, retry: fast }, async (n, signal) => {
      started.push(n);
      if (n === 1) throw fatal();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 1000);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          cancelled++;
          reject(signal.reason);
        });
      });
    });
    await expect(run).rejects.toThrow('denied');
    expect(started).toEqual([1, 2]);
    expect(cancelled).toBe(1);
  });

  it('retries a part on its own; the others are not redone', async () => {
    const attempts = new Map<number, number>();
    await runParts([1, 2, 3], { parallel: 3, signal: new AbortController().signal, retry: fast }, async (n) => {
      attempts.set(n, (attempts.get(n) ?? 0) + 1);
      if (n === 2 && attempts.get(n) === 1) throw retryable();
    });
    expect([...attempts.entries()].sort()).toEqual([[1, 1], [2, 2], [3, 1]]);
  });

  it('an interrupt of the transfer is what is thrown, and every pulled part is settled', async () => {
    const ac = new AbortController();
    const settled: number[] = [];
    const pulled: number[] = [];
    async function* source() {
      for (let i = 1; i <= 10; i++) {
        pulled.push(i);
        yield i;
      }
    }
    const run = runParts(source(), { parallel: 2, signal: ac.signal, retry: fast, settle: (n) => settled.push(n) }, async (n, signal) => {
      if (n === 2) ac.abort(new Error('interrupted by SIGINT'));
      signal.throwIfAborted();
    });
    await expect(run).rejects.toThrow('interrupted by SIGINT');
    expect(pulled.length).toBeLessThan(10);
    expect(settled.sort()).toEqual(pulled.sort());
  });
});

describe('BufferBudget', () => {
  it('waits when the budget is spent, grants in order, and reuses part-sized buffers', async () => {
    const b = new BufferBudget(4 * MiB);
    const x = await b.take(2 * MiB);
    const y = await b.take(2 * MiB);
    let third: Buffer | undefined;
    const waiting = b.take(2 * MiB).then((buf) => (third = buf));
    await new Promise((r) => setTimeout(r, 5));
    expect(third).toBeUndefined();
    b.release(x);
    await waiting;
    expect(third).toBe(x);
    b.release(y);
    b.release(third!);
  });

  it('a request larger than the whole budget still runs, alone', async () => {
    const b = new BufferBudget(1 * MiB);
    const big = await b.take(3 * MiB);
    expect(big.length).toBe(3 * MiB);
    let small: Buffer | undefined;
    const waiting = b.take(10).then((buf) => (small = buf));
    await new Promise((r) => setTimeout(r, 5));
    expect(small).toBeUndefined();
    b.release(big);
    await waiting;
  });
});

describe('uploads through the in-memory store', () => {
  const file = (name: string, size: number) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) % 251)));
    const st = fs.statSync(p);
    return { path: p, size, mtimeMs: st.mtimeMs };
  };
  const job = (f: ReturnType<typeof file>, key: string, partSize?: number) => ({ id: 1, bucket: 'b', key, ...f, partSize });

  it('a multipart upload sends every part once and the object is the file', async () => {
    const store = new MemoryStore();
    const f = file('m.bin', 23 * MiB);
    await uploadFile(context(store), job(f, 'm.bin', 5 * MiB));
    expect(store.objects.get('m.bin')!.bytes.equals(fs.readFileSync(f.path))).toBe(true);
    expect(store.calls.filter((c) => c.call === 'uploadPart')).toHaveLength(5);
    expect(store.maxInFlight.get('uploadPart')).toBeLessThanOrEqual(4);
  });

  it('a part that fails for good aborts the upload: nothing is left on the server', async () => {
    const store = new MemoryStore();
    store.fail('uploadPart', fatal());
    const f = file('f.bin', 12 * MiB);
    await expect(uploadFile(context(store), job(f, 'f.bin', 5 * MiB))).rejects.toThrow('denied');
    expect(store.uploads.size).toBe(0);
    expect(store.objects.has('f.bin')).toBe(false);
  });

  it('a body over 16 MiB goes streamed (read twice) and arrives whole', async () => {
    const store = new MemoryStore();
    const f = file('s.bin', 17 * MiB);
    const ctx = context(store, { memory: new BufferBudget(2 * MiB) });
    await uploadFile(ctx, job(f, 's.bin'));
    expect(store.objects.get('s.bin')!.bytes.equals(fs.readFileSync(f.path))).toBe(true);
  });
});

describe('standard input through the same engine', () => {
  const stream = (size: number) => Readable.from(function* () {
    for (let at = 0; at < size; at += 300_000) yield Buffer.alloc(Math.min(300_000, size - at), at % 256);
  }());

  it.each([
    ['empty', 0, 'put'],
    ['under one part', 1000, 'put'],
    ['exactly one part', 5 * MiB, 'put'],
    ['several parts', 12 * MiB + 7, 'completeMultipartUpload'],
  ])('%s', async (_n, size, last) => {
    const store = new MemoryStore();
    const out = await uploadStream(context(store), { id: 1, bucket: 'b', key: 'in', metadata: {}, partSize: 5 * MiB }, stream(size));
    expect(out.size).toBe(size);
    expect(store.objects.get('in')!.bytes.length).toBe(size);
    expect(store.calls.at(-1)!.call).toBe(last);
  });

  it('a part that fails once is retried from its buffer; one that fails for good aborts the upload', async () => {
    const store = new MemoryStore();
    store.fail('uploadPart', retryable());
    await uploadStream(context(store), { id: 1, bucket: 'b', key: 'r', metadata: {}, partSize: 5 * MiB }, stream(11 * MiB));
    expect(store.objects.get('r')!.bytes.length).toBe(11 * MiB);
    const broken = new MemoryStore();
    broken.fail('uploadPart', fatal());
    await expect(uploadStream(context(broken), { id: 1, bucket: 'b', key: 'x', metadata: {}, partSize: 5 * MiB }, stream(11 * MiB))).rejects.toThrow('denied');
    expect(broken.uploads.size).toBe(0);
  });
});

describe('downloads through the in-memory store', () => {
  it('ranged GETs land in place, a cut range continues, the file appears only whole', async () => {
    const store = new MemoryStore();
    const bytes = Buffer.from(Array.from({ length: 13 * MiB }, (_, i) => (i * 13) % 256));
    await store.put({ bucket: 'b', key: 'd.bin', body: bytes, crc32c: (await import('../../src/engine/checksum.js')).crc32cBase64(bytes), metadata: {} });
    store.fail('get', retryable());
    const info = (await store.head('b', 'd.bin'))!;
    const out = path.join(dir, 'down');
    const ctx = context(store);
    await downloadObject(ctx, { id: 1, bucket: 'b', key: 'd.bin', size: info.size, etag: info.etag, lastModifiedMs: info.lastModifiedMs, path: path.join(out, 'd.bin'), root: out, partSize: 5 * MiB, chunkSize: MiB });
    expect(fs.readFileSync(path.join(out, 'd.bin')).equals(bytes)).toBe(true);
    expect(fs.readdirSync(out)).toEqual(['d.bin']);
    expect(ctx.events.some((e) => e.type === 'retry')).toBe(true);
  });
});

describe('destination edge cases', () => {
  it('a destination of / itself does not recurse forever', async () => {
    await new Destination().ensureDir('/', '/');
    await new Destination().ensureDir('/', '/tmp');
  });
  it('a directory that resolves above the root is refused', async () => {
    await expect(new Destination().assertInside(dir, path.join(dir, '..'))).rejects.toThrow(/refusing to write outside/);
  });
});

describe('runPlan on a streamed plan', () => {
  it('pulls the plan only as far as the free job slots: the plan never runs far ahead of the transfers', async () => {
    const { runPlan } = await import('../../src/engine/run.js');
    const store = new MemoryStore();
    for (let i = 0; i < 40; i++) store.objects.set(`src/${i}`, { bytes: Buffer.from('x'), metadata: {}, lastModifiedMs: 0, etag: '"e"', crc32c: '' });
    let pulled = 0;
    let most = 0;
    const ctx = context(store);
    const settled = () => ctx.events.filter((e) => e.type === 'done' || e.type === 'error').length;
    const items = (async function* () {
      for (let i = 0; i < 40; i++) {
        pulled++;
        most = Math.max(most, pulled - settled());
        yield {
          action: 'copy' as const,
          reason: 'copy',
          job: { source: { bucket: 'b', key: `src/${i}`, size: 1, etag: '"e"', lastModifiedMs: 0 }, bucket: 'b', key: `dst/${i}` },
        };
      }
    })();
    const summary = await runPlan(ctx, { items }, { jobs: 3, dryRun: false, streamPartSize: MiB, stdin: Readable.from([]) });
    expect(summary.copied).toBe(40);
    // Three in flight and the one being pulled: never the whole plan.
    expect(most).toBeLessThanOrEqual(4);
    expect(ctx.events.filter((e) => e.type === 'tree').at(-1)).toMatchObject({ filesFound: 40, filesDone: 40, complete: true });
  });
});
