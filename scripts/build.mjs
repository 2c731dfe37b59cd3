#!/usr/bin/env node
// `npm run build`: bundle src/ into dist/ with esbuild (tsc type-checks, esbuild emits).
// One bundle with lazily loaded chunks: Node resolves and compiles a few files
// instead of hundreds, which halves start-up (see README, Performance).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/main.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // A native addon: loaded from node_modules at run time.
  external: ['@node-rs/crc32'],
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies call require() and read __filename/__dirname (Node >= 20.11).
  banner: { js: "import { createRequire as __s3xferRequire } from 'node:module'; const require = __s3xferRequire(import.meta.url);" },
  define: { __filename: 'import.meta.filename', __dirname: 'import.meta.dirname' },
  logLevel: 'warning',
});
