import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { resolveEndpoint } from '../../src/engine/s3-client.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-endpoint-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An ~/.aws/config of its own (the SDK's loader reads AWS_CONFIG_FILE from process.env). */
function awsConfig(text: string): void {
  const file = path.join(dir, `aws-config-${Math.random().toString(16).slice(2)}`);
  fs.writeFileSync(file, text);
  vi.stubEnv('AWS_CONFIG_FILE', file);
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(dir, 'none'));
  vi.stubEnv('AWS_PROFILE', undefined);
}
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('endpoints from the environment and the profile are checked too', () => {
  it.each([
    [{ AWS_ENDPOINT_URL_S3: 'localhost:9000' }, "invalid AWS_ENDPOINT_URL_S3 'localhost:9000'"],
    [{ AWS_ENDPOINT_URL: 'notaurl' }, "invalid AWS_ENDPOINT_URL 'notaurl'"],
  ])('%j; a good one passes', async (env, message) => {
    await expect(resolveEndpoint({ maxSockets: 1 }, env)).rejects.toThrow(message);
    expect(await resolveEndpoint({ maxSockets: 1 }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' })).toBe('http://127.0.0.1:9000');
  });

  it("the profile's endpoint_url", async () => {
    awsConfig('[default]\nendpoint_url = s3.example.com\n');
    await expect(resolveEndpoint({ maxSockets: 1 }, {})).rejects.toThrow("invalid endpoint_url (profile default) 's3.example.com'");
  });
});
