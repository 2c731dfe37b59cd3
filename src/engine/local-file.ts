import fs, { type FileHandle } from 'node:fs/promises';
import { ChangedSourceError, TransferError } from '../errors.js';
import { fsPath } from '../local-path.js';

/** Read exactly buf.length bytes at `position`; a short read means the file shrank. */
export async function readFull(fh: FileHandle, buf: Buffer, position: number, name: string): Promise<Buffer> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw changedWhileReading(name);
    done += bytesRead;
  }
  return buf;
}



export function changedWhileReading(name: string): TransferError {
  return new ChangedSourceError(`${name} changed while it was being uploaded: rerun to upload the new version`);
}

/**
 * The file must still be what the plan saw: never publish an object made of two versions.
 * `byPath: false` skips the check that the path still names this file, for the moment
 * right after opening it by that path (each check is a thread-pool round trip, and small
 * files pay them per file).
 */
export async function assertUnchanged(
  fh: FileHandle,
  expected: { size: number; mtimeMs: number },
  name: string,
  { byPath = true }: { byPath?: boolean } = {},
): Promise<void> {
  const st = await fh.stat();
  if (st.size !== expected.size || Math.trunc(st.mtimeMs) !== Math.trunc(expected.mtimeMs)) {
    throw changedWhileReading(name);
  }
  if (!byPath) return;
  // Deleted or replaced under the same name: what we read is no longer what the path holds.
  const now = await fs.stat(fsPath(name)).catch(() => undefined);
  if (!now || now.ino !== st.ino || now.dev !== st.dev) {
    throw new ChangedSourceError(`${name} was deleted or replaced while it was being uploaded: rerun to upload what is there now`);
  }
}
