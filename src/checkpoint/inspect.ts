import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { formatS3 } from '../location.js';
import { splitParts } from '../engine/model.js';
import { fsPath } from '../local-path.js';
import type { Checkpoint, Salvage } from './schema.js';
import { parseCheckpoint } from './validate.js';
import { checkCheckpointDir, readTrustedCheckpoint } from './trust.js';
import type { CheckpointKind } from './store.js';

export type CheckpointState = 'resumable' | 'source changed' | 'object changed' | 'corrupt' | 'newer version';

/** One file in the checkpoint directory, readable or not. */
export interface CheckpointEntry {
  id: string;
  kind: CheckpointKind;
  file: string;
  checkpoint?: Checkpoint | undefined;
  problem?: string | undefined;
  /** What an unreadable checkpoint still tells: an upload to abort, a temp file to delete. */
  salvage?: Salvage | undefined;
  mtimeMs: number;
}

/** A checkpoint as a person (or `--json`) sees it. */
export interface CheckpointSummary {
  id: string;
  kind: CheckpointKind;
  source: string;
  destination: string;
  size: number;
  partsDone: number;
  partsTotal: number;
  bytesDone: number;
  updatedAt: string;
  state: CheckpointState;
  /** Per part, in order: done or not. */
  doneMap: boolean[];
  uploadId?: string | undefined;
  tempPath?: string | undefined;
  /** A copy from another endpoint (streamed): where its source is. */
  sourceEndpoint?: string | undefined;
  file: string;
}

const KIND_OF: Record<string, CheckpointKind> = { ucp: 'upload', dcp: 'download', ccp: 'copy' };
const FILE_RE = /^([0-9a-f]{16})\.(ucp|dcp|ccp)(\.corrupt)?$/;

export async function listCheckpoints(dir: string): Promise<CheckpointEntry[]> {
  // Every command that lists checkpoints comes here: refuse an untrusted directory before reading anything.
  if (!(await checkCheckpointDir(dir))) return [];
  const names = await fs.readdir(dir);
  const entries: CheckpointEntry[] = [];
  for (const name of names.sort()) {
    const m = FILE_RE.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const kind = KIND_OF[m[2]!]!;
    const read = await readOwn(file);
    if (!read) continue;
    const parsed = parseCheckpoint(read.text);
    if (parsed.ok && !m[3]) {
      entries.push({ id: m[1]!, kind, file, checkpoint: parsed.checkpoint, mtimeMs: read.mtimeMs });
      continue;
    }
    const problem = !parsed.ok && parsed.problem === 'newer-version' ? 'newer version' : 'corrupt';
    entries.push({ id: m[1]!, kind, file, problem, salvage: parsed.ok ? undefined : parsed.salvage, mtimeMs: read.mtimeMs });
  }
  return entries;
}

/** A trusted checkpoint's text; one of ours we cannot read (mode 000) is listed as corrupt. Undefined if it vanished. */
async function readOwn(file: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    return await readTrustedCheckpoint(file);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const st = await fs.lstat(file).catch(() => undefined);
    return st && { text: '', mtimeMs: st.mtimeMs };
  }
}

/** Ids as git takes commits: whole, or a unique prefix. */
export function resolveIds(entries: CheckpointEntry[], wanted: string[]): CheckpointEntry[] {
  return wanted.map((w) => {
    const matches = entries.filter((e) => e.id.startsWith(w.toLowerCase()));
    const ids = new Set(matches.map((e) => e.id));
    if (ids.size === 0) throw new UsageError(`no checkpoint '${w}': see \`s3xfer checkpoint ls\` for the ids`);
    if (ids.size > 1) throw new UsageError(`checkpoint id '${w}' is ambiguous (${[...ids].join(', ')}): give more characters`);
    // A resumable checkpoint before a corrupt copy of the same id.
    return matches.find((e) => e.checkpoint) ?? matches[0]!;
  });
}

/** What the checkpoint itself knows; `state` from the local side (the source file for uploads). */
export async function summarize(entry: CheckpointEntry): Promise<CheckpointSummary> {
  const cp = entry.checkpoint;
  if (!cp) {
    return {
      id: entry.id,
      kind: entry.kind,
      source: '?',
      destination: '?',
      size: 0,
      partsDone: 0,
      partsTotal: 0,
      bytesDone: 0,
      updatedAt: new Date(entry.mtimeMs).toISOString(),
      state: entry.problem === 'newer version' ? 'newer version' : 'corrupt',
      doneMap: [],
      file: entry.file,
    };
  }
  const size = cp.source.size;
  const parts = splitParts(size, cp.partSize);
  if (cp.kind === 'upload' || cp.kind === 'copy') {
    const done = new Set(cp.parts.map((p) => p.partNumber));
    return {
      id: cp.id,
      kind: cp.kind,
      source: cp.kind === 'upload' ? cp.source.path : formatS3(cp.source.bucket, cp.source.key),
      destination: formatS3(cp.destination.bucket, cp.destination.key),
      size,
      partsDone: done.size,
      partsTotal: parts.length,
      bytesDone: cp.parts.reduce((n, p) => n + p.size, 0),
      updatedAt: cp.updatedAt,
      // A copy's source is checked with one HEAD by the commands that can reach the server.
      state: cp.kind === 'copy' || (await sourceUnchanged(cp)) ? 'resumable' : 'source changed',
      doneMap: parts.map((p) => done.has(p.partNumber)),
      uploadId: cp.uploadId,
      ...(cp.kind === 'copy' && cp.source.endpoint !== cp.destination.endpoint ? { sourceEndpoint: cp.source.endpoint } : {}),
      file: entry.file,
    };
  }
  const byPart = new Map(cp.ranges.map((r) => [r.partNumber, r.bytesDone]));
  const doneMap = parts.map((p) => byPart.get(p.partNumber) === p.size);
  return {
    id: cp.id,
    kind: 'download',
    source: formatS3(cp.source.bucket, cp.source.key),
    destination: cp.destination.path,
    size,
    partsDone: doneMap.filter(Boolean).length,
    partsTotal: parts.length,
    bytesDone: cp.ranges.reduce((n, r) => n + r.bytesDone, 0),
    updatedAt: cp.updatedAt,
    state: 'resumable',
    doneMap,
    tempPath: cp.destination.tempPath,
    file: entry.file,
  };
}

async function sourceUnchanged(cp: Extract<Checkpoint, { kind: 'upload' }>): Promise<boolean> {
  try {
    const st = await fs.stat(fsPath(cp.source.path), { bigint: true });
    return Number(st.size) === cp.source.size && st.mtimeNs.toString() === cp.source.mtimeNs;
  } catch {
    return false;
  }
}

/**
 * `[X][X][_]` per part; folded into a bar of `width` cells when there are more
 * parts than fit (a cell is X when all its parts are done, x when some are).
 */
export function partMap(done: boolean[], width = 64): string {
  if (done.length <= width / 3) return done.map((d) => (d ? '[X]' : '[_]')).join('');
  const cells: string[] = [];
  for (let i = 0; i < width; i++) {
    const from = Math.floor((i * done.length) / width);
    const to = Math.max(from + 1, Math.floor(((i + 1) * done.length) / width));
    const slice = done.slice(from, to);
    cells.push(slice.every(Boolean) ? 'X' : slice.some(Boolean) ? 'x' : '_');
  }
  return `[${cells.join('')}]`;
}
