import { ListingOrderError } from '../errors.js';

/**
 * The order S3 lists keys in: UTF-8 bytes. JavaScript compares strings by
 * UTF-16 code units, which differs only where a surrogate pair (a code point
 * above U+FFFF) meets U+E000–U+FFFF; code-point order is UTF-8 byte order.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    // Exactly one is half of a surrogate pair: that code point is above U+FFFF, so it is the larger.
    if (sx !== sy) return sx ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Re-yields `items`, failing as soon as one key does not sort after the one before it. */
export async function* checkedOrder<T>(items: AsyncIterable<T>, keyOf: (item: T) => string, what: string): AsyncGenerator<T> {
  let last: string | undefined;
  for await (const item of items) {
    const key = keyOf(item);
    if (last !== undefined && compareKeys(last, key) >= 0) {
      throw new ListingOrderError(`${what} gave '${key}' after '${last}': not in UTF-8 byte order, so -u cannot compare it with the source; copy without -u`);
    }
    last = key;
    yield item;
  }
}
