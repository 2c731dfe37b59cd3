// Issue 17: a checkpoint is an instruction (which file to read, where to send it), so
// s3xfer follows only checkpoints nobody else could have written, and never sends
// to an endpoint the user did not confirm.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { serializeCheckpoint, type CheckpointBody } from '../../src/checkpoint/schema.js';
import { parseCheckpoint } from '../../src/checkpoint/validate.js';
import { checkpointId } from '../../src/checkpoint/store.js';
import { CLI_BIN, createBucket, runCli, s3Env, tmpdir, e2eContext } from '../helpers/cli.js';
import { startProxy } from '../helpers/proxy.js';
import { MiB, exitOf, getBytes, makeTree, openUploads, waitFor } from './fixtures.js';
import { RESUME_FLAGS, interruptedUpload, savedParts, slowUploadProxy } from './interrupt.js';

const { s3, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

/** An upload of 24 MiB interrupted with one part on the server and in its checkpoint; the proxy it recorded stays up. */
async function checkpointed(key: string) {
  const run = await interruptedUpload(s3, { bucket, key, signal: 'SIGKILL', parts: 1, savedParts: 1, size: 24 * MiB });
  onTestFinished(() => run.proxy.close());
  run.proxy.setRules([]);
  run.proxy.clear();
  const ucp = path.join(run.ckpt, fs.readdirSync(run.ckpt).find((f) => f.endsWith('.ucp'))!);
  return { ...run, ucp, env: s3Env(s3, run.proxy.endpoint) };
}

/** Every command that reads the checkpoint directory. */
function readers(run: Awaited<ReturnType<typeof checkpointed>>): string[][] {
  const dir = ['--checkpoint-dir', run.ckpt];
  return [
    run.args, // cp rerun (its args hold --checkpoint-dir)
    ['resume', '--all', ...dir],
    ['checkpoint', 'ls', ...dir],
    ['checkpoint', 'clean', '--all', ...dir],
    ['uploads', 'ls', `s3://${bucket}/`, ...dir],
  ];
}

describe('only checkpoints nobody else could have written are read', () => {
  it('a group- or world-writable checkpoint directory is refused by every command (exit 2, nothing sent); 0755 is fine', async () => {
    const run = await checkpointed('perm/dir.bin');
    for (const [mode, who] of [[0o770, 'group'], [0o757, 'others'], [0o777, 'group and others']] as const) {
      fs.chmodSync(run.ckpt, mode);
      for (const args of readers(run)) {
        const res = await runCli(args, { env: run.env });
        expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
        expect(res.stderr.trim().split('\n')).toHaveLength(1);
        expect(res.stderr).toContain(`checkpoint directory ${run.ckpt} is writable by ${who} (mode 0${mode.toString(8)})`);
        expect(res.stderr.trim()).toMatch(new RegExp(`fix: \`chmod go-w ${run.ckpt}\`, or choose another --checkpoint-dir$`));
        expect(run.proxy.requests).toEqual([]);
      }
    }
    // The directories above it count too (someone who can rename it can swap it), unless sticky like /tmp.
    fs.chmodSync(run.ckpt, 0o700);
    fs.chmodSync(run.dir, 0o775);
    const above = await runCli(['checkpoint', 'ls', '--checkpoint-dir', run.ckpt], { env: run.env });
    expect(above.code).toBe(2);
    expect(above.stderr).toContain(`${run.dir}, above checkpoint directory ${run.ckpt}, is writable by group (mode 0775)`);
    fs.chmodSync(run.dir, 0o1777);
    expect((await runCli(['checkpoint', 'ls', '--checkpoint-dir', run.ckpt], { env: run.env })).code).toBe(0);
    fs.chmodSync(run.dir, 0o700);
    expect(run.proxy.requests).toEqual([]);
    // A directory the user made with 0755 is theirs and safe: the checkpoint is still there and resumes.
    fs.chmodSync(run.ckpt, 0o755);
    const res = await runCli(['resume', '--all', '--checkpoint-dir', run.ckpt, '--no-progress'], { env: run.env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/resumed big.bin: \d+ of 5 parts already uploaded/);
    expect((await getBytes(client, bucket, 'perm/dir.bin')).equals(fs.readFileSync(run.file))).toBe(true);
  });

  it('a checkpoint file owned by another user, writable by others, or a symbolic link is refused (exit 2, nothing sent)', async () => {
    const run = await checkpointed('perm/file.bin');
    const cases: [string, () => void, string][] = [
      ['owned by nobody', () => fs.chownSync(run.ucp, 65534, 65534), `checkpoint file ${run.ucp} is owned by uid 65534, not by you`],
      ['group-writable', () => fs.chmodSync(run.ucp, 0o620), `checkpoint file ${run.ucp} is writable by group (mode 0620)`],
      ['a symbolic link', () => {
        const elsewhere = path.join(run.dir, 'elsewhere.ucp');
        fs.renameSync(run.ucp, elsewhere);
        fs.symlinkSync(elsewhere, run.ucp);
      }, `checkpoint file ${run.ucp} is a symbolic link`],
    ];
    const pristine = fs.readFileSync(run.ucp);
    for (const [what, spoil, message] of cases) {
      spoil();
      // cp reads through the store, resume and ls through the listing (clean and uploads share it).
      for (const args of readers(run).slice(0, 3)) {
        const res = await runCli(args, { env: run.env });
        expect(res.code, `${what}, ${args.join(' ')}: ${res.stderr}`).toBe(2);
        expect(res.stderr.trim().split('\n')).toHaveLength(1);
        expect(res.stderr).toContain(message);
        expect(run.proxy.requests).toEqual([]);
      }
      fs.rmSync(run.ucp);
      fs.writeFileSync(run.ucp, pristine, { mode: 0o600 });
    }
    expect(fs.readFileSync(run.ucp).equals(pristine)).toBe(true);
    const res = await runCli(['resume', '--all', '--checkpoint-dir', run.ckpt, '--no-progress'], { env: run.env });
    expect(res.code, res.stderr).toBe(0);
  });

  it('the fix in the message is exact: after `chown` the checkpoint resumes', async () => {
    const run = await checkpointed('perm/fix.bin');
    fs.chownSync(run.ucp, 65534, 65534);
    const refused = await runCli(['resume', '--all', '--checkpoint-dir', run.ckpt], { env: run.env });
    const fix = /fix: `(chown root \S+)`/.exec(refused.stderr)?.[1];
    expect(fix, refused.stderr).toBe(`chown root ${run.ucp}`);
    fs.chownSync(run.ucp, 0, 0);
    const res = await runCli(['resume', '--all', '--checkpoint-dir', run.ckpt, '--no-progress'], { env: run.env });
    expect(res.code, res.stderr).toBe(0);
  });
});

describe('resume sends only to the endpoint configured now, or one the user confirms', () => {
  it('a forged checkpoint naming a second endpoint is not followed by resume --all; the genuine one is; --endpoint-url confirms', async () => {
    const run = await checkpointed('forge/big.bin');
    const second = await startProxy({ target: s3.endpoint });
    onTestFinished(() => second.close());
    // What someone who can write the directory would do: a valid checkpoint, checksum and id recomputed.
    const parsed = parseCheckpoint(fs.readFileSync(run.ucp, 'utf8'));
    if (!parsed.ok || parsed.checkpoint.kind !== 'upload') throw new Error('expected an upload checkpoint');
    const real = parsed.checkpoint;
    const id = checkpointId(real.source.path, `s3://${bucket}/forge/big.bin`, second.endpoint);
    const forged: CheckpointBody = {
      ...real,
      id,
      options: { ...real.options, endpointUrl: second.endpoint },
      destination: { ...real.destination, endpoint: second.endpoint },
    };
    const forgedFile = path.join(run.ckpt, `${id}.ucp`);
    fs.writeFileSync(forgedFile, serializeCheckpoint(forged), { mode: 0o600 });

    const all = await runCli(['resume', '--all', '--checkpoint-dir', run.ckpt, '--no-progress'], { env: run.env });
    expect(all.code).toBe(2);
    expect(all.stderr).toContain(
      `error: checkpoint ${id} was recorded for endpoint ${second.endpoint}, but endpoint ${run.proxy.endpoint} is configured now: not resumed, nothing sent; if you trust it, confirm with --endpoint-url ${second.endpoint}`,
    );
    expect(second.requests).toEqual([]);
    // The genuine checkpoint (the configured endpoint) was resumed all the same.
    expect(all.stdout).toMatch(/resumed big.bin: \d+ of 5 parts already uploaded/);
    expect((await getBytes(client, bucket, 'forge/big.bin')).equals(fs.readFileSync(run.file))).toBe(true);
    expect(fs.existsSync(forgedFile)).toBe(true);

    // With no endpoint configured at all, the recorded one is not a default to fall back on.
    const none = await runCli(['resume', id.slice(0, 8), '--checkpoint-dir', run.ckpt], { env: { ...run.env, AWS_ENDPOINT_URL: undefined } });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe(
      `error: checkpoint ${id} was recorded for endpoint ${second.endpoint}, but endpoint AWS S3 (none set) is configured now: not resumed, nothing sent; if you trust it, confirm with --endpoint-url ${second.endpoint}`,
    );
    expect(second.requests).toEqual([]);

    // Confirmed: it goes there (its upload was completed above, so it starts over) and the checkpoint is used up.
    const confirmed = await runCli(['resume', id.slice(0, 8), '--checkpoint-dir', run.ckpt, '--endpoint-url', second.endpoint, '--no-progress'], { env: run.env });
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(second.requests.length).toBeGreaterThan(0);
    expect(fs.readdirSync(run.ckpt).filter((f) => f.endsWith('.ucp'))).toEqual([]);
    expect(await openUploads(client, bucket, 'forge/')).toBe(0);
  });

  it('a checkpoint recorded with another profile needs --profile; one whose two endpoint fields disagree is refused', async () => {
    const proxy = await startProxy({ target: s3.endpoint });
    onTestFinished(() => proxy.close());
    const dir = tmpdir();
    const ckpt = path.join(dir, 'ck');
    fs.mkdirSync(ckpt, { mode: 0o700 });
    const file = path.join(makeTree(dir, { 'f.bin': 6 * MiB }), 'f.bin');
    const st = fs.statSync(file, { bigint: true });
    const write = (key: string, options: CheckpointBody['options'], endpoint = proxy.endpoint) => {
      const id = checkpointId(file, `s3://${bucket}/${key}`, endpoint);
      const body: CheckpointBody = {
        version: 1,
        id,
        kind: 'upload',
        source: { path: file, size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ino: Number(st.ino) },
        destination: { endpoint, bucket, key },
        uploadId: 'forged',
        partSize: 5 * MiB,
        partCount: 2,
        parts: [],
        options,
        createdAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      };
      fs.writeFileSync(path.join(ckpt, `${id}.ucp`), serializeCheckpoint(body), { mode: 0o600 });
      return id;
    };
    const base = { parallel: 2, retries: 2, region: s3.region, endpointUrl: proxy.endpoint };
    const p = write('p/f.bin', { ...base, profile: 'other' });
    const env = s3Env(s3, proxy.endpoint);
    const res = await runCli(['resume', p, '--checkpoint-dir', ckpt], { env });
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe(
      `error: checkpoint ${p} was recorded for profile other, but profile default is configured now: not resumed, nothing sent; if you trust it, confirm with --profile other`,
    );
    fs.rmSync(path.join(ckpt, `${p}.ucp`));

    const q = write('q/f.bin', base, 'http://127.0.0.1:9');
    const split = await runCli(['resume', q, '--checkpoint-dir', ckpt], { env });
    expect(split.code).toBe(2);
    expect(split.stderr).toContain(`checkpoint ${q} records two endpoints (${proxy.endpoint} and http://127.0.0.1:9): not resumed`);
    expect(proxy.requests).toEqual([]);
  });
});

describe('what s3xfer creates is private, whatever the umask', () => {
  it('under umask 000: new checkpoint directories are 0700, checkpoint files 0600', async () => {
    const proxy = await slowUploadProxy(s3, 4 * MiB);
    onTestFinished(() => proxy.close());
    const dir = tmpdir();
    const file = path.join(makeTree(dir, { 'big.bin': 24 * MiB }), 'big.bin');
    const ckpt = path.join(dir, 'new', 'ckpt');
    const args = ['cp', file, `s3://${bucket}/umask/big.bin`, '--checkpoint-dir', ckpt, ...RESUME_FLAGS];
    const child = spawn('sh', ['-c', 'umask 000; exec "$@"', 'sh', process.execPath, CLI_BIN, ...args], {
      env: { ...process.env, ...s3Env(s3, proxy.endpoint) },
      stdio: 'ignore',
    });
    onTestFinished(() => void child.kill('SIGKILL'));
    // A second save too: the second temp file must be private as well.
    await waitFor(() => savedParts(ckpt) >= 2, 30_000, 'two saved parts');
    const mode = (p: string) => {
      const st = fs.statSync(p, { throwIfNoEntry: false });
      return st && (st.mode & 0o7777).toString(8);
    };
    expect(mode(path.join(dir, 'new'))).toBe('700');
    expect(mode(ckpt)).toBe('700');
    const names = fs.readdirSync(ckpt);
    expect(names.some((n) => n.endsWith('.ucp'))).toBe(true);
    // Anything else there (a save's temp file, caught in passing) must be private too; one gone already is fine.
    for (const name of names) expect([name, mode(path.join(ckpt, name)) ?? '600']).toEqual([name, '600']);
    child.kill('SIGKILL');
    await exitOf(child);
  });
});
