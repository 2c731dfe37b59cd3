import fs from 'node:fs';
import path from 'node:path';
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBucket, runCli, s3Env, spawnCli, tmpdir, e2eContext } from '../helpers/cli.js';
import { MiB, exitOf, getBytes, listUploads, makeTree, openUploads, waitFor } from './fixtures.js';
import { RESUME_FLAGS, interruptedUpload as interruptedUpload_, isPart, slowUploadProxy } from './interrupt.js';

const { s3, client } = e2eContext();
let bucket: string;
beforeAll(async () => void (bucket = await createBucket(client)));

async function serverParts(key: string): Promise<number[]> {
  const ups = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  const up = ups.Uploads?.find((u) => u.Key === key);
  if (!up) return [];
  const parts = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId }));
  return (parts.Parts ?? []).map((p) => p.PartNumber!);
}

function checkpointsIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.ucp(\.corrupt)?$/.test(f)).sort() : [];
}

const interruptedUpload = (opts: { key: string; size?: number; signal: NodeJS.Signals; parts: number }) =>
  interruptedUpload_(s3, { bucket, ...opts });
const slowProxy = (bytesPerSecond?: number) => slowUploadProxy(s3, bytesPerSecond);
const FLAGS = RESUME_FLAGS;

describe('resumable uploads', () => {
  it('SIGKILL mid-upload, rerun the same command: only the missing parts are sent, bytes equal, nothing left', async () => {
    const run = await interruptedUpload({ key: 'kill/big.bin', signal: 'SIGKILL', parts: 3 });
    try {
      expect(run.exit.signal).toBe('SIGKILL');
      expect(checkpointsIn(run.ckpt)).toHaveLength(1);
      const before = await serverParts('kill/big.bin');
      expect(before.length).toBeGreaterThanOrEqual(3);
      expect(before.length).toBeLessThan(13);

      run.proxy.clear();
      run.proxy.setRules([]);
      const again = await runCli(run.args.slice(0), { env: s3Env(s3, run.proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      const sent = run.proxy.requests.filter(isPart).map((r) => Number(r.query.partNumber));
      // Only what the server did not have (the parts in flight at the kill included).
      expect(sent.sort((a, b) => a - b)).toEqual(
        Array.from({ length: 13 }, (_, i) => i + 1).filter((n) => !before.includes(n)),
      );
      expect(run.proxy.requests.filter((r) => r.method === 'POST' && 'uploads' in r.query)).toHaveLength(0);
      expect(again.stdout).toMatch(new RegExp(`resumed big.bin: ${before.length} of 13 parts already uploaded, \\d+(\\.\\d+)? MiB not resent`));
      expect((await getBytes(client, bucket, 'kill/big.bin')).equals(fs.readFileSync(run.file))).toBe(true);
      expect(checkpointsIn(run.ckpt)).toEqual([]);
      expect(await openUploads(client, bucket, 'kill/')).toBe(0);
    } finally {
      await run.proxy.close();
    }
  });

  it('SIGINT: exit 130, says how to resume, keeps a checkpoint that resumes', async () => {
    const run = await interruptedUpload({ key: 'int/big.bin', signal: 'SIGINT', parts: 2 });
    try {
      expect(run.exit.code).toBe(130);
      expect(run.stderr()).toMatch(/interrupted — rerun the same command to resume \(\d+\/13 parts uploaded\)/);
      const [ucp] = checkpointsIn(run.ckpt);
      const saved = JSON.parse(fs.readFileSync(path.join(run.ckpt, ucp!), 'utf8')) as { parts: unknown[]; partCount: number; kind: string };
      expect(saved).toMatchObject({ kind: 'upload', partCount: 13 });
      expect(saved.parts.length).toBeGreaterThanOrEqual(2);

      run.proxy.setRules([]);
      const again = await runCli(run.args, { env: s3Env(s3, run.proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/resumed big.bin: \d+ of 13 parts already uploaded/);
      expect((await getBytes(client, bucket, 'int/big.bin')).equals(fs.readFileSync(run.file))).toBe(true);
      expect(checkpointsIn(run.ckpt)).toEqual([]);
      expect(await openUploads(client, bucket, 'int/')).toBe(0);
    } finally {
      await run.proxy.close();
    }
  });

  describe('a checkpoint that cannot be used: say why, start over cleanly, abort the old upload', () => {
    const cases: [string, (run: Awaited<ReturnType<typeof interruptedUpload>>) => Promise<string[]> | string[], RegExp][] = [
      [
        'corrupt',
        (run) => {
          const [ucp] = checkpointsIn(run.ckpt);
          const p = path.join(run.ckpt, ucp!);
          fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace(/"partSize": \d+/, '"partSize": 1'));
          return run.args;
        },
        /checkpoint for .* not used: it is corrupt \(its checksum does not match its content\), kept as .*\.ucp\.corrupt; starting over/,
      ],
      [
        'source changed',
        (run) => {
          fs.appendFileSync(run.file, 'more');
          return run.args;
        },
        /not used: .*big.bin changed since the checkpoint \(size or mtime\); starting over/,
      ],
      [
        'upload gone from the server',
        async (run) => {
          const ups = await listUploads(client, bucket, 'bad/upload-gone');
          expect(ups).toHaveLength(1);
          for (const u of ups) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }));
          return run.args;
        },
        /not used: the upload is gone from the server; starting over/,
      ],
      [
        'different part size',
        (run) => run.args.map((a) => (a === '5MiB' && run.args[run.args.indexOf(a) - 1] === '--part-size' ? '6MiB' : a)),
        /not used: part size differs \(5\.00 MiB then, 6\.00 MiB now\); starting over/,
      ],
    ];
    it.each(cases)('%s', async (name, spoil, warning) => {
      const key = `bad/${name.replace(/ /g, '-')}.bin`;
      const run = await interruptedUpload({ key, signal: 'SIGKILL', parts: 2, size: 24 * MiB });
      try {
        const args = await spoil(run);
        run.proxy.setRules([]);
        run.proxy.clear();
        const again = await runCli(args, { env: s3Env(s3, run.proxy.endpoint) });
        expect(again.code, again.stderr).toBe(0);
        expect(again.stderr).toMatch(warning);
        expect(run.proxy.requests.filter((r) => r.method === 'POST' && 'uploads' in r.query)).toHaveLength(1);
        expect((await getBytes(client, bucket, key)).equals(fs.readFileSync(run.file))).toBe(true);
        // The old upload was aborted, the new one completed: nothing left open.
        expect(await openUploads(client, bucket, key)).toBe(0);
        const left = checkpointsIn(run.ckpt);
        expect(left).toEqual(name === 'corrupt' ? [expect.stringMatching(/\.ucp\.corrupt$/)] : []);
      } finally {
        await run.proxy.close();
      }
    });
  });

  it('cp -r with checkpoints: a rerun resumes the large file and does not resend finished files', async () => {
    const proxy = await slowProxy(4 * MiB);
    try {
      const dir = tmpdir();
      const src = makeTree(path.join(dir, 'src'), { 'a-small.txt': 'a', 'b-small.txt': 'b', 'big.bin': 24 * MiB });
      const ckpt = path.join(dir, '.ckpt');
      const args = ['cp', '-r', src, `s3://${bucket}/tree/`, '--checkpoint-dir', ckpt, ...FLAGS];
      const child = spawnCli(args, { env: s3Env(s3, proxy.endpoint) });
      await waitFor(() => proxy.requests.filter((r) => isPart(r) && r.status === 200).length >= 2, 40_000, 'parts');
      child.kill('SIGKILL');
      await exitOf(child);
      expect(proxy.requests.filter((r) => r.method === 'PUT' && !isPart(r) && r.status === 200)).toHaveLength(2);

      proxy.setRules([]);
      proxy.clear();
      const again = await runCli(args, { env: s3Env(s3, proxy.endpoint) });
      expect(again.code, again.stderr).toBe(0);
      expect(proxy.requests.filter((r) => r.method === 'PUT' && !isPart(r))).toHaveLength(0);
      expect(again.stdout).toMatch(/skipped .*a-small.txt: already copied/);
      expect(again.stdout).toMatch(/resumed big.bin: \d+ of 5 parts already uploaded/);
      expect((await getBytes(client, bucket, 'tree/big.bin')).equals(fs.readFileSync(path.join(src, 'big.bin')))).toBe(true);
      expect(checkpointsIn(ckpt)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('a checkpoint directory that cannot be written is refused before anything starts', async () => {
    const dir = makeTree(tmpdir(), { 'f.bin': 10 });
    fs.writeFileSync(path.join(dir, 'not-a-dir'), '');
    const res = await runCli(['cp', path.join(dir, 'f.bin'), `s3://${bucket}/x.bin`, '--checkpoint-dir', path.join(dir, 'not-a-dir', 'ckpt')], { env: s3Env(s3) });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/checkpoint directory .* is not writable .*: choose another --checkpoint-dir/);
  });
});
