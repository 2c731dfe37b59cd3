// deploy/k8s: the Indexed Job example is valid Kubernetes, and the command it runs is what its README says.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import YAML from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';
import { PersistentVolumeClaim } from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/parser.js';
import { REPO_ROOT } from '../helpers/cli.js';

const read = (rel: string) => fs.readFileSync(path.join(REPO_ROOT, rel), 'utf8');
const docs = YAML.parseAllDocuments(read('deploy/k8s/s3xfer-indexed-job.yaml'))
  .map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as { kind: string; metadata: { name: string }; spec: any };
  })
  .filter(Boolean);
const job = docs.find((d) => d.kind === 'Job')!;
const pod = job.spec.template.spec;
const main = pod.containers[0];
const home = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-deploy-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('deploy/k8s/s3xfer-indexed-job.yaml', () => {
  it('every document passes the Kubernetes API schema (kubernetes-models)', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(['Job', 'PersistentVolumeClaim']);
    for (const d of docs) (d.kind === 'Job' ? new Job(d as never) : new PersistentVolumeClaim(d as never)).validate();
  });

  it('an Indexed Job: one pod per share, each share retried on its own, never two pods of a share at once', () => {
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', backoffLimitPerIndex: expect.any(Number), podReplacementPolicy: 'Failed' });
    expect(job.spec.parallelism).toBe(job.spec.completions);
    // backoffLimitPerIndex and podFailurePolicy require it; a replaced pod resumes from the volume.
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec.podFailurePolicy.rules).toContainEqual({ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] });
  });

  it('the command line parses with our own parser: pod i copies share i of --shards = completions; the checkpoint dir is on the shared volume', async () => {
    expect(main.command).toBeUndefined(); // the image's ENTRYPOINT runs s3xfer
    for (let i = 0; i < job.spec.completions; i++) {
      const command = await parseArgs(main.args, {
        stdout: new PassThrough(),
        version: '0',
        env: { HOME: home, XDG_CONFIG_HOME: home, JOB_COMPLETION_INDEX: String(i) },
      });
      if (command.name !== 'cp') throw new Error(`parsed as ${command.name}`);
      expect(command.options.shard).toEqual({ index: i, count: job.spec.completions });
      expect(command.options.recursive).toBe(true);
      const ckpt = command.options.checkpointDir!;
      const mount = main.volumeMounts.find((m: { mountPath: string }) => ckpt === m.mountPath || ckpt.startsWith(`${m.mountPath}/`));
      const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
      const claim = docs.find((d) => d.kind === 'PersistentVolumeClaim' && d.metadata.name === volume.persistentVolumeClaim.claimName)!;
      // Every pod of the job mounts it, on whatever node it lands.
      expect(claim.spec.accessModes).toContain('ReadWriteMany');
      expect(mount.readOnly).toBeFalsy();
    }
  });

  it('credentials come from a Secret, never from the manifest', () => {
    const env = Object.fromEntries(main.env.map((e: { name: string }) => [e.name, e]));
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      expect(env[name].value).toBeUndefined();
      expect(env[name].valueFrom.secretKeyRef).toEqual({ name: 's3xfer-credentials', key: name });
    }
  });

  it('the workers run as the user the image and the init container give the checkpoint directory', () => {
    const uid = pod.securityContext.runAsUser;
    expect(read('deploy/Dockerfile')).toMatch(new RegExp(`^USER ${uid}:`, 'm'));
    const init = pod.initContainers[0];
    expect(init.command.join(' ')).toContain(`chown ${uid}:${pod.securityContext.runAsGroup} /ckpt && chmod 0700 /ckpt`);
    expect(init.volumeMounts).toContainEqual({ name: 'checkpoints', mountPath: '/ckpt' });
    // The image the job runs is the one the Dockerfile and the README tell you to build.
    const image = main.image as string;
    expect(image).not.toMatch(/:latest$/);
    expect(init.image).toBe(image);
    expect(read('deploy/Dockerfile')).toContain(`-t ${image} .`);
    expect(read('deploy/README.md')).toContain(image);
    expect(read('deploy/Dockerfile')).toContain('ENTRYPOINT ["node", "/app/bin/s3xfer.js"]');
  });
});
