import path from 'node:path';
import { formatSize } from '../size.js';
import type { TransferEvent } from './events.js';

export function formatRate(bytes: number, ms: number): string {
  return ms > 0 ? `${formatSize(Math.round((bytes * 1000) / ms))}/s` : '-';
}

export function formatDuration(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

type Tree = Extract<TransferEvent, { type: 'tree' }>;

/**
 * A tree's progress in one line: `1,200/5,000+ files, 12 MiB/40 MiB+, 3.2 MiB/s`; the `+` says
 * the walk or listing is still finding more, so an ETA is given only once it has ended.
 */
export function formatTree(e: Tree): string {
  const more = e.complete ? '' : '+';
  const n = (x: number) => x.toLocaleString('en-US');
  const parts = [`${n(e.filesDone)}/${n(e.filesFound)}${more} files`, `${formatSize(e.bytesDone)}/${formatSize(e.bytesFound)}${more}`, formatRate(e.bytesDone, e.ms)];
  const eta = treeEta(e);
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
  return parts.join(', ');
}

/** Time left at the rate so far, once everything has been found; undefined before. */
export function treeEta(e: Tree): number | undefined {
  if (!e.complete || e.bytesDone === 0 || e.ms <= 0) return undefined;
  return ((e.bytesFound - e.bytesDone) * e.ms) / e.bytesDone;
}

/** One human line for an event, or undefined for events shown only as bars. */
export function formatEvent(e: TransferEvent): string | undefined {
  switch (e.type) {
    case 'done': {
      const line = `copied ${e.source} -> ${e.destination} (${formatSize(e.size)})`;
      if (!e.resumed) return line;
      const name = path.basename(e.source);
      return `${line}\nresumed ${name}: ${e.resumed.partsDone} of ${e.resumed.partsTotal} parts already uploaded, ${formatSize(e.resumed.bytesSkipped)} not resent`;
    }
    case 'skip':
      return `skipped ${e.source}: ${e.reason}`;
    case 'would-copy':
      return `(dry run) would copy ${e.source} -> ${e.destination} (${formatSize(e.size)}): ${e.reason}`;
    case 'error':
      return `error: ${e.message}`;
    case 'saved':
      return `checkpoint ${e.checkpoint} kept for ${e.source}: ${e.partsDone}/${e.partsTotal} parts ${e.kind === 'copy' ? 'copied' : `${e.kind}ed`}`;
    case 'warning':
      return `warning: ${e.message}`;
    case 'tree':
      return `progress: ${formatTree(e)}`;
    case 'deleted':
      return `deleted ${e.target}`;
    case 'would-delete':
      return `(dry run) would delete ${e.target}`;
    case 'deletions':
      return e.skipped ? `nothing deleted: ${e.skipped}` : `${e.deleted} deleted, ${e.failed} not deleted`;
    case 'shard':
      return `shard ${e.index}/${e.count}: ${e.files} files in this share, ${e.toCopy} to copy (${formatSize(e.bytes)}), ${e.skipped} skipped`;
    case 'summary': {
      const parts = [`${e.copied} copied (${formatSize(e.bytes)} in ${formatDuration(e.ms)}, ${formatRate(e.bytes, e.ms)})`];
      parts.push(`${e.skipped} skipped`, `${e.failed} failed`);
      return `${e.interrupted ? 'interrupted: ' : ''}${parts.join(', ')}`;
    }
    default:
      return undefined;
  }
}
