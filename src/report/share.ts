import type { Shard } from '../plan/shard.js';
import type { TransferEvent } from './events.js';

export type ShareEvent = Extract<TransferEvent, { type: 'shard' }>;

/**
 * Counts one worker's share of a tree from the events the run emits (so it
 * holds however the plan is produced): the files the share holds, those to copy
 * and their bytes, those skipped. Reported just before the summary.
 */
export class ShareCounter {
  private readonly e: ShareEvent;
  constructor(shard: Shard) {
    this.e = { type: 'shard', index: shard.index, count: shard.count, files: 0, toCopy: 0, bytes: 0, skipped: 0 };
  }

  observe(e: TransferEvent): void {
    if (e.type === 'would-copy' || e.type === 'start') {
      this.e.files++;
      this.e.toCopy++;
      this.e.bytes += e.size;
    } else if (e.type === 'skip') {
      this.e.files++;
      this.e.skipped++;
    } else if (e.type === 'error' && e.id === undefined) {
      this.e.files++; // refused before it started (an unsafe or colliding name)
    }
  }

  event(): ShareEvent {
    return { ...this.e };
  }
}
