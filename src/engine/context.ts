import type { Emit } from '../report/events.js';
import type { RetryPolicy } from './retry.js';
import type { ObjectStore } from './store.js';
import type { BufferBudget } from './memory.js';
import type { Destination } from './destination.js';
import type { ObjectOptions } from './object-settings.js';
import type { Bandwidth } from './bandwidth.js';

/** What every transfer needs; passed in, never global. */
export interface EngineContext {
  store: ObjectStore;
  /** Where copies read from when the source is another endpoint or account (else `store`). */
  sourceStore?: ObjectStore | undefined;
  signal: AbortSignal;
  emit: Emit;
  retry: RetryPolicy;
  /** Parts or ranges in flight per file. */
  parallel: number;
  now: () => number;
  /** Where downloads land: directories made once per run, never through a link below the root. */
  destination: Destination;
  /** Bytes of part and file buffers held at once, across all transfers. */
  memory: BufferBudget;
  /** fsync downloaded files before renaming them into place (survives power loss; slower). */
  fsync: boolean;
  /** What uploads set on the objects they write (headers, class, tags, encryption); none when absent. */
  object?: ObjectOptions | undefined;
  /** --bwlimit: every byte path asks it before moving bytes (`await ctx.bandwidth.take(n, signal)`). */
  bandwidth: Bandwidth;
}
