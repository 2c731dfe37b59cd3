// One well-formed upload checkpoint for unit tests; spread and override what a test is about.
import type { CheckpointBody, UploadCheckpoint } from '../../src/checkpoint/schema.js';

export const uploadCheckpoint: UploadCheckpoint & CheckpointBody = {
  version: 2,
  id: '0123456789abcdef',
  kind: 'upload',
  source: { path: '/data/big.iso', size: 6 * 1024 * 1024, mtimeNs: '1700000000123456789', ino: 42 },
  destination: { endpoint: 'http://127.0.0.1:9000', bucket: 'b', key: 'isos/big.iso' },
  uploadId: 'abc',
  partSize: 5 * 1024 * 1024,
  partCount: 2,
  parts: [],
  options: { parallel: 2, retries: 5, region: 'us-east-1', endpointUrl: 'http://127.0.0.1:9000' },
  createdAt: '2026-11-23T00:00:00.000Z',
  updatedAt: '2026-11-23T00:00:01.000Z',
};
