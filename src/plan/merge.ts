import { compareKeys } from './key-order.js';

/** One key of a merge: the source's item, the destination's, or both. */
export interface Joined<A, B> {
  key: string;
  source?: A | undefined;
  destination?: B | undefined;
}

/**
 * A full outer join of two streams sorted by key (UTF-8 byte order), in step: memory
 * holds one item of each side, whatever the sizes (rclone's march). A source item whose
 * key is undefined (a warning, an error) passes through at once. The destination is
 * pulled only as far as the source needs it: the first decision waits for at most one page.
 */
export async function* mergeByKey<A, B>(
  source: AsyncIterable<A>,
  sourceKey: (a: A) => string | undefined,
  destination: AsyncIterable<B>,
  destinationKey: (b: B) => string,
): AsyncGenerator<Joined<A, B> | { key: undefined; passed: A }> {
  const dst = destination[Symbol.asyncIterator]();
  let next = await dst.next();
  try {
    for await (const a of source) {
      const key = sourceKey(a);
      if (key === undefined) {
        yield { key: undefined, passed: a };
        continue;
      }
      while (!next.done && compareKeys(destinationKey(next.value), key) < 0) {
        yield { key: destinationKey(next.value), destination: next.value };
        next = await dst.next();
      }
      if (!next.done && destinationKey(next.value) === key) {
        yield { key, source: a, destination: next.value };
        next = await dst.next();
      } else {
        yield { key, source: a };
      }
    }
    while (!next.done) {
      yield { key: destinationKey(next.value), destination: next.value };
      next = await dst.next();
    }
  } finally {
    await dst.return?.();
  }
}
