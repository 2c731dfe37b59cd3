import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { base64Uint32, crc32cCombine, crc32cShift, crc32cTail, uint32Base64 } from '../../src/engine/checksum.js';

/** A seeded generator: a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

describe('crc32cCombine (zlib crc32_combine for CRC32C)', () => {
  it('equals the CRC32C of the concatenation, on random data split at random points', () => {
    const random = rng(13);
    for (let i = 0; i < 300; i++) {
      const data = randomBytes(Math.floor(random() * 70_000));
      const at = Math.floor(random() * (data.length + 1));
      const a = data.subarray(0, at);
      const b = data.subarray(at);
      expect(crc32cCombine(crc32c(a), crc32c(b), b.length)).toBe(crc32c(data));
      expect(crc32cTail(crc32c(data), crc32c(a), b.length)).toBe(crc32c(b));
    }
  });

  it('edges: empty pieces, single bytes, lengths of 2^k', () => {
    const x = randomBytes(1 << 16);
    for (const n of [0, 1, 2, 3, 4, 7, 8, 255, 256, 4096, 65535, 65536]) {
      const a = x.subarray(0, x.length - n);
      const b = x.subarray(x.length - n);
      expect(crc32cCombine(crc32c(a), crc32c(b), n)).toBe(crc32c(x));
    }
    expect(crc32cCombine(0, 0, 0)).toBe(0);
    expect(crc32cCombine(crc32c(x), 0, 0)).toBe(crc32c(x));
  });

  it('many pieces combine in order to the whole', () => {
    const data = randomBytes(1 << 20);
    const random = rng(7);
    let acc = 0;
    for (let at = 0; at < data.length; ) {
      const n = Math.min(data.length - at, Math.floor(random() * 50_000));
      acc = crc32cCombine(acc, crc32c(data.subarray(at, at + n)), n);
      at += n;
    }
    expect(acc).toBe(crc32c(data));
  });

  it('lengths past 2^32 (objects up to 5 TiB) shift as the sum of their parts', () => {
    const crc = 0x1234abcd;
    for (const [m, n] of [
      [2 ** 32, 5],
      [2 ** 33 + 17, 2 ** 31 + 3],
      [5 * 2 ** 40, 1],
    ]) {
      expect(crc32cShift(crc32cShift(crc, m!), n!)).toBe(crc32cShift(crc, m! + n!));
    }
  });

  it('base64 round trip', () => {
    for (const v of [0, 1, 0x80000000, 0xffffffff, 0x1234abcd]) expect(base64Uint32(uint32Base64(v))).toBe(v);
  });
});
