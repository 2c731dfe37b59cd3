import type { Emit } from '../report/events.js';
import type { RetryPolicy } from './retry.js';
import type { ObjectStore } from './store.js';
import type { BufferBudget } from './memory.js';

/** What every transfer needs; passed in, never global. */
export interface EngineContext {
  store: ObjectStore;
  signal: AbortSignal;
  emit: Emit;
  retry: RetryPolicy;
  /** Parts or ranges in flight per file. */
  parallel: number;
  now: () => number;
  /** mkdir -p, each directory once per run. */
  ensureDir: (dir: string) => Promise<void>;
  /** Bytes of part and file buffers held at once, across all transfers. */
  memory: BufferBudget;
  /** fsync downloaded files before renaming them into place (survives power loss; slower). */
  fsync: boolean;
}
