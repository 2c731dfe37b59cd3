import type { PlanItem } from './model.js';
import type { EngineContext } from './context.js';

/** How often a tree's progress is reported, at most. */
const EVERY_MS = 1000;

/**
 * Files and bytes found so far against those done, for a tree whose size is not known
 * until its walk or listing ends: reported as `tree` events, never for a single file.
 */
export class TreeTally {
  private files = 0;
  private bytes = 0;
  private last: number;

  constructor(
    private readonly ctx: EngineContext,
    private readonly done: { copied: number; skipped: number; failed: number; bytes: number },
    private readonly started: number,
  ) {
    this.last = started;
  }

  found(item: PlanItem): void {
    this.files++;
    if (item.action === 'upload' || item.action === 'download') this.bytes += item.job.size;
    else if (item.action === 'copy') this.bytes += item.job.source.size;
  }

  /** `complete`: the plan has ended, so what was found is all there is. */
  tick(complete: boolean): void {
    const now = this.ctx.now();
    if (this.files < 2 || (!complete && now - this.last < EVERY_MS)) return;
    this.last = now;
    const { copied, skipped, failed, bytes } = this.done;
    this.ctx.emit({
      type: 'tree',
      filesDone: copied + skipped + failed,
      filesFound: this.files,
      bytesDone: bytes,
      bytesFound: this.bytes,
      complete,
      ms: now - this.started,
    });
  }
}
