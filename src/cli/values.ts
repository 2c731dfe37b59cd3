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

/** ISO 8601: a date (midnight UTC), or a date and time (a time without a zone is local, as JavaScript reads it). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** --newer-than/--older-than: an instant (2026-01-01, 2026-01-01T10:00:00Z) or an age (7d), as `uploads abort --older-than` reads it. */
export function timeOrAge(value: string | number | boolean, flag: string): { atMs: number } | { ageMs: number } {
  const text = String(value).trim();
  const atMs = ISO_TIME.test(text) ? Date.parse(text.replace(' ', 'T')) : NaN;
  if (Number.isFinite(atMs)) return { atMs };
  if (/^\d+(?:\.\d+)?\s*[smhdw]$/i.test(text)) return { ageMs: parseDuration(text, flag) };
  throw new UsageError(`invalid ${flag} '${text}': use a date or time (2026-01-01, 2026-01-01T10:00:00Z) or an age (90s, 12h, 7d)`);
}

/** --bwlimit: a size per second (50MiB/s, 50M, 400KB/s); 0 or off for no limit (overrides a config file's). */
export function bytesPerSecond(value: string | number | boolean, flag: string): number {
  const text = String(value).trim();
  if (/^(0|off|none)$/i.test(text)) return 0;
  const usage = `invalid ${flag} '${text}': use a rate such as 50MiB/s, 8M or 400KB/s (1KiB/s or more), or 0 for no limit`;
  let rate: number;
  try {
    rate = parseSize(text.replace(/\s*\/\s*s$/i, ''), flag);
  } catch {
    throw new UsageError(usage);
  }
  // Below 1 KiB/s one 1 MiB read would wait over 17 minutes: surely a typo.
  if (rate < 1024) throw new UsageError(usage);
  return rate;
}
