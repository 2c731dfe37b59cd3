import type { ObjectStore } from './store.js';

// An S3 → S3 copy has two connections: an error from the source's must name the source's flags
// (--source-endpoint-url, --source-profile, …) and its endpoint, not the destination's.

const FROM_SOURCE = Symbol('s3xfer.fromSource');

export function isFromSource(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { [FROM_SOURCE]?: boolean })[FROM_SOURCE] === true;
}

function mark(err: unknown): never {
  if (typeof err === 'object' && err !== null) Object.defineProperty(err, FROM_SOURCE, { value: true });
  throw err;
}

async function* marked<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* items;
  } catch (err) {
    mark(err);
  }
}

/** The source's store, its errors marked as the source's (see explainS3Error). */
export function sourceSide(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        let out: unknown;
        try {
          out = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          mark(err);
        }
        if (out instanceof Promise) return out.catch(mark);
        if (out && typeof out === 'object' && Symbol.asyncIterator in out) return marked(out as AsyncIterable<unknown>);
        return out;
      };
    },
  });
}

/** The destination's flags in a message, as the source's. */
export function asSourceFlags(message: string): string {
  return message.replace(/--(endpoint-url|profile|region|ca-bundle|no-verify-ssl)\b/g, '--source-$1');
}
