import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command } from '../../src/cli/args.js';
import { parseArgs } from '../../src/cli/parser.js';
import { UsageError } from '../../src/errors.js';

// No config file of the machine's user may leak in: XDG_CONFIG_HOME points at an empty directory.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-args-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
const baseEnv = { XDG_CONFIG_HOME: home, HOME: home };

async function parse(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Extract<Command, { name: 'cp' }>['options']> {
  const command = await parseArgs(['cp', 'a', 's3://b/k', ...args], { stdout: new PassThrough(), version: '0', env: { ...baseEnv, ...env } });
  if (command.name !== 'cp') throw new Error(`parsed as ${command.name}`);
  return command.options;
}

async function refusal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const err = await parse(args, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  return (err as UsageError).message;
}

function configFile(yaml: string): string {
  const file = path.join(home, `config-${Math.random().toString(16).slice(2)}.yaml`);
  fs.writeFileSync(file, yaml);
  return file;
}

describe('numeric flags quote what was typed (yargs would have made it NaN)', () => {
  it.each([
    ['--jobs', 'abc', 'jobs'],
    ['-j', 'many', 'jobs'],
    ['--parallel', 'eight', 'parallel'],
    ['--retries', '2x', 'retries'],
  ] as const)('%s %s is refused; a whole number parses', async (flag, value, key) => {
    expect(await refusal([flag, value])).toBe(`invalid --${key} '${value}': use a whole number of 1 or more`);
    expect((await parse([flag, '4']))[key]).toBe(4);
  });
});

describe('--stall-timeout', () => {
  it.each([['0s'], ['0.5s']])('%s is refused: it would switch stall detection off or cut healthy connections; 1s is fine', async (value) => {
    expect(await refusal(['--stall-timeout', value])).toBe(
      `invalid --stall-timeout '${value}': use 1s or more (a connection that sends nothing for that long is cut and retried)`,
    );
    expect((await parse(['--stall-timeout', '1s'])).stallTimeoutMs).toBe(1000);
  });
  it('0 in the config file too', async () => {
    expect(await refusal([], { S3XFER_CONFIG: configFile('stall-timeout: 0\n') })).toMatch(/^invalid stall-timeout '0': use 1s or more/);
  });
});

describe('--endpoint-url', () => {
  it.each([['notaurl'], ['ftp://host'], ['127.0.0.1:9000'], ['http://'], ['']])('%j is refused with a line naming it', async (value) => {
    expect(await refusal(['--endpoint-url', value])).toBe(
      `invalid --endpoint-url '${value}': use an http:// or https:// URL, e.g. http://127.0.0.1:9000 or https://s3.example.com`,
    );
  });
  it('from S3XFER_ENDPOINT_URL too; http:// and https:// URLs (with a path) pass', async () => {
    expect(await refusal([], { S3XFER_ENDPOINT_URL: 'nope' })).toMatch(/^invalid endpoint-url 'nope'/);
    for (const value of ['http://127.0.0.1:9000', 'https://s3.example.com', 'https://host/base/path']) {
      expect((await parse(['--endpoint-url', value])).endpointUrl).toBe(value);
    }
  });
});

describe('TLS options', () => {
  it('--ca-bundle > S3XFER_CA_BUNDLE > config file; AWS_CA_BUNDLE beats the config file (the connection reads it)', async () => {
    const config = configFile('ca-bundle: /from/config.pem\n');
    expect((await parse(['--ca-bundle', '/flag.pem'], { S3XFER_CA_BUNDLE: '/env.pem', S3XFER_CONFIG: config })).caBundle).toBe('/flag.pem');
    expect((await parse([], { S3XFER_CA_BUNDLE: '/env.pem', S3XFER_CONFIG: config })).caBundle).toBe('/env.pem');
    expect((await parse([], { S3XFER_CONFIG: config })).caBundle).toBe('/from/config.pem');
    expect((await parse([], { AWS_CA_BUNDLE: '/aws.pem', S3XFER_CONFIG: config })).caBundle).toBeUndefined();
  });

  it('--no-verify-ssl, S3XFER_VERIFY_SSL and verify-ssl in the config file', async () => {
    expect((await parse([])).verifySsl).toBeUndefined();
    expect((await parse(['--no-verify-ssl'])).verifySsl).toBe(false);
    expect((await parse([], { S3XFER_VERIFY_SSL: 'false' })).verifySsl).toBe(false);
    expect((await parse([], { S3XFER_CONFIG: configFile('verify-ssl: false\n') })).verifySsl).toBe(false);
    expect((await parse(['--verify-ssl'], { S3XFER_CONFIG: configFile('verify-ssl: false\n') })).verifySsl).toBe(true);
    expect(await refusal([], { S3XFER_VERIFY_SSL: 'maybe' })).toBe("invalid verify-ssl 'maybe': use true or false");
  });

  it('--help lists both', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    await parseArgs(['cp', '--help'], { stdout: out, version: '0', env: baseEnv });
    expect(text).toContain('--ca-bundle');
    expect(text).toMatch(/--verify-ssl .*--no-verify-ssl skips it/s);
  });
});

describe('sync', () => {
  const sync = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const command = await parseArgs(['sync', 'a', 's3://b/k/', ...args], { stdout: new PassThrough(), version: '0', env: { ...baseEnv, ...env } });
    if (command.name !== 'sync') throw new Error(`parsed as ${command.name}`);
    return command.options;
  };
  it('is cp -r -u; --delete from the flag, S3XFER_DELETE or the config file', async () => {
    expect(await sync([])).toMatchObject({ recursive: true, update: true, deleteExtra: false });
    expect((await sync(['--delete'])).deleteExtra).toBe(true);
    expect((await sync([], { S3XFER_DELETE: 'true' })).deleteExtra).toBe(true);
    expect((await sync([], { S3XFER_CONFIG: configFile('delete: true\n') })).deleteExtra).toBe(true);
    expect((await sync(['--no-delete'], { S3XFER_DELETE: 'true' })).deleteExtra).toBe(false);
    expect((await parse([])).deleteExtra).toBeUndefined();
  });
});

describe('S3 → S3 flags: flag > S3XFER_* > config file, each checked', () => {
  it('--source-* and --metadata-directive from the command line', async () => {
    const o = await parse(['--source-endpoint-url', 'http://old:9000', '--source-profile', 'old', '--source-region', 'eu-west-1', '--source-no-verify-ssl', '--metadata-directive', 'replace', '--metadata', 'a=1,b=2', '--content-type', 'text/x']);
    expect(o.sourceConnection).toEqual({ sourceEndpointUrl: 'http://old:9000', sourceProfile: 'old', sourceRegion: 'eu-west-1', sourceCaBundle: undefined, sourceVerifySsl: false });
    expect([o.metadataDirective, o.objectFlags, o.object.metadata, o.object.settings.headers?.contentType]).toEqual(['REPLACE', ['--metadata', '--content-type'], { a: '1', b: '2' }, 'text/x']);
  });

  it('from S3XFER_SOURCE_* and the config file; the flag wins', async () => {
    const config = configFile('source-endpoint-url: http://file:9000\nsource-profile: fromfile\nsource-verify-ssl: false\nmetadata-directive: COPY\n');
    const o = await parse(['--config', config], { S3XFER_SOURCE_ENDPOINT_URL: 'http://env:9000' });
    expect(o.sourceConnection).toMatchObject({ sourceEndpointUrl: 'http://env:9000', sourceProfile: 'fromfile', sourceVerifySsl: false });
    expect(o.metadataDirective).toBe('COPY');
    const flag = await parse(['--config', config, '--source-endpoint-url', 'http://flag:9000'], { S3XFER_SOURCE_ENDPOINT_URL: 'http://env:9000' });
    expect(flag.sourceConnection.sourceEndpointUrl).toBe('http://flag:9000');
  });

  it('bad values are refused in one line', async () => {
    expect(await refusal(['--source-endpoint-url', 'ftp://x'])).toMatch(/--source-endpoint-url/);
    expect(await refusal([], { S3XFER_METADATA_DIRECTIVE: 'MOVE' })).toMatch(/invalid metadata-directive 'MOVE': use COPY or REPLACE/);
  });
});

describe('--bwlimit, the size and time filters, --version-id', () => {
  it('flag > env > config file, like the others', async () => {
    const config = configFile('bwlimit: 10MiB/s\nmin-size: 1KiB\nmax-age: 2d\n');
    expect((await parse(['--config', config])).bwlimit).toBe(10 * 1024 * 1024);
    expect((await parse(['--config', config], { S3XFER_BWLIMIT: '20M' })).bwlimit).toBe(20 * 1024 * 1024);
    expect((await parse(['--config', config, '--bwlimit', '0'], { S3XFER_BWLIMIT: '20M' })).bwlimit).toBe(0);
    expect((await parse(['--config', config])).bounds).toMatchObject({ minSize: 1024, maxAgeMs: 2 * 86_400_000 });
    expect((await parse(['--config', config, '--min-size', '5'], { S3XFER_MIN_SIZE: '7' })).bounds.minSize).toBe(5);
    expect((await parse([], { S3XFER_MIN_SIZE: '7' })).bounds.minSize).toBe(7);
  });

  it('an age and a time on one side both hold; the stricter age wins', async () => {
    const b = (await parse(['--older-than', '7d', '--min-age', '1d', '--newer-than', '2026-01-01', '--max-age', '30d'])).bounds;
    expect(b).toEqual({ minSize: undefined, maxSize: undefined, minAgeMs: 7 * 86_400_000, maxAgeMs: 30 * 86_400_000, newerThanMs: Date.parse('2026-01-01T00:00:00Z'), olderThanMs: undefined });
  });

  it('a lone - destination is standard output; --version-id is kept as typed', async () => {
    const command = await parseArgs(['cp', 's3://b/k', '-', '--version-id', 'abc.123_X'], { stdout: new PassThrough(), version: '0', env: baseEnv });
    expect(command.name === 'cp' && command.options.destination).toBe('-');
    expect(command.name === 'cp' && command.options.versionId).toBe('abc.123_X');
  });

  it('resume takes --bwlimit too', async () => {
    const command = await parseArgs(['resume', '--all', '--bwlimit', '4MiB/s'], { stdout: new PassThrough(), version: '0', env: baseEnv });
    expect(command.name === 'resume' && command.bwlimit).toBe(4 * 1024 * 1024);
  });

  it.each([
    [['--bwlimit', 'fast'], /invalid --bwlimit 'fast'/],
    [['--min-size', '-1'], /invalid --min-size '-1'/],
    [['--max-age', 'forever'], /invalid --max-age 'forever'/],
    [['--newer-than', '01/02/2026'], /invalid --newer-than '01\/02\/2026'/],
    [['--version-id', ''], /invalid --version-id ''/],
  ])('%j is refused, quoting the value', async (args, message) => {
    expect(await refusal(args)).toMatch(message);
  });

  it('a bad value in the config file names the key', async () => {
    const config = configFile('older-than: someday\n');
    expect(await refusal(['--config', config])).toMatch(/invalid older-than 'someday'/);
  });
});

describe('--shard / --shards', () => {
  it('a flag beats S3XFER_SHARD, which beats the config file', async () => {
    const config = configFile('shard: 0/2\n');
    expect((await parse(['-r', '--config', config])).shard).toEqual({ index: 0, count: 2 });
    expect((await parse(['-r', '--config', config], { S3XFER_SHARD: '1/3' })).shard).toEqual({ index: 1, count: 3 });
    expect((await parse(['-r', '--config', config, '--shard', '3/4'], { S3XFER_SHARD: '1/3' })).shard).toEqual({ index: 3, count: 4 });
  });
  it('--shards N reads JOB_COMPLETION_INDEX; S3XFER_SHARDS too', async () => {
    expect((await parse(['-r', '--shards', '8'], { JOB_COMPLETION_INDEX: '7' })).shard).toEqual({ index: 7, count: 8 });
    expect((await parse(['-r'], { S3XFER_SHARDS: '8', JOB_COMPLETION_INDEX: '2' })).shard).toEqual({ index: 2, count: 8 });
  });
  it('none given: no shard, even with JOB_COMPLETION_INDEX set', async () => {
    expect((await parse(['-r'], { JOB_COMPLETION_INDEX: '2' })).shard).toBeUndefined();
  });
  it('a config file value is checked like the flag, naming the key', async () => {
    expect(await refusal(['-r', '--config', configFile('shard: 2/2\n')])).toMatch(/^shard '2\/2': index 2 is out of range/);
  });
});
