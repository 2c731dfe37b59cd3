// A streamed copy's verification: bytes that do not make the source's stored CRC32C are never published.
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { uint32Base64 } from '../../src/engine/checksum.js';
import type { EngineContext } from '../../src/engine/context.js';
import { copyObject } from '../../src/engine/copy.js';
import type { CopyJob } from '../../src/engine/model.js';
import { VerificationError } from '../../src/errors.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { engineContext } from '../helpers/engine-context.js';

const MiB = 1024 * 1024;

function context(store: MemoryStore, sourceStore: MemoryStore): EngineContext {
  return engineContext(store, { sourceStore, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
}

/** A source object whose bytes no longer match the CRC32C the server stored for it (bit rot, a bad disk). */
async function source(size: number, damaged: boolean) {
  const store = new MemoryStore();
  const body = Buffer.alloc(size, 7);
  const { etag } = await store.put({ bucket: 'src', key: 'k', body, crc32c: uint32Base64(crc32c(body)), metadata: { mtime: '1.000' } });
  if (damaged) store.objects.get('k')!.bytes = Buffer.concat([body.subarray(0, size - 1), Buffer.from([8])]);
  const job: CopyJob = { id: 1, source: { bucket: 'src', key: 'k', size, etag, lastModifiedMs: 0 }, bucket: 'dst', key: 'k', sourceEndpoint: 'http://old:9000' };
  return { store, job, body };
}

describe('streamed copies are checked against the source before anything is published', () => {
  it.each([
    ['one PUT', undefined],
    ['multipart', 5 * MiB],
  ])('%s: intact bytes are copied, with the metadata', async (_what, partSize) => {
    const { store, job, body } = await source(12 * MiB, false);
    const dest = new MemoryStore();
    await copyObject(context(dest, store), { ...job, partSize });
    expect(dest.objects.get('k')?.bytes.equals(body)).toBe(true);
  });

  it.each([
    ['one PUT', undefined],
    ['multipart', 5 * MiB],
  ])('%s: damaged bytes fail with a VerificationError; no object, no upload left', async (_what, partSize) => {
    const { store, job } = await source(12 * MiB, true);
    const dest = new MemoryStore();
    const err = await copyObject(context(dest, store), { ...job, partSize }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/s3:\/\/src\/k: the bytes read do not match the source's CRC32C .*nothing was written to s3:\/\/dst\/k/);
    expect(dest.objects.size).toBe(0);
    expect(dest.uploads.size).toBe(0);
  });
});
