// Types for scripts/minio.mjs (used by test/global-setup.ts).

export declare const MINIO_VERSION: string;

/** ${XDG_CACHE_HOME:-~/.cache}/s3xfer/minio-<MINIO_VERSION> */
export declare function minioCacheDir(): string;
/** Path of the cached MinIO binary (may not exist yet). */
export declare function minioBinaryPath(): string;

/** Returns the MinIO binary path, building it with `go install` on first use (waits for concurrent builds). */
export declare function ensureMinio(opts?: { log?: (line: string) => void }): Promise<string>;

export interface MinioServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  dataDir: string;
  pid: number;
  /** SIGTERM, SIGKILL after 5 s; removes the temp data dir if startMinio created it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a throw-away MinIO on 127.0.0.1 with random credentials; resolves once /minio/health/live answers 200.
 * With certsDir (holding public.crt and private.key) it serves https:// instead of http://.
 */
/** env: extra server environment (MINIO_KMS_SECRET_KEY, MINIO_STORAGE_CLASS_RRS, …). */
export declare function startMinio(opts?: { dataDir?: string; port?: number; bin?: string; certsDir?: string; env?: Record<string, string> }): Promise<MinioServer>;
