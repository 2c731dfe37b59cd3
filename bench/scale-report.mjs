// The scale benchmark's arithmetic and tables: requests by kind, the shards' shares, targets, markdown.

export const TARGETS = { rssMB: 150, rssGrowthMB: 20, ratio: 1.0, listsPerKeys: 1000, share: 0.25, shareTolerance: 0.05 };
export const CASES = {
  upFull: 'full upload',
  upUnchanged: 'upload again, nothing changed (s3xfer -u, s5cmd sync, mc mirror, rclone copy)',
  downFull: 'full download',
  downUnchanged: 'download again, nothing changed',
};

/** Requests by kind, from the proxy's records. A GET of the bucket itself (path /bucket) is a listing. */
export function classify(requests) {
  const c = { total: requests.length, LIST: 0, PUT: 0, GET: 0, HEAD: 0, POST: 0, DELETE: 0, other: 0 };
  for (const r of requests) {
    const bucketLevel = r.path.split('/').filter(Boolean).length <= 1;
    if (r.method === 'GET' && bucketLevel && !('location' in r.query)) c.LIST++;
    else if (r.method in c && !bucketLevel) c[r.method]++;
    else c.other++;
  }
  return c;
}

/** Each worker's `shard` event (files, bytes) from the tail of its --json output. */
export function sharesOf(outputs, n) {
  return outputs.map((out) => {
    const line = out.split('\n').find((l) => l.startsWith('{') && l.includes('"type":"shard"'));
    const e = line ? JSON.parse(line) : undefined;
    return e ? { index: e.index, files: e.files, bytes: e.bytes, fraction: e.files / n } : { files: null, fraction: null };
  });
}

const SHARDS_TEXT = '4 × `s3xfer --shard i/4` at once,';
const mbOf = (kb) => (kb == null ? null : kb / 1024);

function ratio(perTool, id) {
  const ok = ([, t]) => t.timed[id] && !t.timed[id].error;
  const mine = perTool.s3xfer?.timed[id];
  const peers = Object.entries(perTool).filter(([n, t]) => n !== 's3xfer' && ok([n, t]));
  const fastest = peers.sort((a, b) => a[1].timed[id].ms - b[1].timed[id].ms)[0];
  if (!fastest || !mine || mine.error) return { ratio: null, fastest: fastest?.[0] ?? null };
  return { ratio: mine.ms / fastest[1].timed[id].ms, fastest: fastest[0] };
}

/** The targets of issue #14, measured: [{name, measured, target, met}]. */
export function summarise(res) {
  const ns = Object.keys(res.sizes).map(Number).sort((a, b) => a - b);
  const top = ns.at(-1);
  const { perTool, shards } = res.sizes[top];
  const mine = perTool.s3xfer;
  const out = [];
  for (const id of ['upFull', 'downFull']) {
    const mb = mbOf(mine.timed[id].rssKB);
    out.push({ name: `${top.toLocaleString('en')} files, ${CASES[id]}: s3xfer peak RSS`, measured: mb == null ? '–' : `${mb.toFixed(0)} MB`, target: `≤ ${TARGETS.rssMB} MB`, met: mb == null ? null : mb <= TARGETS.rssMB });
    if (ns.length > 1) {
      const low = mbOf(res.sizes[ns[0]].perTool.s3xfer.timed[id].rssKB);
      const growth = mb == null || low == null ? null : mb - low;
      out.push({
        name: `${CASES[id]}: peak RSS growth from ${ns[0].toLocaleString('en')} to ${top.toLocaleString('en')} files`,
        measured: growth == null ? '–' : `${growth.toFixed(0)} MB`,
        target: `< ${TARGETS.rssGrowthMB} MB`,
        met: growth == null ? null : growth < TARGETS.rssGrowthMB,
      });
    }
  }
  for (const id of Object.keys(CASES)) {
    const r = ratio(perTool, id);
    out.push({ name: `${top.toLocaleString('en')} files, ${CASES[id]}: ÷ fastest peer (${r.fastest ?? '–'})`, measured: r.ratio == null ? '–' : `${r.ratio.toFixed(2)}×`, target: `≤ ${TARGETS.ratio.toFixed(1)}×`, met: r.ratio == null ? null : r.ratio <= TARGETS.ratio });
  }
  for (const id of ['upUnchanged', 'downUnchanged']) {
    const q = mine.counted?.[id]?.requests;
    // The server decides page sizes (MinIO pages 10,000 keys in 11 LISTs): as few as any peer needed counts too.
    const peerLists = Object.entries(perTool).flatMap(([n, t]) => (n !== 's3xfer' && t.counted?.[id]?.requests ? [t.counted[id].requests.LIST] : []));
    const fewest = peerLists.length ? Math.min(...peerLists) : undefined;
    const maxLists = Math.max(Math.ceil(top / TARGETS.listsPerKeys), fewest ?? 0);
    out.push({
      name: `${top.toLocaleString('en')} files, ${CASES[id]}: s3xfer sends only LIST requests, ≤ 1 per 1,000 keys (or as few as the fewest peer)`,
      measured: q ? `${q.LIST} LIST, ${q.total - q.LIST} other${fewest === undefined ? '' : ` (fewest peer: ${fewest} LIST)`}` : '–',
      target: `only LIST, ≤ ${maxLists}`,
      met: q ? q.total === q.LIST && q.LIST <= maxLists : null,
    });
  }
  for (const [kind, s] of Object.entries(shards)) {
    const evenly = s.shares.every((x) => x.fraction != null && Math.abs(x.fraction - TARGETS.share) <= TARGETS.shareTolerance);
    out.push({
      name: `${top.toLocaleString('en')} files, ${SHARDS_TEXT} ${kind === 'up' ? 'upload' : 'download'}: union is the tree, each object ${kind === 'up' ? 'written' : 'fetched'} once, each share 25% ± 5%`,
      measured: `${s.union ? 'whole tree' : 'NOT the tree'}, ${s.onceEach ? 'once each' : 'NOT once each'}, ${s.shares.map((x) => (x.fraction == null ? '?' : `${(x.fraction * 100).toFixed(1)}%`)).join(' / ')}`,
      target: 'all three',
      met: s.union && s.onceEach && evenly && s.exits.every((c) => c === 0),
    });
  }
  return out;
}

const sec = (ms) => (ms / 1000).toFixed(2);
const met = (ok) => (ok == null ? 'n/a' : ok ? '✅ met' : '❌ not met');
const int = (x) => x.toLocaleString('en');

function timeCell(c) {
  if (!c) return '–';
  if (c.error) return `FAIL (${c.error.slice(0, 60)})`;
  return `${sec(c.ms)} s${c.cpuS == null ? '' : ` (${c.cpuS.toFixed(2)} cpu)`}, ${c.rssKB ? `${(c.rssKB / 1024).toFixed(0)} MB` : '–'}`;
}

function requestCell(c) {
  const q = c?.requests;
  if (!q) return '–';
  const kinds = ['LIST', 'PUT', 'GET', 'HEAD', 'POST', 'DELETE', 'other'].filter((k) => q[k]).map((k) => `${int(q[k])} ${k}`);
  return `${int(q.total)}${kinds.length ? `: ${kinds.join(', ')}` : ''}${c.error ? ' (failed)' : ''}`;
}

export function markdown(res) {
  const names = res.tools;
  const out = [`### s3xfer scale benchmark — ${res.date}`, ''];
  const m = res.machine;
  out.push(`Machine: ${m.nproc} cores (${m.cpu}), ${m.memGiB} GiB RAM, Node ${m.node}, ${m.os}; MinIO on 127.0.0.1, same machine. Files of ${int(res.fileSize)} bytes, 100 per directory.`, '');
  out.push(`Versions: ${Object.entries(res.versions).map(([k, v]) => `${k} \`${v}\``).join(', ')}.`, '');
  for (const [n, { perTool, shards }] of Object.entries(res.sizes)) {
    out.push(`#### ${int(Number(n))} files`, '');
    out.push('Wall time of the whole process, CPU seconds (user + sys, GNU time), peak RSS; one run each, straight to MinIO; default settings for every tool.', '');
    out.push(`| Case | ${names.join(' | ')} | s3xfer ÷ fastest peer |`, `|---|${names.map(() => '---:').join('|')}|---:|`);
    for (const [id, title] of Object.entries(CASES)) {
      const r = ratio(perTool, id);
      out.push(`| ${title} | ${names.map((t) => timeCell(perTool[t].timed[id])).join(' | ')} | ${r.ratio == null ? '–' : `${r.ratio.toFixed(2)}× (${r.fastest})`} |`);
    }
    if (names.some((t) => perTool[t].counted)) {
      out.push('', 'Requests sent, counted by a proxy in front of MinIO (a second run of each case through it):', '');
      out.push(`| Case | ${names.join(' | ')} |`, `|---|${names.map(() => '---').join('|')}|`);
      for (const [id, title] of Object.entries(CASES)) out.push(`| ${title} | ${names.map((t) => requestCell(perTool[t].counted?.[id])).join(' | ')} |`);
    }
    if (Object.keys(shards).length === 0) continue;
    out.push('', `4 × \`s3xfer --shard i/4\` at once (through the counting proxy, one checkpoint directory):`, '');
    out.push('| | wall | CPU (sum) | peak RSS (largest) | union = tree | each object once | files per share | requests |', '|---|---:|---:|---:|---|---|---|---|');
    for (const [kind, s] of Object.entries(shards)) {
      out.push(
        `| ${kind === 'up' ? 'upload' : 'download'} | ${sec(s.ms)} s | ${s.cpuS.toFixed(2)} s | ${s.rssKB ? (s.rssKB / 1024).toFixed(0) : '–'} MB | ${s.union ? 'yes' : 'NO'} | ${s.onceEach ? 'yes' : 'NO'} | ${s.shares.map((x) => (x.files == null ? '?' : `${int(x.files)} (${(x.fraction * 100).toFixed(1)}%)`)).join(', ')} | ${requestCell(s)} |`,
      );
    }
    out.push('');
  }
  if (out.at(-1) !== '') out.push('');
  out.push('| Target (s3xfer) | Measured | Target | |', '|---|---|---|---|');
  for (const t of res.summary) out.push(`| ${t.name} | ${t.measured} | ${t.target} | ${met(t.met)} |`);
  return out.join('\n') + '\n';
}
