// A MinIO of a test file's own serving https:// with a self-signed certificate made here (node's crypto
// can read certificates but not sign them: `selfsigned` does), with extra server environment if asked.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { generate } from 'selfsigned';
import { ensureMinio, startMinio, type MinioServer } from '../../scripts/minio.mjs';
import { makeClient, tmpdir, type S3Info } from './cli.js';

/** A self-signed certificate for the given names (SAN entries: 2 = DNS, 7 = IP), as PEM. */
export async function certificate(altNames: { type: 2 | 7; value?: string; ip?: string }[]): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 's3xfer test' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** The server, its S3Info, the CA file that trusts it, and an SDK client that does. */
export async function startTlsMinio(env: Record<string, string> = {}) {
  const certsDir = tmpdir();
  const { cert, key } = await certificate([{ type: 7, ip: '127.0.0.1' }]);
  fs.writeFileSync(path.join(certsDir, 'public.crt'), cert);
  fs.writeFileSync(path.join(certsDir, 'private.key'), key);
  const server: MinioServer = await startMinio({ bin: await ensureMinio(), certsDir, env });
  const s3: S3Info = { endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey, region: server.region };
  const client = makeClient(s3, { requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: cert }) }) });
  return { server, s3, client, caFile: path.join(certsDir, 'public.crt'), certsDir };
}
