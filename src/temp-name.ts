import { createHash } from 'node:crypto';
import path from 'node:path';
import { QUOTE } from './local-path.js';

/**
 * Download temp files: hidden, beside the destination (same filesystem, so the
 * final rename is atomic), named after it and after the process that writes it:
 * `.NAME.s3xfer-PID-RANDOM.part`. The name must fit NAME_MAX (255 bytes) whatever
 * NAME is: a long name is cut and a hash of the whole name keeps it distinct.
 */
const NAME_MAX = 255;
/** Bytes the temp name adds around the stem: `.` + `.s3xfer-` + pid (≤ 7) + `-` + 8 hex + `.part`. */
const OVERHEAD = 1 + 8 + 7 + 1 + 8 + 5;
const KEEP_BYTES = 120;

const TEMP_RE = /^\.(.+)\.s3xfer-(?:([0-9a-z]{1,7})-)?[0-9a-f]+\.part$/;

/** The part of a temp name that stands for the destination's name: the same for every run. */
export function tempStem(name: string): string {
  if (Buffer.byteLength(name) + OVERHEAD <= NAME_MAX) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${cutWhole(name, KEEP_BYTES)}~${hash}`;
}

/**
 * The longest prefix of at most `max` bytes that ends neither inside a
 * character nor inside a `‛XX` or `‛‛` escape (local-path.ts): cut there, a
 * name would read back differently and never match its own temp files.
 */
function cutWhole(name: string, max: number): string {
  let end = 0;
  let bytes = 0;
  for (let i = 0; i < name.length; ) {
    const escape = name[i] === QUOTE ? (name[i + 1] === QUOTE ? 2 : /^[89A-F][0-9A-F]$/.test(name.slice(i + 1, i + 3)) ? 3 : 1) : 0;
    const cp = name.codePointAt(i)!;
    const len = escape || (cp > 0xffff ? 2 : 1);
    const size = Buffer.byteLength(name.slice(i, i + len));
    if (bytes + size > max) break;
    bytes += size;
    i += len;
    end = i;
  }
  return name.slice(0, end);
}

/** A new temp path for `dest`, unique per process and call. */
export function tempPathFor(dest: string, pid = process.pid): string {
  // Crypto-grade randomness is not needed (and costs a syscall per file).
  const unique = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
  return path.join(path.dirname(dest), `.${tempStem(path.basename(dest))}.s3xfer-${pid.toString(36)}-${unique}.part`);
}

/** Any temp file of ours, by name: never a source of an upload. */
export function isOurTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

/** A temp file of ours for exactly `dest`, beside it: the only kind a checkpoint may make us delete. */
export function isOurTempFor(tempPath: string, dest: string): boolean {
  if (path.dirname(tempPath) !== path.dirname(dest)) return false;
  const m = TEMP_RE.exec(path.basename(tempPath));
  return m !== null && m[1] === tempStem(path.basename(dest));
}

/** The pid that wrote a temp file, when its name records one (older s3xfer versions did not). */
export function tempOwnerPid(name: string): number | undefined {
  const pid = TEMP_RE.exec(name)?.[2];
  return pid === undefined ? undefined : Number.parseInt(pid, 36);
}
