// `npm run demo` is the first command a user runs: it must keep working as the code changes.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

it('the demo kills an upload and a download, resumes both, and ends OK', () => {
  const res = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'demo.mjs')], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 110_000 });
  expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
  expect(res.stdout).toMatch(/resumed big\.bin: \d+ of 32 parts already uploaded/);
  expect(res.stdout).toMatch(/^demo OK: /m);
}, 120_000);
