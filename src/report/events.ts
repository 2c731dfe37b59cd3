/** What the engine reports. It never prints; a reporter renders these as text or JSON lines. */
export type TransferEvent =
  | {
      type: 'start';
      id: number;
      source: string;
      destination: string;
      size: number;
      multipart: boolean;
    }
  | { type: 'progress'; id: number; bytes: number }
  | {
      type: 'done';
      id: number;
      source: string;
      destination: string;
      size: number;
      /** Bytes actually moved in this run (less than size after a resume). */
      bytesSent: number;
      ms: number;
      resumed?: { partsDone: number; partsTotal: number; bytesSkipped: number } | undefined;
    }
  | { type: 'skip'; source: string; destination: string; reason: string }
  | { type: 'would-copy'; source: string; destination: string; size: number; reason: string }
  | { type: 'error'; id?: number | undefined; source: string; destination: string; message: string }
  | { type: 'warning'; message: string }
  /** A checkpoint was kept for a transfer that stopped: rerun to resume it. */
  | { type: 'saved'; kind: 'upload' | 'download' | 'copy'; source: string; checkpoint: string; partsDone: number; partsTotal: number }
  | { type: 'retry'; source: string; attempt: number; delayMs: number; message: string }
  /**
   * A tree's progress: files (copied, skipped or failed) and bytes (copied) done, of those found so far;
   * `complete` once the walk or listing has ended, when found is the whole. At most once a second.
   */
  | { type: 'tree'; filesDone: number; filesFound: number; bytesDone: number; bytesFound: number; complete: boolean; ms: number }
  /** `sync --delete`: removed from the destination (or, in a dry run, would be). */
  | { type: 'deleted'; target: string }
  | { type: 'would-delete'; target: string }
  | { type: 'deletions'; deleted: number; failed: number; skipped?: string | undefined }
  /** `--shard`: what this worker's share of the tree holds (just before the summary). */
  | { type: 'shard'; index: number; count: number; files: number; toCopy: number; bytes: number; skipped: number }
  | { type: 'summary'; copied: number; skipped: number; failed: number; bytes: number; ms: number; interrupted: boolean };

export type Emit = (event: TransferEvent) => void;
