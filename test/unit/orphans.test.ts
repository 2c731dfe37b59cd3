import { describe, expect, it } from 'vitest';
import { orphansOf } from '../../src/checkpoint/orphans.js';
import type { UploadCheckpoint } from '../../src/checkpoint/schema.js';

const T = Date.parse('2026-11-24T03:00:00Z');
const cp = { destination: { endpoint: 'e', bucket: 'b', key: 'k' }, intentAt: new Date(T).toISOString() } as UploadCheckpoint;
const up = (uploadId: string, initiatedMs: number, key = 'k') => ({ key, uploadId, initiatedMs });

describe('orphansOf: uploads a killed run made and never recorded', () => {
  it.each([
    ['made right after the intent', up('a', T + 2_000), true],
    ['a few minutes early (clock skew)', up('b', T - 10 * 60_000), true],
    ['hours later: someone else’s upload of the same key', up('c', T + 3 * 3600_000), false],
    ['long before the intent', up('d', T - 3600_000), false],
    ['another key', up('e', T + 1000, 'k2'), false],
  ])('%s', (_n, u, orphan) => expect(orphansOf(cp, [u]).length === 1).toBe(orphan));

  it('an upload another checkpoint holds is never an orphan', () => {
    expect(orphansOf(cp, [up('held', T + 1000)], new Set(['held']))).toEqual([]);
  });

  it('a checkpoint that recorded its upload has no orphans', () => {
    expect(orphansOf({ ...cp, uploadId: 'x' }, [up('a', T + 1000)])).toEqual([]);
  });
});
