import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointedUpload } from '../../src/checkpoint/upload-session.js';
import { CheckpointStore } from '../../src/checkpoint/store.js';
import { crc32cBase64 } from '../../src/engine/checksum.js';
import { LockedError } from '../../src/errors.js';
import type { TransferEvent } from '../../src/report/events.js';
import { MemoryStore } from '../helpers/memory-store.js';

const MiB = 1024 * 1024;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-session-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A 12 MiB file (3 parts of 5 MiB), a checkpoint directory, an in-memory store, and a session for them. */
function setup() {
  const dir = path.join(root, String(++n));
  fs.mkdirSync(path.join(dir, 'ck'), { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'f.bin');
  fs.writeFileSync(file, Buffer.from(Array.from({ length: 12 * MiB }, (_, i) => i % 253)));
  const st = fs.statSync(file);
  const store = new MemoryStore();
  const events: TransferEvent[] = [];
  const job = { id: 1, path: file, size: st.size, mtimeMs: st.mtimeMs, bucket: 'b', key: 'f.bin', partSize: 5 * MiB };
  const deps = { store, checkpoints: new CheckpointStore(path.join(dir, 'ck')), emit: (e: TransferEvent) => events.push(e), endpoint: 'http://x', options: { parallel: 2, retries: 2 }, now: () => new Date() };
  const session = () => new CheckpointedUpload(job, deps);
  const part = (i: number) => fs.readFileSync(file).subarray((i - 1) * 5 * MiB, Math.min(i * 5 * MiB, 12 * MiB));
  return { dir, file, store, events, job, deps, session, part };
}

/** Start an upload the way the engine does and record `parts` as done; the session is left as a kill leaves it. */
async function interrupted(t: ReturnType<typeof setup>, parts: number[]) {
  const s = t.session();
  expect(await s.resume(new AbortController().signal)).toBeUndefined();
  await s.beforeCreate();
  const uploadId = await t.store.createMultipartUpload({ bucket: 'b', key: 'f.bin', metadata: {} });
  const state = { uploadId, partSize: 5 * MiB, done: new Map() };
  await s.started(state);
  for (const i of parts) {
    const body = t.part(i);
    const { etag } = await t.store.uploadPart({ bucket: 'b', key: 'f.bin', uploadId, partNumber: i, body, crc32c: crc32cBase64(body) });
    state.done.set(i, { partNumber: i, size: body.length, etag, crc32c: crc32cBase64(body) });
    s.partDone(state);
  }
  await s.keepOnFailure(state, new Error('killed'));
  await s.release();
  return uploadId;
}

describe('CheckpointedUpload decisions', () => {
  it('resumes: a part counts only when the server has it with the local bytes’ CRC32C', async () => {
    const t = setup();
    const uploadId = await interrupted(t, [1, 2]);
    // Part 2 on the server now holds other bytes (an overwrite by another client).
    const other = Buffer.alloc(5 * MiB, 1);
    await t.store.uploadPart({ bucket: 'b', key: 'f.bin', uploadId, partNumber: 2, body: other, crc32c: crc32cBase64(other) });
    const state = await t.session().resume(new AbortController().signal);
    expect(state?.uploadId).toBe(uploadId);
    expect([...state!.done.keys()]).toEqual([1]);
  });

  it('the source changed: the old upload is aborted and the checkpoint dropped', async () => {
    const t = setup();
    await interrupted(t, [1]);
    fs.appendFileSync(t.file, 'more');
    expect(await t.session().resume(new AbortController().signal)).toBeUndefined();
    expect(t.store.uploads.size).toBe(0);
    expect(t.events.some((e) => e.type === 'warning' && /changed since the checkpoint/.test(e.message))).toBe(true);
  });

  it('an intent without an upload ID: uploads of that key made then are aborted', async () => {
    const t = setup();
    const s = t.session();
    await s.resume(new AbortController().signal);
    await s.beforeCreate(); // killed right after CreateMultipartUpload: its ID never saved
    await t.store.createMultipartUpload({ bucket: 'b', key: 'f.bin', metadata: {} });
    await s.release();
    expect(await t.session().resume(new AbortController().signal)).toBeUndefined();
    expect(t.store.uploads.size).toBe(0);
    expect(t.events.some((e) => e.type === 'warning' && /an interrupted run had started it/.test(e.message))).toBe(true);
  });

  it('a second session of the same transfer is refused while the first holds it', async () => {
    const t = setup();
    const first = t.session();
    await first.resume(new AbortController().signal);
    await expect(t.session().resume(new AbortController().signal)).rejects.toThrow(LockedError);
    await first.release();
    await t.session().resume(new AbortController().signal);
  });
});
