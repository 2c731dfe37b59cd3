import { describe, expect, it } from 'vitest';
import { CoalescingWriter } from '../../src/checkpoint/store.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CoalescingWriter', () => {
  it('without an interval: one save in flight, the latest state written after it', async () => {
    let state = 0;
    const saved: number[] = [];
    const w = new CoalescingWriter(async () => {
      const s = state;
      await sleep(5);
      saved.push(s);
    });
    for (state = 1; state <= 5; state++) w.schedule();
    state = 5;
    await w.flush();
    // The first save took state 1 (started at once); everything after it was coalesced into one.
    expect(saved).toEqual([1, 5]);
  });

  it('with an interval: saves start no closer together than it, and flush writes at once', async () => {
    let clock = 0;
    let state = 0;
    const saved: Array<[number, number]> = [];
    const w = new CoalescingWriter(
      async () => {
        saved.push([clock, state]);
      },
      500,
      () => clock,
    );
    state = 1;
    w.schedule();
    await sleep(1);
    expect(saved).toEqual([[0, 1]]);
    // Scheduled again 10 (fake) ms later: it waits, so a burst of parts costs one save.
    clock = 10;
    state = 2;
    w.schedule();
    state = 3;
    w.schedule();
    await sleep(20);
    expect(saved).toEqual([[0, 1]]);
    // flush() does not wait out the interval.
    await w.flush();
    expect(saved).toEqual([
      [0, 1],
      [10, 3],
    ]);
  });

  it('a failed save is rethrown by flush, unless a later one succeeded', async () => {
    let fail = true;
    const w = new CoalescingWriter(async () => {
      if (fail) throw new Error('disk full');
    });
    w.schedule();
    await expect(w.flush()).rejects.toThrow('disk full');
    fail = false;
    w.schedule();
    await expect(w.flush()).resolves.toBeUndefined();
  });
});
