import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/plan/key-order.js';
import { walkSorted } from '../../src/plan/walk.js';
import { mergeByKey } from '../../src/plan/merge.js';
import { ListingOrderError } from '../../src/errors.js';
import { checkedOrder } from '../../src/plan/key-order.js';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const i of items) all.push(i);
  return all;
}

describe('compareKeys: UTF-8 byte order', () => {
  const sorted = ['a-b', 'a.b', 'a/b', 'a0', 'aZ', 'a\u00e9', 'a\u201b', 'a\ue000', 'a\u{1f600}'];
  it('agrees with Buffer.compare on every pair', () => {
    for (const x of sorted) for (const y of sorted) {
      expect(Math.sign(compareKeys(x, y))).toBe(Math.sign(Buffer.compare(Buffer.from(x), Buffer.from(y))));
    }
  });
  it('a surrogate pair sorts after U+E000–U+FFFF (where UTF-16 order is wrong)', () => {
    expect('\u{1f600}' < '\ue000').toBe(true);
    expect(compareKeys('\u{1f600}', '\ue000')).toBe(1);
  });
});

describe('walkSorted: files in the byte order of their keys', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-walk-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const files = ['a-b', 'a/x', 'a/y/z', 'a0', 'B', 'caf\u00e9', 'e\ue000', 'e\u{1f600}', 'lnk/x', 'q.txt'];
  fs.mkdirSync(path.join(root, 'a/y'), { recursive: true });
  fs.mkdirSync(path.join(root, 'target'));
  for (const f of files.filter((f) => !f.startsWith('lnk'))) fs.writeFileSync(path.join(root, f), f);
  fs.writeFileSync(path.join(root, 'target/x'), 'x');
  // A link to a directory sorts as the directory (`lnk/`), after `lnk-file` and before `lnk0`.
  fs.symlinkSync('target', path.join(root, 'lnk'));
  fs.writeFileSync(path.join(root, 'lnk-file'), '');
  fs.writeFileSync(path.join(root, 'lnk0'), '');
  // A name that is not UTF-8 sorts by its encoded key (`‛FF`: E2 80 9B…), after 'q.txt'.
  fs.writeFileSync(Buffer.concat([Buffer.from(root + '/'), Buffer.from([0x72, 0xff])]), '');

  it('directories sort as name/, links as what they point to, names by encoded key', async () => {
    const rels = (await collect(walkSorted(root))).flatMap((e) => (e.kind === 'file' ? [e.file.relPath] : []));
    expect(rels).toEqual([...rels].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(rels).toEqual(['B', 'a-b', 'a/x', 'a/y/z', 'a0', 'caf\u00e9', 'e\ue000', 'e\u{1f600}', 'lnk-file', 'lnk/x', 'lnk0', 'q.txt', 'r\u201bFF', 'target/x']);
  });
});

describe('mergeByKey: two sorted streams in step', () => {
  const k = (s: string) => s;
  it.each<[string, string[], string[], string[]]>([
    ['both empty', [], [], []],
    ['source only', ['a', 'b'], [], ['a:s', 'b:s']],
    ['destination only', [], ['a'], ['a:d']],
    ['interleaved', ['a', 'c', 'e'], ['b', 'c', 'd', 'f'], ['a:s', 'b:d', 'c:sd', 'd:d', 'e:s', 'f:d']],
    ['byte order, not UTF-16 order', ['x\ue000', 'x\u{1f600}'], ['x\u{1f600}'], ['x\ue000:s', 'x\u{1f600}:sd']],
  ])('%s', async (_n, source, destination, want) => {
    const out = await collect(mergeByKey(from(source), k, from(destination), k));
    expect(out.map((j) => ('passed' in j ? 'passed' : `${j.key}:${j.source ? 's' : ''}${j.destination ? 'd' : ''}`))).toEqual(want);
  });

  it('pulls the destination only as far as the source needs', async () => {
    let pulled = 0;
    const destination = (async function* () {
      for (const key of ['a', 'b', 'c', 'd', 'e']) {
        pulled++;
        yield key;
      }
    })();
    const merged = mergeByKey(from(['b', 'z']), k, destination, k);
    await merged.next(); // a: destination only
    const b = await merged.next();
    expect(b.value).toMatchObject({ key: 'b', source: 'b', destination: 'b' });
    expect(pulled).toBe(2); // a and b: nothing beyond what the source has asked for
    await merged.return(undefined);
  });

  it('a listing out of byte order stops the plan', async () => {
    await expect(collect(checkedOrder(from(['b', 'a']), k, 'the listing'))).rejects.toBeInstanceOf(ListingOrderError);
  });
});
