import { uploadCheckpoint } from '../helpers/checkpoints.js';
import { describe, expect, it } from 'vitest';
import { serializeCheckpoint, type CheckpointBody } from '../../src/checkpoint/schema.js';
import { parseCheckpoint } from '../../src/checkpoint/validate.js';

const body: CheckpointBody = {
  ...uploadCheckpoint,
  version: 1,
  source: { ...uploadCheckpoint.source, size: 64 * 1024 * 1024 },
  partCount: 13,
  parts: [{ partNumber: 1, size: 5 * 1024 * 1024, etag: '"e1"', crc32c: 'AAAAAA==' }],
  options: { parallel: 2, retries: 5 },
};

describe('checkpoint schema', () => {
  it('round-trips', () => {
    const parsed = parseCheckpoint(serializeCheckpoint(body));
    expect(parsed).toEqual({ ok: true, checkpoint: body });
  });
  it('detects a torn file', () => {
    const text = serializeCheckpoint(body);
    expect(parseCheckpoint(text.slice(0, text.length / 2))).toMatchObject({ ok: false, problem: 'corrupt', reason: /not valid JSON/ });
  });
  it('detects a hand edit through its checksum', () => {
    const edited = serializeCheckpoint(body).replace('"uploadId": "abc"', '"uploadId": "abd"');
    expect(parseCheckpoint(edited)).toMatchObject({ ok: false, problem: 'corrupt', reason: /checksum/ });
  });
  it('refuses a checkpoint from a newer version instead of misreading it', () => {
    const newer = serializeCheckpoint({ ...body, version: 3 as 2 });
    expect(parseCheckpoint(newer)).toMatchObject({ ok: false, problem: 'newer-version', reason: /newer s3xfer/ });
  });
  it('validates the schema even with a correct checksum', () => {
    const bad = serializeCheckpoint({ ...body, partSize: -1 });
    expect(parseCheckpoint(bad)).toMatchObject({ ok: false, problem: 'corrupt', reason: /partSize/ });
  });
});
