// Issue 17: a checkpoint is an instruction (which file to read, where to send it), so
// s3xfer follows only checkpoints nobody else could have written.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { CLI_BIN, createBucket, makeClient, runCli, s3Env, tmpdir } from '../helpers/cli.js';
import { MiB, exitOf, getBytes, makeTree, waitFor } from './fixtures.js';
import { RESUME_FLAGS, interruptedUpload, savedParts, slowUploadProxy } from './interrupt.js';

const s3 = inject('s3');
const client = makeClient(s3);
let bucket: string;
beforeAll(async () => {
  bucket = await createBucket(client);
});

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
    // A second save too: write-file-atomic would otherwise copy the first file's mode.
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
