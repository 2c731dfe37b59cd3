import { createHash } from 'node:crypto';
import mime from 'mime';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command } from '../../src/cli/args.js';
import { parseArgs } from '../../src/cli/parser.js';
import { parseMetadata, parseTagging } from '../../src/cli/object-args.js';
import { settingsFor, type ObjectOptions } from '../../src/engine/object-settings.js';
import { settingsHeaders } from '../../src/engine/object-wire.js';
import { checkSameObjectOptions, objectRecord } from '../../src/checkpoint/object-record.js';
import { objectOptionsFrom } from '../../src/cli/object-args.js';
import { explainS3Error } from '../../src/engine/s3-errors.js';
import { TransferError } from '../../src/errors.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 's3xfer-objopts-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

async function parse(args: string[], env: NodeJS.ProcessEnv = {}) {
  const command = await parseArgs(['cp', 'a', 's3://b/k', ...args], { stdout: new PassThrough(), version: '0', env: { XDG_CONFIG_HOME: home, HOME: home, ...env } });
  if (command.name !== 'cp') throw new Error(`parsed as ${command.name}`);
  return (command as Extract<Command, { name: 'cp' }>).options;
}

describe('Content-Type per object', () => {
  const guessing: ObjectOptions = { settings: {}, metadata: {}, guessContentType: true, typeOf: (name) => mime.getType(name) };
  it.each([
    ['site/index.html', 'text/html'],
    ['a/b/photo.JPG', 'image/jpeg'],
    ['logs.tar.gz', 'application/gzip'],
    ['Makefile', undefined],
    ['.bashrc', undefined],
    ['x.unknownext', undefined],
    ['dir.d/README', undefined],
  ])('%s → %s', (key, type) => {
    expect(settingsFor(guessing, key).headers?.contentType).toBe(type);
  });
  it('a forced type wins; with guessing off nothing is set', () => {
    expect(settingsFor({ ...guessing, settings: { headers: { contentType: 'text/x-a' } } }, 'a.html').headers?.contentType).toBe('text/x-a');
    expect(settingsFor({ ...guessing, guessContentType: false }, 'a.html').headers).toBeUndefined();
  });
});

describe('--metadata and --tagging', () => {
  it.each([
    ['a=1,b=two', { a: '1', b: 'two' }],
    ['Owner=ci', { owner: 'ci' }],
    ['k=v=w', { k: 'v=w' }],
    ['{"x":"1","y":2}', { x: '1', y: '2' }],
  ])('metadata %s', (text, want) => expect(parseMetadata(text, '--metadata')).toEqual(want));
  it('metadata from a config map; 2 KiB at most', () => {
    expect(parseMetadata({ team: 'web', n: 3 }, 'metadata')).toEqual({ team: 'web', n: '3' });
    expect(() => parseMetadata(`a=${'x'.repeat(2048)}`, '--metadata')).toThrow(/2049 bytes of metadata, S3 allows 2048/);
    expect(() => parseMetadata('a b=1', '--metadata')).toThrow(/key 'a b' must be/);
  });
  it.each([
    ['a=1&b=x%20y', 'a=1&b=x%20y'],
    ['a=1&b=x y', 'a=1&b=x%20y'],
    ['k=', 'k='],
  ])('tagging %s → %s', (text, want) => expect(parseTagging(text, '--tagging')).toBe(want));
  it('tagging from a config map; duplicate keys and long keys refused', () => {
    expect(parseTagging({ env: 'prod eu', n: 1 }, 'tagging')).toBe('env=prod%20eu&n=1');
    expect(() => parseTagging('a=1&a=2', '--tagging')).toThrow(/given twice/);
    expect(() => parseTagging(`${'k'.repeat(129)}=v`, '--tagging')).toThrow(/keys are 1-128 characters/);
  });
});

describe('flags → the settings every upload gets', () => {
  it('all of them, as the wire sends them', async () => {
    const o = await parse([
      '--content-type', 'text/plain', '--cache-control', 'no-cache', '--content-disposition', 'inline', '--content-encoding', 'gzip',
      '--content-language', 'en', '--expires', '2030-01-01T00:00:00Z', '--storage-class', 'reduced_redundancy', '--acl', 'PUBLIC-READ',
      '--tagging', 'a=1', '--sse', 'aws:kms', '--sse-kms-key-id', 'k1',
    ]);
    expect(settingsHeaders(o.object.settings)).toEqual({
      'content-type': 'text/plain',
      'cache-control': 'no-cache',
      'content-disposition': 'inline',
      'content-encoding': 'gzip',
      'content-language': 'en',
      expires: 'Tue, 01 Jan 2030 00:00:00 GMT',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-acl': 'public-read',
      'x-amz-tagging': 'a=1',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'k1',
    });
  });
  it('none given: nothing set, Content-Type guessed, no key, no request payer', async () => {
    const o = await parse([]);
    expect(settingsHeaders(o.object.settings)).toEqual({});
    expect(o.object).toMatchObject({ metadata: {}, guessContentType: true });
    expect([o.customerKey, o.requestPayer]).toEqual([undefined, undefined]);
  });
  it('the SSE-C key: from fileb://, or base64 in S3XFER_SSE_C_KEY; named by its MD5', async () => {
    const file = path.join(home, 'k.bin');
    const key = Buffer.alloc(32, 9);
    fs.writeFileSync(file, key);
    const fromFile = await parse(['--sse-c', 'AES256', '--sse-c-key', `fileb://${file}`]);
    const fromEnv = await parse([], { S3XFER_SSE_C_KEY: key.toString('base64') });
    for (const o of [fromFile, fromEnv]) expect(o.customerKey).toEqual({ key: key.toString('base64'), keyMd5: createHash('md5').update(key).digest('base64') });
    await expect(parse([], { S3XFER_SSE_C_KEY: 'c2hvcnQ=' })).rejects.toThrow(/S3XFER_SSE_C_KEY: not the base64 of 32 bytes/);
  });
});

describe('a checkpoint records what changes the object', () => {
  const options: ObjectOptions = {
    settings: { headers: { cacheControl: 'no-cache', expires: new Date('2030-01-01T00:00:00Z') }, storageClass: 'REDUCED_REDUNDANCY', tagging: 'a=1', sse: { type: 'aws:kms', kmsKeyId: 'k1' } },
    metadata: { b: '2', a: '1' },
    guessContentType: true,
    typeOf: (name) => mime.getType(name),
  };
  const key = { key: 'S0VZ', keyMd5: 'TUQ1' };
  const record = objectRecord(settingsFor(options, 'x.html'), options.metadata, key);

  it('by flag name; the key only by its MD5', () => {
    expect(record).toEqual({
      'content-type': 'text/html',
      'cache-control': 'no-cache',
      expires: '2030-01-01T00:00:00.000Z',
      metadata: '{"a":"1","b":"2"}',
      'storage-class': 'REDUCED_REDUNDANCY',
      tagging: 'a=1',
      sse: 'aws:kms',
      'sse-kms-key-id': 'k1',
      'sse-c-key-md5': 'TUQ1',
    });
    expect(JSON.stringify(record)).not.toContain('S0VZ');
  });
  it('`resume` rebuilds the same options from it, read as flags', () => {
    const { 'sse-c-key-md5': _k, ...flags } = record;
    const again = objectOptionsFrom({ ...flags, 'guess-mime-type': false }, {}, {}, false);
    expect(objectRecord(settingsFor(again, 'x.html'), again.metadata, key)).toEqual(record);
  });
  it.each([
    [{ ...record, 'storage-class': 'STANDARD' }, /started with --storage-class 'STANDARD', this run asks for 'REDUCED_REDUNDANCY'/],
    [{ ...record, metadata: '{"a":"1"}' }, /--metadata '\{"a":"1"\}', this run asks for '\{"a":"1","b":"2"\}'/],
    [{ ...record, 'sse-c-key-md5': 'T1RIRVI=' }, /another SSE-C key \(MD5 T1RIRVI=, now TUQ1\)/],
    [Object.fromEntries(Object.entries(record).filter(([k]) => k !== 'sse-c-key-md5')), /was started without --sse-c-key/],
  ])('a difference is one line naming the option and the fix (%#)', (then, message) => {
    const run = () => checkSameObjectOptions(then, record, { name: 'big.bin', id: 'abcd' });
    expect(run).toThrow(TransferError);
    expect(run).toThrow(message);
    expect(run).toThrow(/; rerun with the same options to resume, or `s3xfer checkpoint clean abcd` to start over$/);
  });
  it('the same options, or a checkpoint from before they were recorded, pass', () => {
    expect(() => checkSameObjectOptions({ ...record }, record, { name: 'x', id: 'y' })).not.toThrow();
    expect(() => checkSameObjectOptions(undefined, record, { name: 'x', id: 'y' })).not.toThrow();
  });
});

describe('SSE-C refusals are explained', () => {
  const err = (name: string, status: number, message = '') => Object.assign(new Error(message || name), { name, $metadata: { httpStatusCode: status } });
  it.each([
    [err('Unknown', 400), false, /refused \(HTTP 400, no reason given\): if the object is encrypted with SSE-C, pass its key/],
    [err('InvalidRequest', 400, 'The object was stored using a form of Server Side Encryption.'), false, /pass its key with --sse-c-key/],
    [err('Forbidden', 403), true, /the --sse-c-key is not the key of this object/],
    [err('AccessDenied', 403), true, /the --sse-c-key is not the key of this object/],
    [err('Unknown', 400), true, /if the object is not encrypted with SSE-C, copy it without --sse-c-key/],
  ])('%s (key given: %s)', (e, customerKey, message) => {
    const out = explainS3Error(e, { url: 's3://b/k', customerKey });
    expect(out).toBeInstanceOf(TransferError);
    expect((out as Error).message).toMatch(message);
  });
  it('without a key, a bare 403 is still about the credentials', () => {
    expect((explainS3Error(err('Forbidden', 403), { url: 's3://b/k' }) as Error).message).toMatch(/check the access keys/);
  });
});
