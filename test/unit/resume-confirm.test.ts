import { uploadCheckpoint } from '../helpers/checkpoints.js';
import { describe, expect, it } from 'vitest';
import type { CheckpointBody } from '../../src/checkpoint/schema.js';
import type { CommonOptions } from '../../src/cli/args.js';
import { confirmResume, sameEndpoint } from '../../src/cli/resume-confirm.js';

const body: CheckpointBody = { ...uploadCheckpoint, version: 1 };

describe('confirmResume: the endpoint and profile a checkpoint names must be the ones configured now', () => {
  const opts = (o: Partial<CommonOptions>) => ({ json: false, progress: false, debug: false, retries: 5, stallTimeoutMs: 1, checkpointDir: '/x', ...o });
  const aws: CheckpointBody = { ...body, destination: { ...body.destination, endpoint: 'https://s3.eu-west-1.amazonaws.com' }, options: { parallel: 2, retries: 5, region: 'eu-west-1' } };

  it('spellings of one endpoint are the same endpoint', () => {
    expect(sameEndpoint('http://127.0.0.1:9000/', 'http://127.0.0.1:9000')).toBe(true);
    expect(sameEndpoint('HTTP://LOCALHOST:80', 'http://localhost')).toBe(true);
    expect(sameEndpoint('http://127.0.0.1:9000', 'http://127.0.0.1:9001')).toBe(false);
  });

  it.each([
    ['the same endpoint', body, { endpointUrl: 'http://127.0.0.1:9000/' }, { ok: true, endpointUrl: 'http://127.0.0.1:9000', profile: undefined }],
    ['AWS then and now', aws, {}, { ok: true, endpointUrl: undefined, profile: undefined }],
    ['default profile, named or not', body, { endpointUrl: 'http://127.0.0.1:9000', profile: 'default' }, { ok: true, endpointUrl: 'http://127.0.0.1:9000', profile: 'default' }],
  ] as const)('%s: resumes', async (_what, cp, o, expected) => {
    expect(await confirmResume(cp, opts(o), {})).toEqual(expected);
  });

  it.each([
    ['another endpoint', body, { endpointUrl: 'http://127.0.0.1:9001' }, /recorded for endpoint http:\/\/127.0.0.1:9000, but endpoint http:\/\/127.0.0.1:9001 is configured now: .* confirm with --endpoint-url http:\/\/127.0.0.1:9000$/],
    ['no endpoint now', body, {}, /but endpoint AWS S3 \(none set\) is configured now/],
    ['AWS then, a custom one now', aws, { endpointUrl: 'http://127.0.0.1:9000' }, /confirm with --endpoint-url https:\/\/s3.eu-west-1.amazonaws.com$/],
    ['another profile', { ...body, options: { ...body.options, profile: 'prod' } }, { endpointUrl: 'http://127.0.0.1:9000' }, /recorded for profile prod, but profile default is configured now: .* confirm with --profile prod$/],
    ['endpoint fields that disagree', { ...body, destination: { ...body.destination, endpoint: 'http://evil:9000' } }, { endpointUrl: 'http://127.0.0.1:9000' }, /records two endpoints/],
  ] as const)('%s: refused', async (_what, cp, o, reason) => {
    const got = await confirmResume(cp, opts(o), {});
    expect(got.ok).toBe(false);
    expect(got.ok ? '' : got.reason).toMatch(reason);
  });
});
