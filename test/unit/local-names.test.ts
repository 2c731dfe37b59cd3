import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeToBytes, encodeName, fsPath } from '../../src/local-path.js';
import { isOurTempFor, isOurTempName, tempOwnerPid, tempPathFor, tempStem } from '../../src/temp-name.js';
import { refuseCollisions } from '../../src/plan/collisions.js';

describe('names that are not UTF-8', () => {
  it.each([
    ['plain', Buffer.from('café.txt'), 'café.txt'],
    ['Latin-1 byte', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74]), 'caf‛E9.t'],
    ['lone continuation byte', Buffer.from([0x80]), '‛80'],
    ['truncated sequence', Buffer.from([0x61, 0xe2, 0x82]), 'a‛E2‛82'],
    ['overlong slash', Buffer.from([0xc0, 0xaf]), '‛C0‛AF'],
    ['surrogate half', Buffer.from([0xed, 0xa0, 0x80]), '‛ED‛A0‛80'],
    ['our quote itself', Buffer.from('a‛E9b'), 'a‛‛E9b'],
    ['quote next to a bad byte', Buffer.concat([Buffer.from('‛'), Buffer.from([0xff])]), '‛‛‛FF'],
  ])('%s: encodes reversibly', (_n, raw, encoded) => {
    expect(encodeName(raw)).toBe(encoded);
    expect(decodeToBytes(encoded).equals(raw)).toBe(true);
  });

  it('every single byte value round-trips', () => {
    for (let b = 0; b < 256; b++) {
      const raw = Buffer.from([0x78, b, 0x79]);
      expect(decodeToBytes(encodeName(raw)).equals(raw)).toBe(true);
    }
  });

  it('fsPath hands node:fs the real bytes only when needed', () => {
    expect(fsPath('/tmp/plain')).toBe('/tmp/plain');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-names-'));
    const raw = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9])]);
    fs.writeFileSync(raw, 'x');
    expect(fs.readFileSync(fsPath(`${dir}/caf‛E9`)).toString()).toBe('x');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('temp file names', () => {
  it('fit NAME_MAX whatever the destination name', () => {
    for (const name of ['a', 'x'.repeat(200), 'y'.repeat(255), 'é'.repeat(127)]) {
      const t = path.basename(tempPathFor(`/d/${name}`));
      expect(Buffer.byteLength(t)).toBeLessThanOrEqual(255);
      expect(isOurTempName(t)).toBe(true);
      expect(isOurTempFor(`/d/${t}`, `/d/${name}`)).toBe(true);
    }
  });
  it('long names stay distinct', () => {
    expect(tempStem(`${'z'.repeat(250)}1`)).not.toBe(tempStem(`${'z'.repeat(250)}2`));
  });
  it('record the writing pid', () => {
    expect(tempOwnerPid(path.basename(tempPathFor('/d/f.bin', 4242)))).toBe(4242);
  });
  it.each([
    ['/d/.f.bin.s3xfer-2ix-0123abcd.part', '/d/f.bin', true],
    ['/d/.f.bin.s3xfer-3ef5bd1cfce4.part', '/d/f.bin', true], // written by an earlier version
    ['/e/.f.bin.s3xfer-2ix-0123abcd.part', '/d/f.bin', false], // not beside the destination
    ['/d/.g.bin.s3xfer-2ix-0123abcd.part', '/d/f.bin', false], // another file's
    ['/d/important.txt', '/d/f.bin', false],
    ['/d/../etc/.f.bin.s3xfer-1-0123abcd.part', '/d/f.bin', false],
  ])('%s is ours for %s: %s', (temp, dest, ours) => expect(isOurTempFor(temp, dest)).toBe(ours));
});

describe('refuseCollisions (a sorted stream)', () => {
  // rel → target under /d, as safeLocalPath maps them; keys in listing order.
  const landing = (rel: string) => ({ rel, target: `/d/${rel.split('/').filter((s) => s !== '' && s !== '.').join('/')}` });
  async function run(rels: string[], existing: string[] = []) {
    const out: string[] = [];
    const items = (async function* () {
      yield* rels.map(landing);
    })();
    const guarded = refuseCollisions(items, (x): x is ReturnType<typeof landing> => 'rel' in x, {
      root: '/d',
      name: (t) => t.rel,
      existing: async (rel) => (existing.includes(rel) ? rel : undefined),
    });
    for await (const x of guarded) out.push('action' in x ? `refuse ${x.source}` : x.rel);
    return out;
  }
  it.each<[string, string[], string[], string[]?]>([
    ['distinct', ['a', 'b'], ['a', 'b']],
    ['file where a directory is needed', ['f', 'f/g'], ['refuse f', 'f/g']],
    ['deeper', ['f', 'f/g/h/i'], ['refuse f', 'f/g/h/i']],
    ['names between f and f/ do not release f', ['f', 'f-x', 'f.y', 'f/g'], ['f-x', 'refuse f', 'f.y', 'f/g']],
    // a-b goes as soon as a-c has passed 'a-b/'; a waits for 'a/' to be passed: never a pile of siblings held.
    ['nested held files: each goes once passed', ['a', 'a-b', 'a-c', 'b'], ['a-b', 'a', 'a-c', 'b']],
    ['prefix of a name is no conflict', ['f', 'fg/h'], ['f', 'fg/h']],
    ['an alias before its canonical key: both refused', ['a//b', 'a/b', 'c'], ['refuse a/b', 'c', 'refuse a//b']],
    ['two aliases alone: both refused', ['a/./b', 'a//b'], ['refuse a/./b', 'refuse a//b']],
    ['an alias whose canonical key came earlier: the alias refused', ['a/ b', 'a/.b', 'a/./ b'], ['a/ b', 'a/.b', 'refuse a/./ b'], ['a/ b']],
    ['an alias alone is copied', ['x//y'], ['x//y']],
  ])('%s', async (_n, rels, want, existing) => {
    expect(await run(rels, existing)).toEqual(want);
  });
});

describe('review: keys that only look like escapes', () => {
  it.each(['‛2E‛2E', '‛2F', '‛00', '‛7F', 'a‛2Fb'])('%s decodes to itself, never to an ASCII byte', (key) => {
    expect(decodeToBytes(key).toString('utf8')).toBe(key);
  });
  it('a key made of escaped dots and slashes stays inside the destination', async () => {
    const { safeLocalPath } = await import('../../src/location.js');
    // One file named literally '‛2E‛2E‛2F…' under /dst (its canonical encoded form doubles the quotes).
    expect(decodeToBytes(safeLocalPath('/dst', '‛2E‛2E‛2F‛2E‛2E‛2Fetc/cron.d/evil')!).toString()).toBe('/dst/‛2E‛2E‛2F‛2E‛2E‛2Fetc/cron.d/evil');
    expect(decodeToBytes(safeLocalPath('/dst', '‛2E‛2E/x')!).toString()).toBe('/dst/‛2E‛2E/x');
  });
  it('a long name is never cut inside an escape', () => {
    for (let pad = 110; pad < 125; pad++) {
      const name = `${'a'.repeat(pad)}${'‛E9'.repeat(40)}`;
      const stem = tempStem(name).replace(/~[0-9a-f]{12}$/, '');
      expect(name.startsWith(stem)).toBe(true);
      // Cut inside an escape, the stem would read back as another name.
      expect(encodeName(decodeToBytes(stem))).toBe(stem);
    }
  });
});
