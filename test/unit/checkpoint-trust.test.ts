import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { uploadCheckpoint } from '../helpers/checkpoints.js';
import { CheckpointStore } from '../../src/checkpoint/store.js';
import type { CheckpointBody } from '../../src/checkpoint/schema.js';
import { makePrivateDir, shellQuote, unsafeBecause } from '../../src/checkpoint/trust.js';

const ME = 1000;

const body: CheckpointBody = { ...uploadCheckpoint, version: 1 };

describe('unsafeBecause: owner and mode, as OpenSSH StrictModes judges them', () => {
  it.each([
    [{ uid: ME, mode: 0o40700 }, 'directory', []],
    [{ uid: ME, mode: 0o40755 }, 'directory', []],
    [{ uid: 0, mode: 0o40755 }, 'directory', []],
    [{ uid: ME, mode: 0o40770 }, 'directory', ['writable']],
    [{ uid: ME, mode: 0o40757 }, 'directory', ['writable']],
    [{ uid: ME, mode: 0o41777 }, 'directory', ['writable']],
    [{ uid: 0, mode: 0o41777 }, 'parent', []],
    [{ uid: 0, mode: 0o40777 }, 'parent', ['writable']],
    [{ uid: 65534, mode: 0o40755 }, 'parent', ['owner']],
    [{ uid: 65534, mode: 0o100600 }, 'file', ['owner']],
    [{ uid: 65534, mode: 0o100666 }, 'file', ['owner', 'writable']],
    [{ uid: ME, mode: 0o100644 }, 'file', []],
    [{ uid: ME, mode: 0o100620 }, 'file', ['writable']],
  ] as const)('%o as %s → %j', (st, role, expected) => {
    expect(unsafeBecause(st, role, ME)).toEqual(expected);
  });

  it('quotes paths for the shell only when needed', () => {
    expect(shellQuote('/tmp/ck-1/a.ucp')).toBe('/tmp/ck-1/a.ucp');
    expect(shellQuote("/tmp/my ck/it's")).toBe("'/tmp/my ck/it'\\''s'");
  });
});

describe('what s3xfer creates is private whatever the umask', () => {
  const saved = process.umask();
  afterEach(() => {
    process.umask(saved);
  });
  const modeOf = (p: string) => fs.statSync(p).mode & 0o7777;

  it.each([0o000, 0o277])('umask %o: every directory created is 0700; an existing parent keeps its mode', async (umask) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-unit-'));
    try {
      fs.chmodSync(root, 0o755);
      process.umask(umask);
      await makePrivateDir(path.join(root, 'a', 'b'));
      expect([modeOf(root), modeOf(path.join(root, 'a')), modeOf(path.join(root, 'a', 'b'))]).toEqual([0o755, 0o700, 0o700]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('umask 000: a checkpoint and the temp file it is written through are 0600 from the start', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-unit-'));
    // The store looks fs/promises' open up on each call: watch the modes its temp files are created with.
    const open = fsp.open;
    const tempModes: number[] = [];
    const spy = (async (file: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      const fh = await open(file, flags, mode);
      if (/\.ucp\.\d+$/.test(String(file))) tempModes.push((await fh.stat()).mode & 0o7777);
      return fh;
    }) as typeof fsp.open;
    try {
      process.umask(0);
      fsp.open = spy;
      const store = new CheckpointStore(path.join(root, 'ck'));
      await store.prepare();
      await store.write(body);
      await store.write({ ...body, updatedAt: '2026-11-23T00:00:02.000Z' });
      expect(modeOf(path.join(root, 'ck'))).toBe(0o700);
      expect(modeOf(store.pathFor(body.id, 'upload'))).toBe(0o600);
      expect(tempModes).toEqual([0o600, 0o600]);
    } finally {
      fsp.open = open;
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
