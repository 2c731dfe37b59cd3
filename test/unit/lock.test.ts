import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointLock, lockHolder } from '../../src/checkpoint/lock.js';
import { LockedError } from '../../src/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-lock-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => path.join(dir, `${++n}.lock`);
const deadPid = () => spawnSync('true').pid!;
const owner = (pid: number, host = os.hostname()) => JSON.stringify({ pid, host, since: '2026-01-01T00:00:00Z', nonce: 'n' + pid });

describe('CheckpointLock', () => {
  it('a second holder is refused while the first lives; released, it can be taken', async () => {
    const f = file();
    const a = await CheckpointLock.acquire(f, 'x');
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    await expect(CheckpointLock.acquire(f, 'big.iso')).rejects.toThrow(LockedError);
    await expect(CheckpointLock.acquire(f, 'big.iso')).rejects.toThrow(/big.iso: skipped, another s3xfer run \(pid \d+ on/);
    expect((await lockHolder(f))?.pid).toBe(process.pid);
    await a.release();
    expect(fs.existsSync(f)).toBe(false);
    const b = await CheckpointLock.acquire(f, 'x');
    await b.release();
  });

  it('a dead owner’s lock is taken over', async () => {
    const f = file();
    fs.writeFileSync(f, owner(deadPid()));
    expect(await lockHolder(f)).toBeUndefined();
    const l = await CheckpointLock.acquire(f, 'x');
    expect(JSON.parse(fs.readFileSync(f, 'utf8')).pid).toBe(process.pid);
    await l.release();
  });

  it('a live pid whose process started at another time is a reused pid: taken over', async () => {
    const f = file();
    fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(owner(process.pid)), processStart: '1' }));
    const l = await CheckpointLock.acquire(f, 'x');
    await l.release();
  });

  it('another host’s lock is respected (its pid cannot be checked)', async () => {
    const f = file();
    fs.writeFileSync(f, owner(deadPid(), 'elsewhere.example'));
    await expect(CheckpointLock.acquire(f, 'x')).rejects.toThrow(/on elsewhere.example/);
  });

  it('an empty lock file is a run being started, unless it is old', async () => {
    const f = file();
    fs.writeFileSync(f, '');
    await expect(CheckpointLock.acquire(f, 'x')).rejects.toThrow(LockedError);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(f, old, old);
    await (await CheckpointLock.acquire(f, 'x')).release();
  });

  it('release leaves a lock that is no longer ours', async () => {
    const f = file();
    const l = await CheckpointLock.acquire(f, 'x');
    fs.writeFileSync(f, owner(process.pid));
    await l.release();
    expect(fs.existsSync(f)).toBe(true);
  });

  it('many racers over one dead lock: exactly one wins', async () => {
    const f = file();
    fs.writeFileSync(f, owner(deadPid()));
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => CheckpointLock.acquire(f, 'x')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});
