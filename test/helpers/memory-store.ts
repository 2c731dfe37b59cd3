// An in-memory object store implementing the engine's port: for unit tests of the engine, plan and
// checkpoint sessions without a server. Faults are injected per call with `fail`.
import { Readable } from 'node:stream';
import { crc32c } from '@node-rs/crc32';
import { bodySize, type RequestBody } from '../../src/engine/file-body.js';
import { compositeCrc32c, uint32Base64 } from '../../src/engine/checksum.js';
import { compareKeys } from '../../src/plan/key-order.js';
import type { CopySource, GetInput, GetOutput, ObjectInfo, ObjectStore, PartInfo, PartInput, PutInput, UploadInfo } from '../../src/engine/store.js';

interface Stored {
  bytes: Buffer;
  metadata: Record<string, string>;
  lastModifiedMs: number;
  etag: string;
  crc32c: string;
}

type Call = keyof ObjectStore;

async function bytesOf(body: RequestBody): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return Buffer.from(body);
  const pieces: Buffer[] = [];
  for await (const piece of body.pieces()) pieces.push(Buffer.from(piece));
  const all = Buffer.concat(pieces);
  if (all.length !== bodySize(body)) throw new Error('body shorter than its size');
  return all;
}

const badDigest = () => Object.assign(new Error('checksum mismatch'), { name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
const noSuchUpload = () => Object.assign(new Error('no such upload'), { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });

export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Stored>();
  readonly uploads = new Map<string, { key: string; initiatedMs: number; metadata: Record<string, string>; parts: Map<number, PartInfo & { bytes: Buffer }> }>();
  readonly calls: { call: Call; key?: string; partNumber?: number }[] = [];
  /** Fail the next calls of a kind: each entry is thrown once, in order. */
  private readonly faults = new Map<Call, unknown[]>();
  private nextId = 1;
  /** How many calls of each kind ran at once, at most. */
  readonly maxInFlight = new Map<Call, number>();
  private readonly inFlight = new Map<Call, number>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  fail(call: Call, ...errors: unknown[]): void {
    this.faults.set(call, [...(this.faults.get(call) ?? []), ...errors]);
  }

  private async enter(call: Call, key?: string, partNumber?: number): Promise<() => void> {
    this.calls.push({ call, key, partNumber });
    const n = (this.inFlight.get(call) ?? 0) + 1;
    this.inFlight.set(call, n);
    this.maxInFlight.set(call, Math.max(n, this.maxInFlight.get(call) ?? 0));
    await new Promise((r) => setImmediate(r));
    const leave = () => this.inFlight.set(call, (this.inFlight.get(call) ?? 1) - 1);
    const fault = this.faults.get(call)?.shift();
    if (fault !== undefined) {
      leave();
      throw fault;
    }
    return leave;
  }

  async *list(_bucket: string, prefix: string): AsyncIterable<ObjectInfo> {
    // In S3's order (UTF-8 bytes): the plan merges listings in step.
    for (const key of [...this.objects.keys()].sort(compareKeys)) {
      const o = this.objects.get(key)!;
      if (key.startsWith(prefix)) yield { key, size: o.bytes.length, lastModifiedMs: o.lastModifiedMs, etag: o.etag };
    }
  }

  async tags(): Promise<Record<string, string>> {
    return {};
  }

  async head(_bucket: string, key: string): Promise<ObjectInfo | undefined> {
    (await this.enter('head', key))();
    const o = this.objects.get(key);
    return o && { key, size: o.bytes.length, lastModifiedMs: o.lastModifiedMs, etag: o.etag, crc32c: o.crc32c, etagIsMd5: false };
  }

  async partSize(): Promise<number> {
    throw new Error('not used');
  }

  async put(input: PutInput): Promise<{ etag: string }> {
    const leave = await this.enter('put', input.key);
    try {
      const bytes = await bytesOf(input.body);
      if (uint32Base64(crc32c(bytes)) !== input.crc32c) throw badDigest();
      const etag = `"e${this.nextId++}"`;
      this.objects.set(input.key, { bytes, metadata: input.metadata, lastModifiedMs: this.now(), etag, crc32c: input.crc32c });
      return { etag };
    } finally {
      leave();
    }
  }

  async createMultipartUpload(input: { bucket: string; key: string; metadata: Record<string, string> }): Promise<string> {
    (await this.enter('createMultipartUpload', input.key))();
    const id = `u${this.nextId++}`;
    this.uploads.set(id, { key: input.key, initiatedMs: this.now(), metadata: input.metadata, parts: new Map() });
    return id;
  }

  async uploadPart(input: PartInput): Promise<{ etag: string }> {
    const leave = await this.enter('uploadPart', input.key, input.partNumber);
    try {
      const upload = this.uploads.get(input.uploadId);
      if (!upload) throw noSuchUpload();
      const bytes = await bytesOf(input.body);
      if (uint32Base64(crc32c(bytes)) !== input.crc32c) throw badDigest();
      const etag = `"p${this.nextId++}"`;
      upload.parts.set(input.partNumber, { partNumber: input.partNumber, size: bytes.length, etag, crc32c: input.crc32c, bytes });
      return { etag };
    } finally {
      leave();
    }
  }

  async copyObject(input: { source: CopySource; bucket: string; key: string }): Promise<{ etag: string }> {
    (await this.enter('copyObject', input.key))();
    const from = this.pinned(input.source);
    const etag = `"c${this.nextId++}"`;
    this.objects.set(input.key, { ...from, lastModifiedMs: this.now(), etag });
    return { etag };
  }

  async uploadPartCopy(input: { source: CopySource; key: string; uploadId: string; partNumber: number; range: { start: number; end: number } }): Promise<{ etag: string }> {
    (await this.enter('uploadPartCopy', input.key, input.partNumber))();
    const upload = this.uploads.get(input.uploadId);
    if (!upload) throw noSuchUpload();
    const bytes = this.pinned(input.source).bytes.subarray(input.range.start, input.range.end + 1);
    const etag = `"pc${this.nextId++}"`;
    upload.parts.set(input.partNumber, { partNumber: input.partNumber, size: bytes.length, etag, bytes });
    return { etag };
  }

  private pinned(source: CopySource): Stored {
    const o = this.objects.get(source.key);
    if (!o) throw Object.assign(new Error('no such key'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    if (o.etag !== source.etag) throw Object.assign(new Error('precondition'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    return o;
  }

  async listParts(_bucket: string, _key: string, uploadId: string): Promise<PartInfo[]> {
    (await this.enter('listParts'))();
    const upload = this.uploads.get(uploadId);
    if (!upload) throw noSuchUpload();
    return [...upload.parts.values()].map(({ bytes: _b, ...p }) => p);
  }

  async completeMultipartUpload(input: { bucket: string; key: string; uploadId: string; parts: readonly PartInfo[] }) {
    (await this.enter('completeMultipartUpload', input.key))();
    const upload = this.uploads.get(input.uploadId);
    if (!upload) throw noSuchUpload();
    const parts = input.parts.map((p) => upload.parts.get(p.partNumber)!);
    const crc = parts.every((p) => p.crc32c) ? compositeCrc32c(parts.map((p) => p.crc32c!)) : '';
    const etag = `"m${this.nextId++}-${parts.length}"`;
    this.objects.set(input.key, { bytes: Buffer.concat(parts.map((p) => p.bytes)), metadata: upload.metadata, lastModifiedMs: this.now(), etag, crc32c: crc });
    this.uploads.delete(input.uploadId);
    return { etag, crc32c: crc || undefined };
  }

  async abortMultipartUpload(_bucket: string, _key: string, uploadId: string): Promise<void> {
    (await this.enter('abortMultipartUpload'))();
    if (!this.uploads.delete(uploadId)) throw noSuchUpload();
  }

  async deleteObjects(_bucket: string, keys: readonly string[]): Promise<{ key: string; message: string }[]> {
    (await this.enter('deleteObjects'))();
    for (const key of keys) this.objects.delete(key);
    return [];
  }

  async listUploads(): Promise<UploadInfo[]> {
    return [...this.uploads.entries()].map(([uploadId, u]) => ({ key: u.key, uploadId, initiatedMs: u.initiatedMs }));
  }

  async get(input: GetInput): Promise<GetOutput> {
    const leave = await this.enter('get', input.key);
    try {
      const o = this.objects.get(input.key);
      if (!o) throw Object.assign(new Error('no such key'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      if (input.ifMatch && input.ifMatch !== o.etag) throw Object.assign(new Error('precondition'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
      const bytes = input.range ? o.bytes.subarray(input.range.start, input.range.end + 1) : o.bytes;
      return { body: Readable.from([bytes]), contentLength: bytes.length, etag: o.etag, metadata: o.metadata, lastModifiedMs: o.lastModifiedMs, etagIsMd5: false };
    } finally {
      leave();
    }
  }
}
