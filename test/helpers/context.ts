// What test/global-setup.ts provides to the tests: `inject('s3')`.

/** Connection details of the S3-compatible server the tests run against. */
export interface S3Info {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Info;
  }
}
