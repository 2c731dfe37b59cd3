import { describe, expect, it } from 'vitest';
import { Bandwidth, throttleBody, throttleSink } from '../../src/engine/bandwidth.js';

/** A clock that moves only when someone sleeps: the waits the limiter asks for, exactly. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
    advance: (ms: number) => (now += ms),
  };
}

const signal = new AbortController().signal;

describe('Bandwidth', () => {
  it('no limit: never waits', async () => {
    const t = fakeTime();
    const bw = new Bandwidth(0, t.now, t.sleep);
    for (let i = 0; i < 10; i++) await bw.take(1 << 20, signal);
    expect(t.sleeps).toEqual([]);
  });

  it('paces takes to the rate: 10 takes of 100 KB at 1 MB/s, each a 100 ms slot after the last', async () => {
    const t = fakeTime();
    const bw = new Bandwidth(1_000_000, t.now, t.sleep);
    for (let i = 0; i < 10; i++) await bw.take(100_000, signal);
    // The first goes at once, the tenth when its slot starts.
    expect(t.now()).toBe(900);
  });

  it('callers share one budget: each reserves the slot after those before it', async () => {
    const t = fakeTime();
    const sleeps: number[] = [];
    const bw = new Bandwidth(1_000_000, t.now, async (ms) => void sleeps.push(ms));
    // Three callers at the same instant (the clock does not move): 0, 0.5 and 1 s of waiting.
    await Promise.all([bw.take(500_000, signal), bw.take(500_000, signal), bw.take(500_000, signal)]);
    expect(sleeps).toEqual([500, 1000]);
  });

  it('an idle link lends no more than the burst', async () => {
    const t = fakeTime();
    const bw = new Bandwidth(1_000_000, t.now, t.sleep);
    t.advance(60_000);
    await bw.take(1_000_000, signal);
    await bw.take(1_000_000, signal);
    expect(t.sleeps).toEqual([950]);
  });

  it('an aborted wait rejects with the abort', async () => {
    const bw = new Bandwidth(1024);
    const c = new AbortController();
    await bw.take(1024, c.signal);
    const waiting = bw.take(10 * 1024, c.signal);
    c.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow();
  });
});

describe('throttleBody / throttleSink', () => {
  it('unlimited: the body and the sink are returned as they are', () => {
    const bw = new Bandwidth(0);
    const body = Buffer.from('abc');
    const sink = async () => {};
    expect(throttleBody(bw, body, signal)).toBe(body);
    expect(throttleSink(bw, sink, signal)).toBe(sink);
  });

  it('a paced body has the same size and bytes, in slices, each taken from the budget', async () => {
    const t = fakeTime();
    const bw = new Bandwidth(1 << 20, t.now, t.sleep);
    const bytes = Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => i % 251));
    const paced = throttleBody(bw, bytes, signal);
    expect(Buffer.isBuffer(paced)).toBe(false);
    const pieces: Buffer[] = [];
    for await (const p of (paced as { pieces(): AsyncIterable<Buffer> }).pieces()) pieces.push(Buffer.from(p));
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
    expect(pieces.map((p) => p.length)).toEqual([128 * 1024, 128 * 1024, 44 * 1024]);
    // 300 KiB at 1 MiB/s, the last slice sent as its slot starts.
    expect(t.now()).toBeCloseTo(((256 * 1024) / (1 << 20)) * 1000, 5);
  });

  it('a paced sink passes every view on, after waiting its turn', async () => {
    const t = fakeTime();
    const bw = new Bandwidth(1 << 20, t.now, t.sleep);
    const seen: number[] = [];
    const sink = throttleSink(bw, (v) => void seen.push(v.length), signal);
    for (let i = 0; i < 4; i++) await sink(Buffer.alloc(1 << 20));
    expect(seen).toEqual([1 << 20, 1 << 20, 1 << 20, 1 << 20]);
    expect(t.now()).toBe(3000);
  });
});
