import type { EngineContext } from '../../src/engine/context.js';
import { BufferBudget } from '../../src/engine/memory.js';
import { Destination } from '../../src/engine/destination.js';
import { Bandwidth } from '../../src/engine/bandwidth.js';
import type { TransferEvent } from '../../src/report/events.js';
import type { MemoryStore } from './memory-store.js';

const MiB = 1024 * 1024;

/** An engine context over an in-memory store for unit tests: fast retries, no bandwidth cap, events kept. */
export function engineContext(store: MemoryStore, over: Partial<EngineContext> = {}): EngineContext & { events: TransferEvent[] } {
  const events: TransferEvent[] = [];
  return {
    store,
    signal: new AbortController().signal,
    emit: (e) => events.push(e),
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    parallel: 2,
    now: () => Date.now(),
    fsync: false,
    memory: new BufferBudget(64 * MiB),
    destination: new Destination(),
    bandwidth: new Bandwidth(0),
    events,
    ...over,
  };
}
