import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { readCaBundle, tlsAgentOptions } from '../../src/engine/tls.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-tls-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

let pem: string;
let files: Record<'flag' | 'env' | 'profile', string>;
beforeAll(async () => {
  pem = (await generate([{ name: 'commonName', value: 'test-ca' }], { keyType: 'ec', algorithm: 'sha256' })).cert;
  files = { flag: write('flag.pem', pem), env: write('env.pem', pem), profile: write('profile.pem', pem) };
});

/** An ~/.aws/config of its own (the SDK's loader reads AWS_CONFIG_FILE from process.env; paths are cached, so a fresh one each time). */
function awsConfig(text: string): void {
  vi.stubEnv('AWS_CONFIG_FILE', write(`aws-config-${Math.random().toString(16).slice(2)}`, text));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(dir, 'none'));
  vi.stubEnv('AWS_PROFILE', undefined);
}
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('CA bundle: aws-cli precedence', () => {
  it('--ca-bundle, else AWS_CA_BUNDLE, else the profile ca_bundle, else the system CAs', async () => {
    awsConfig(`[default]\nca_bundle = ${files.profile}\n`);
    // The three files hold the same certificate: which one was read tells the precedence.
    const read = vi.spyOn(fs.promises, 'readFile');
    expect((await tlsAgentOptions({ caBundle: files.flag }, { AWS_CA_BUNDLE: files.env })).ca).toBe(pem.trim());
    await tlsAgentOptions({}, { AWS_CA_BUNDLE: files.env });
    await tlsAgentOptions({}, {});
    expect(read.mock.calls.map((c) => c[0])).toEqual([files.flag, files.env, files.profile]);
    read.mockRestore();
    awsConfig('[default]\nregion = us-east-1\n');
    expect(await tlsAgentOptions({}, {})).toEqual({});
  });

  it('--no-verify-ssl turns verification off, whatever the bundle', async () => {
    expect(await tlsAgentOptions({ verifySsl: false, caBundle: '/does/not/matter' }, {})).toEqual({ rejectUnauthorized: false });
  });

  it('a bundle that cannot be read or holds no certificate is a usage error naming it', async () => {
    await expect(readCaBundle(path.join(dir, 'missing.pem'), '--ca-bundle')).rejects.toThrow(
      new UsageError(`cannot read the CA bundle ${path.join(dir, 'missing.pem')} (--ca-bundle): ENOENT: check the path`),
    );
    const text = write('text.pem', 'hello\n');
    await expect(readCaBundle(text, 'AWS_CA_BUNDLE')).rejects.toThrow(`the CA bundle ${text} (AWS_CA_BUNDLE) holds no PEM certificate`);
    const broken = write('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expect(readCaBundle(broken, '--ca-bundle')).rejects.toThrow('holds a certificate that cannot be read');
  });
});
