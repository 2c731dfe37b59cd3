import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

/** One worker's share of a tree: `index` of `count`, 0-based (as a Kubernetes Indexed Job numbers its pods). */
export interface Shard {
  index: number;
  count: number;
}

/** Enough for any fleet; more would only make shares of a file or two. */
export const MAX_SHARDS = 10_000;

/**
 * The share a relative path belongs to: the first 4 bytes of the SHA-256 of its
 * UTF-8 bytes, read as a big-endian unsigned integer, modulo `count`. A named,
 * standard hash so anyone can predict it (`printf %s PATH | sha256sum`, first 8
 * hex digits, modulo N), the same on every platform and release; SHA-256 rather
 * than a faster hash because it spreads realistic names (`part-00001.csv`, …)
 * evenly and Node computes it natively. The path is the one filters see: relative
 * to the source directory or prefix, `/`-separated, non-UTF-8 bytes in ‛XX form,
 * so an upload and a later download of the same tree split it the same way.
 */
export function shardOf(relPath: string, count: number): number {
  return createHash('sha256').update(relPath, 'utf8').digest().readUInt32BE(0) % count;
}

/** A predicate for `--shard`: true for the paths this worker copies. */
export function inShard(shard: Shard): (relPath: string) => boolean {
  if (shard.count === 1) return () => true;
  return (rel) => shardOf(rel, shard.count) === shard.index;
}

function count(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what}: '${text}' is not a whole number`);
  const n = Number(text);
  if (n < 1 || n > MAX_SHARDS) throw new UsageError(`${what}: the number of shards must be 1 to ${MAX_SHARDS}, not ${text}`);
  return n;
}

function index(text: string, n: number, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what}: index '${text}' is not a whole number`);
  const i = Number(text);
  if (i >= n) throw new UsageError(`${what}: index ${text} is out of range for ${n} shards: use 0 to ${n - 1}`);
  return i;
}

/** `--shard I/N`, e.g. `0/4` … `3/4`. */
export function parseShard(text: string, what = '--shard'): Shard {
  const m = /^\s*([^/]*)\/([^/]*)\s*$/.exec(text);
  if (!m) throw new UsageError(`${what} '${text}': write INDEX/COUNT, e.g. --shard 0/4 … --shard 3/4`);
  const n = count(m[2]!.trim(), `${what} '${text}'`);
  return { index: index(m[1]!.trim(), n, `${what} '${text}'`), count: n };
}

/**
 * `--shards N` takes the index from JOB_COMPLETION_INDEX, which a Kubernetes
 * Indexed Job sets in each pod (0 … completions-1).
 */
export function shardFromJobIndex(shards: string, env: NodeJS.ProcessEnv): Shard {
  const n = count(shards.trim(), `--shards ${shards}`);
  const raw = env.JOB_COMPLETION_INDEX;
  if (raw === undefined || raw.trim() === '') {
    throw new UsageError(`--shards ${shards} takes this worker's index from JOB_COMPLETION_INDEX, which is not set: set it, or use --shard INDEX/${n}`);
  }
  return { index: index(raw.trim(), n, `JOB_COMPLETION_INDEX=${raw} with --shards ${n}`), count: n };
}

export const formatShard = (s: Shard) => `${s.index}/${s.count}`;
