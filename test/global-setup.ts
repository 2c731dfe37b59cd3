// Vitest global setup: provides `inject('s3')` to every test.
// Uses S3_TEST_ENDPOINT (+ S3_TEST_ACCESS_KEY, S3_TEST_SECRET_KEY, S3_TEST_REGION) if set,
// otherwise builds (once, cached) and starts a throw-away MinIO for the run.
import type { TestProject } from 'vitest/node';
import { ensureMinio, startMinio } from '../scripts/minio.mjs';
import type { S3Info } from './helpers/context.js';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const endpoint = process.env.S3_TEST_ENDPOINT;
  if (endpoint) {
    const accessKey = process.env.S3_TEST_ACCESS_KEY;
    const secretKey = process.env.S3_TEST_SECRET_KEY;
    if (!accessKey || !secretKey) {
      throw new Error('S3_TEST_ENDPOINT is set, so S3_TEST_ACCESS_KEY and S3_TEST_SECRET_KEY must be set too');
    }
    const s3: S3Info = { endpoint, accessKey, secretKey, region: process.env.S3_TEST_REGION || 'us-east-1' };
    project.provide('s3', s3);
    return undefined;
  }

  await ensureMinio({ log: (line) => process.stderr.write(`[minio] ${line}\n`) });
  const server = await startMinio();
  const s3: S3Info = {
    endpoint: server.endpoint,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    region: server.region,
  };
  project.provide('s3', s3);
  return async () => {
    await server.stop();
  };
}
