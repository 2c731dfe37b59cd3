import { UsageError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { formatSize, parseSize } from '../size.js';
import { MAX_PART_SIZE, MIN_PART_SIZE } from '../engine/model.js';

// Checks of flag, environment and config-file values: each error quotes the value and says what to use.

/** Numeric flags are read as text (yargs would turn 'abc' into NaN): the message quotes what was typed. */
export function positiveInt(value: unknown, flag: string): number {
  const n = /^\s*\d+\s*$/.test(String(value)) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`invalid ${flag} '${String(value)}': use a whole number of 1 or more`);
  return n;
}

/** Zero would switch stall detection off (node's setTimeout(0)); under a second would cut healthy connections. */
export function stallTimeout(value: string | number | boolean, flag: string): number {
  const ms = typeof value === 'number' ? value * 1000 : parseDuration(String(value), flag);
  if (!(ms >= 1000)) throw new UsageError(`invalid ${flag} '${value}': use 1s or more (a connection that sends nothing for that long is cut and retried)`);
  return ms;
}

/** The usual spellings of a boolean in a variable or a file: true/false, yes/no, on/off, 1/0. */
export function flagBoolean(value: string | number | boolean, key: string): boolean {
  const text = String(value).trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(text)) return true;
  if (['false', 'no', 'off', '0'].includes(text)) return false;
  throw new UsageError(`invalid ${key} '${String(value)}': use true or false`);
}

export function positiveSize(value: string | number | boolean, flag: string): number {
  const size = parseSize(String(value), flag);
  if (size < 1) throw new UsageError(`invalid ${flag} '${value}': must be at least 1 byte`);
  return size;
}

export function checkPartSize(value: string | number | boolean): number {
  const size = parseSize(String(value), '--part-size');
  if (size < MIN_PART_SIZE) throw new UsageError(`--part-size ${formatSize(size)} is below S3's minimum of 5 MiB: use 5MiB or more`);
  if (size > MAX_PART_SIZE) throw new UsageError(`--part-size ${formatSize(size)} is above S3's maximum of 5 GiB`);
  return size;
}

/** Below the threshold a file goes as one PUT, which S3 allows up to 5 GiB. */
export function checkThreshold(size: number): number {
  if (size > MAX_PART_SIZE) throw new UsageError(`--bigfile-threshold ${formatSize(size)} is above S3's single-PUT limit of 5 GiB: use 5GiB or less`);
  return size;
}
