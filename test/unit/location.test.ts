import { describe, expect, it } from 'vitest';
import { asDirPrefix, keyBasename, parseLocation, safeLocalPath } from '../../src/location.js';

describe('parseLocation', () => {
  it.each([
    ['s3://bucket/key', { kind: 's3', bucket: 'bucket', key: 'key' }],
    ['s3://bucket', { kind: 's3', bucket: 'bucket', key: '' }],
    ['s3://bucket/', { kind: 's3', bucket: 'bucket', key: '' }],
    ['s3://my.bucket-1/a/b/', { kind: 's3', bucket: 'my.bucket-1', key: 'a/b/' }],
    ['S3://bucket/ünï cödé', { kind: 's3', bucket: 'bucket', key: 'ünï cödé' }],
    ['-', { kind: 'stdin' }],
    ['data/', { kind: 'local', path: '/home/u/data', isDirHint: true }],
    ['./f.txt', { kind: 'local', path: '/home/u/f.txt', isDirHint: false }],
    ['.', { kind: 'local', path: '/home/u', isDirHint: true }],
  ])('%s', (text, want) => expect(parseLocation(text, '/home/u')).toEqual(want));

  it.each([
    ['s3:/b', /invalid S3 URL 's3:\/b': write it as s3:\/\/bucket\/key/],
    ['s3://', /no bucket name/],
    ['s3:///key', /no bucket name/],
    ['s3://Bad_Bucket/k', /invalid bucket name 'Bad_Bucket'/],
    ['s3://ab/k', /invalid bucket name 'ab'/],
    ['s3://-ab/k', /invalid bucket name/],
    ['s3://a..b/k', /invalid bucket name/],
    ['s3://192.168.1.1/k', /invalid bucket name/],
    [`s3://bucket/${'k'.repeat(1025)}`, /1025 bytes; S3 allows at most 1024 bytes/],
  ])('refuses %s', (text, message) => expect(() => parseLocation(text, '/')).toThrow(message));
});

describe('safeLocalPath', () => {
  it.each([
    ['a.txt', '/dst/a.txt'],
    ['sub/b.txt', '/dst/sub/b.txt'],
    ['sub//b.txt', '/dst/sub/b.txt'],
    ['ünï cödé/f 1.txt', '/dst/ünï cödé/f 1.txt'],
    ['..', undefined],
    ['../evil', undefined],
    ['a/../../evil', undefined],
    ['a/./b', '/dst/a/b'],
    ['..hidden', '/dst/..hidden'],
    ['...', '/dst/...'],
    ['d/..x/y', '/dst/d/..x/y'],
    ['a/..', undefined],
    ['/etc/passwd', undefined],
    ['', undefined],
    ['./', undefined],
    ['nul\0byte', undefined],
  ])('%j → %j', (rel, want) => expect(safeLocalPath('/dst', rel)).toBe(want));
});

describe('key helpers', () => {
  it.each([
    ['', ''],
    ['p', 'p/'],
    ['p/', 'p/'],
  ])('asDirPrefix(%j) = %j', (p, want) => expect(asDirPrefix(p)).toBe(want));
  it.each([
    ['a/b/c.txt', 'c.txt'],
    ['c.txt', 'c.txt'],
    ['a/b/', 'b'],
  ])('keyBasename(%j) = %j', (k, want) => expect(keyBasename(k)).toBe(want));
});
