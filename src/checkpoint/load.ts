import { ExitCode, UserError } from '../errors.js';
import type { Checkpoint, Salvage } from './schema.js';
import type { CheckpointKind, CheckpointStore } from './store.js';

/**
 * Read a checkpoint to resume from. A corrupt one is kept aside as
 * `<id>.<ext>.corrupt` (never silently deleted) and what can be salvaged from
 * it is returned; one from a newer s3xfer is refused rather than misread.
 */
export async function loadForResume<K extends CheckpointKind>(
  checkpoints: CheckpointStore,
  id: string,
  kind: K,
  warn: (why: string) => void,
): Promise<{ checkpoint?: Extract<Checkpoint, { kind: K }>; salvage?: Salvage }> {
  const read = await checkpoints.read(id, kind);
  if (!read) return {};
  if (read.ok) return { checkpoint: read.checkpoint };
  if (read.problem === 'newer-version') {
    throw new UserError(`${checkpoints.pathFor(id, kind)} was ${read.reason}: upgrade s3xfer or remove the checkpoint`, ExitCode.partial);
  }
  const aside = await checkpoints.quarantine(id, kind);
  warn(`it is corrupt (${read.reason}), kept as ${aside}`);
  return read.salvage ? { salvage: read.salvage } : {};
}
