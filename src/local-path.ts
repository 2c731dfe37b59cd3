/**
 * Local names that are not valid UTF-8. S3 keys are UTF-8, Linux file names are
 * bytes: `caf\xe9.txt` (Latin-1) is a real file that Node's string paths cannot
 * even name (it reads as `caf\ufffd.txt`, which does not exist). s3xfer keeps
 * every local path as a string in an *encoded form*, reversible and valid UTF-8:
 *
 * - a byte that is not part of valid UTF-8 becomes `‛` (U+201B) and two
 *   uppercase hex digits: `caf\xe9.txt` ↔ `caf‛E9.txt` (rclone's convention);
 * - a literal `‛` becomes `‛‛`, so the mapping stays one-to-one;
 * - everything else is itself.
 *
 * Keys use the same form, so an upload stores `caf‛E9.txt` and a download
 * restores the byte 0xE9. Every filesystem call takes `fsPath(p)`: the path's
 * real bytes (a Buffer) when it holds a `‛`, else the string unchanged.
 */
import { isUtf8 } from 'node:buffer';

export const QUOTE = '\u201B';
const QUOTE_BYTES = Buffer.from(QUOTE, 'utf8');

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function validSequence(buf: Buffer, i: number): number {
  const b = buf[i]!;
  const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > buf.length) return 0;
  // Buffer.isUtf8 rejects overlong forms, surrogates and continuation errors for us.
  return isUtf8(buf.subarray(i, i + n)) ? n : 0;
}

/** A name (or path) as read from the filesystem → its encoded string form. */
export function encodeName(raw: Buffer): string {
  if (isUtf8(raw)) {
    const s = raw.toString('utf8');
    return s.includes(QUOTE) ? s.replaceAll(QUOTE, QUOTE + QUOTE) : s;
  }
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const n = validSequence(raw, i);
    if (n === 0) {
      out += `${QUOTE}${raw[i]!.toString(16).toUpperCase().padStart(2, '0')}`;
      i += 1;
      continue;
    }
    const s = raw.toString('utf8', i, i + n);
    out += s === QUOTE ? QUOTE + QUOTE : s;
    i += n;
  }
  return out;
}

/** Text the user typed (valid UTF-8 by construction) → encoded form. */
export function encodeText(text: string): string {
  return text.includes(QUOTE) ? text.replaceAll(QUOTE, QUOTE + QUOTE) : text;
}

/**
 * Only bytes 0x80–0xFF are ever escaped (every ASCII byte is valid UTF-8), so
 * only those decode: a key's `‛2F‛2E‛2E` must never become `/..` on disk.
 */
const HEX = /^[89A-F][0-9A-F]$/;

/** Encoded form → the bytes the filesystem knows. A `‛` not followed by `‛` or an escaped byte stays itself. */
export function decodeToBytes(encoded: string): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  let i = encoded.indexOf(QUOTE);
  while (i !== -1) {
    parts.push(Buffer.from(encoded.slice(from, i), 'utf8'));
    const next = encoded[i + 1];
    const hex = encoded.slice(i + 1, i + 3);
    if (next === QUOTE) {
      parts.push(QUOTE_BYTES);
      from = i + 2;
    } else if (HEX.test(hex)) {
      parts.push(Buffer.from([Number.parseInt(hex, 16)]));
      from = i + 3;
    } else {
      parts.push(QUOTE_BYTES);
      from = i + 1;
    }
    i = encoded.indexOf(QUOTE, from);
  }
  parts.push(Buffer.from(encoded.slice(from), 'utf8'));
  return Buffer.concat(parts);
}

/** What to hand to node:fs for an encoded path: the string itself unless it needs real bytes. */
export function fsPath(encoded: string): string | Buffer {
  return encoded.includes(QUOTE) ? decodeToBytes(encoded) : encoded;
}

/** One spelling per path: a key's lone `‛` and `‛‛` name the same file, so they must compare equal. */
export function canonicalPath(encoded: string): string {
  return encoded.includes(QUOTE) ? encodeName(decodeToBytes(encoded)) : encoded;
}
