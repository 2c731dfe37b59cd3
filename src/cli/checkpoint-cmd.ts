import path from 'node:path';
import { ExitCode, describeError } from '../errors.js';
import { formatAge } from '../duration.js';
import { formatSize } from '../size.js';
import { listCheckpoints, partMap, resolveIds, summarize, type CheckpointEntry, type CheckpointSummary } from '../checkpoint/inspect.js';
import { formatTable } from '../report/table.js';
import { CheckpointStore } from '../checkpoint/store.js';
import { discardCheckpoint } from '../checkpoint/discard.js';
import { heldUploads } from '../checkpoint/orphans.js';
import type { Io } from './io.js';
import type { CommonOptions, ConnectionFlags } from './args.js';
import { connect, requireCheckpointDir, type Connected } from './connect.js';

type Deps = Io & { signal: AbortSignal };

const pct = (s: CheckpointSummary) => (s.size === 0 ? 100 : Math.floor((s.bytesDone * 100) / s.size));

/** One client per recorded connection: checkpoints may point at different servers. TLS settings are this run's. */
class Connections {
  private readonly byKey = new Map<string, Promise<Connected>>();
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly flags: ConnectionFlags,
  ) {}
  for(entry: CheckpointEntry): Promise<Connected> {
    const { options: o, object } = entry.checkpoint!;
    // The SSE-C key only for checkpoints made with it (a HEAD of another object with a key is refused).
    const key = this.flags.customerKey?.keyMd5 === object?.['sse-c-key-md5'] ? this.flags.customerKey : undefined;
    const flags = { ...o, caBundle: this.flags.caBundle, verifySsl: this.flags.verifySsl, requestPayer: this.flags.requestPayer, customerKey: key };
    return this.cached(JSON.stringify([o.profile, o.region, o.endpointUrl, o.addressingStyle, key?.keyMd5]), flags);
  }
  /** The connection configured now (flags, environment, profile). */
  current(): Promise<Connected> {
    return this.cached('current', this.flags);
  }
  private cached(key: string, flags: ConnectionFlags): Promise<Connected> {
    let c = this.byKey.get(key);
    if (!c) {
      c = connect(flags, this.env);
      this.byKey.set(key, c);
    }
    return c;
  }
  async close(): Promise<void> {
    for (const c of this.byKey.values()) (await c).client.destroy();
  }
}

/** A download checkpoint whose object is no longer what it fetched: resuming it would start over. */
async function refineState(s: CheckpointSummary, entry: CheckpointEntry, conns: Connections, signal: AbortSignal): Promise<CheckpointSummary> {
  const cp = entry.checkpoint;
  if (!cp || cp.kind !== 'download' || s.state !== 'resumable') return s;
  try {
    const head = await (await conns.for(entry)).store.head(cp.source.bucket, cp.source.key, AbortSignal.any([signal, AbortSignal.timeout(5000)]));
    if (!head || head.etag !== cp.source.etag || head.size !== cp.source.size) return { ...s, state: 'object changed' };
  } catch {
    // Server unreachable: the checkpoint may well still be good.
  }
  return s;
}

function toJson(s: CheckpointSummary) {
  const { doneMap: _m, file: _f, ...rest } = s;
  return rest;
}

export async function checkpointLs(opts: CommonOptions, io: Deps): Promise<number> {
  const dir = requireCheckpointDir(opts, io.cwd);
  const entries = await listCheckpoints(dir);
  const conns = new Connections(io.env, opts);
  try {
    const summaries = await Promise.all(entries.map(async (e) => refineState(await summarize(e), e, conns, io.signal)));
    if (opts.json) {
      for (const s of summaries) io.stdout.write(`${JSON.stringify(toJson(s))}\n`);
      return ExitCode.ok;
    }
    if (summaries.length === 0) {
      io.stdout.write(`no checkpoints in ${dir}\n`);
      return ExitCode.ok;
    }
    const now = Date.now();
    const rows = summaries.map((s) => [
      s.id,
      s.kind,
      s.source,
      s.destination,
      formatSize(s.size),
      `${s.partsDone}/${s.partsTotal}`,
      `${pct(s)}%`,
      `${formatAge(now - Date.parse(s.updatedAt))} ago`,
      s.state,
    ]);
    io.stdout.write(`${formatTable(['ID', 'KIND', 'SOURCE', 'DESTINATION', 'SIZE', 'PARTS', 'DONE', 'UPDATED', 'STATE'], rows)}\n`);
    return ExitCode.ok;
  } finally {
    await conns.close();
  }
}

export async function checkpointShow(opts: CommonOptions, id: string, io: Deps): Promise<number> {
  const dir = requireCheckpointDir(opts, io.cwd);
  const [entry] = resolveIds(await listCheckpoints(dir), [id]);
  const conns = new Connections(io.env, opts);
  try {
    const s = await refineState(await summarize(entry!), entry!, conns, io.signal);
    const map = partMap(s.doneMap);
    if (opts.json) {
      io.stdout.write(`${JSON.stringify({ ...toJson(s), file: s.file, partMap: map })}\n`);
      return ExitCode.ok;
    }
    const lines: [string, string | undefined][] = [
      ['id', s.id],
      ['kind', s.kind],
      ['file name', path.basename(s.kind === 'download' ? s.destination : s.source)],
      ['source', s.source],
      ['source from', s.sourceEndpoint],
      ['destination', s.destination],
      ['size', `${formatSize(s.size)} (${s.size} bytes)`],
      ['parts', `${s.partsDone} of ${s.partsTotal} done (${s.partsTotal ? Math.floor((s.partsDone * 100) / s.partsTotal) : 0}%), ${formatSize(s.bytesDone)} of ${formatSize(s.size)}`],
      ['last updated', `${s.updatedAt} (${formatAge(Date.now() - Date.parse(s.updatedAt))} ago)`],
      ['upload id', s.uploadId],
      ['temp file', s.tempPath],
      ['state', s.state],
      // What a rerun must ask for again (resume does), the SSE-C key included.
      ['options', objectLine(entry!.checkpoint?.object)],
      ['checkpoint', s.file],
      ['part map', map],
    ];
    for (const [k, v] of lines) if (v !== undefined) io.stdout.write(`${`${k}:`.padEnd(14)}${v}\n`);
    return ExitCode.ok;
  } finally {
    await conns.close();
  }
}

/** `--storage-class REDUCED_REDUNDANCY --sse-c-key (MD5 …)`: the recorded object options as flags. */
function objectLine(object: Record<string, string> | undefined): string | undefined {
  const flags = Object.entries(object ?? {}).map(([k, v]) => (k === 'sse-c-key-md5' ? `--sse-c-key (MD5 ${v})` : `--${k} '${v}'`));
  return flags.length ? flags.join(' ') : undefined;
}

const olderThan = (e: CheckpointEntry, ms: number | undefined, now: number) =>
  ms === undefined || now - Date.parse(e.checkpoint?.updatedAt ?? new Date(e.mtimeMs).toISOString()) > ms;

/** Remove checkpoints and what they hold: the server-side upload, or the download's temp file. */
export async function checkpointClean(
  opts: CommonOptions,
  sel: { ids: string[]; all: boolean; olderThanMs: number | undefined },
  io: Deps,
): Promise<number> {
  const dir = requireCheckpointDir(opts, io.cwd);
  const entries = await listCheckpoints(dir);
  const now = Date.now();
  const chosen = (sel.all ? entries : resolveIds(entries, sel.ids)).filter((e) => olderThan(e, sel.olderThanMs, now));
  const conns = new Connections(io.env, opts);
  let failed = 0;
  try {
    const checkpoints = new CheckpointStore(dir);
    const held = heldUploads(entries);
    for (const e of chosen) {
      try {
        // A corrupt checkpoint has no recorded connection: the one configured now.
        const store = async () => (e.checkpoint ? (await conns.for(e)).store : (await conns.current()).store);
        const what = await discardCheckpoint(checkpoints, e, { store, held, signal: io.signal });
        io.stdout.write(`removed checkpoint ${e.id} (${e.kind}${e.checkpoint ? '' : ', unreadable'})${what}\n`);
      } catch (err) {
        failed++;
        io.stderr.write(`error: checkpoint ${e.id} kept: ${describeError(err)}\n`);
      }
    }
  } finally {
    await conns.close();
  }
  if (chosen.length === 0) io.stdout.write('no checkpoints to remove\n');
  return failed > 0 ? ExitCode.partial : ExitCode.ok;
}
