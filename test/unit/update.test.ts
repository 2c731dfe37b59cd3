import { describe, expect, it } from 'vitest';
import { decideCompleted, decideDownload, decideUpload } from '../../src/plan/update.js';

const T = 1_700_000_000_000;

describe('decideUpload', () => {
  it.each([
    ['missing', { mtimeMs: T }, undefined, true],
    ['file newer than LastModified', { mtimeMs: T + 5000 }, { lastModifiedMs: T }, true],
    ['file older than LastModified', { mtimeMs: T - 5000 }, { lastModifiedMs: T }, false],
    ['same second', { mtimeMs: T + 900 }, { lastModifiedMs: T + 10 }, false],
    ['same second, same size', { mtimeMs: T + 900, size: 3 }, { lastModifiedMs: T + 10, size: 3 }, false],
    ['same second, other size: rewritten in the second it was copied', { mtimeMs: T + 900, size: 7 }, { lastModifiedMs: T + 10, size: 1 }, true],
    ['file older, other size: the object is newer', { mtimeMs: T - 5000, size: 7 }, { lastModifiedMs: T, size: 1 }, false],
  ])('%s', (_n, file, object, copy) => expect(decideUpload(file, object).copy).toBe(copy));
  it('a single file and a tree decide alike: the recorded mtime (HEAD only) plays no part', () => {
    const head = { lastModifiedMs: T + 9000, mtimeMs: T };
    const listed = { lastModifiedMs: T + 9000 };
    expect(decideUpload({ mtimeMs: T + 5000 }, head)).toEqual(decideUpload({ mtimeMs: T + 5000 }, listed));
    expect(decideUpload({ mtimeMs: T + 5000 }, head).copy).toBe(false);
  });
});

describe('decideDownload', () => {
  it.each([
    ['missing locally', { lastModifiedMs: T }, undefined, true, undefined],
    ['local not older than LastModified', { lastModifiedMs: T }, { mtimeMs: T }, false, undefined],
    ['LastModified newer, mtime unknown: ask', { lastModifiedMs: T + 5000 }, { mtimeMs: T }, true, true],
    ['LastModified newer, recorded mtime equal', { lastModifiedMs: T + 5000, mtimeMs: T }, { mtimeMs: T }, false, undefined],
    ['recorded mtime newer', { lastModifiedMs: T + 5000, mtimeMs: T + 2000 }, { mtimeMs: T }, true, undefined],
    ['LastModified in the file\'s second, same size', { lastModifiedMs: T + 500, size: 1 }, { mtimeMs: T, size: 1 }, false, undefined],
    ['LastModified in the file\'s second, other size: ask', { lastModifiedMs: T + 500, size: 7 }, { mtimeMs: T, size: 1 }, true, true],
    ['recorded mtime in the file\'s second, other size', { lastModifiedMs: T + 500, mtimeMs: T + 900, size: 7 }, { mtimeMs: T, size: 1 }, true, undefined],
    ['file newer than the object, other size', { lastModifiedMs: T - 5000, size: 7 }, { mtimeMs: T, size: 1 }, false, undefined],
  ])('%s', (_n, object, file, copy, needsMetadata) => {
    const d = decideDownload(object, file);
    expect(d.copy).toBe(copy);
    expect(d.needsMetadata).toBe(needsMetadata);
  });
});

describe('decideCompleted', () => {
  it.each([
    ['same size, newer object', { size: 10, mtimeMs: T }, { size: 10, lastModifiedMs: T + 1000 }, false],
    ['different size', { size: 10, mtimeMs: T }, { size: 11, lastModifiedMs: T + 1000 }, true],
    ['file changed after upload', { size: 10, mtimeMs: T + 5000 }, { size: 10, lastModifiedMs: T }, true],
  ])('%s', (_n, file, object, copy) => expect(decideCompleted(file, object).copy).toBe(copy));
});
