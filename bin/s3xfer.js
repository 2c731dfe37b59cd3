#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import module from 'node:module';

// Node >= 22.1 keeps compiled code between runs (measured: see README, Performance); older Nodes lack it.
module.enableCompileCache?.();

// The SDK warns on Node 20 on every run; users must never see SDK noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `--version` answers before anything else loads: scripts call it to probe for the tool.
const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  process.exit(0);
}

const { main } = await import('../dist/main.js');

// A reader that goes away (`| head -1`) or a closed terminal must not kill transfers in flight or leave
// temp files: the run goes on and finishes (or stops on a signal) as usual, its lines are dropped.
// A download to standard output (`cp s3://b/key -`) claims stdout: it stops quietly instead.
let stdoutClosed = false;
let stdoutClaimed = false;
process.stdout.on('error', () => {
  if (stdoutClosed || stdoutClaimed) return;
  stdoutClosed = true;
  process.stderr.write('s3xfer: standard output was closed; the transfers go on, their lines are no longer printed\n');
});
process.stderr.on('error', () => {});

/** `nohup s3xfer …` ignores SIGHUP on purpose: a handler of ours must not undo that. */
function ignoredAtStart(signalNumber) {
  try {
    const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return mask !== undefined && ((BigInt(`0x${mask}`) >> BigInt(signalNumber - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

const seen = new Set();
const code = await main({
  argv: args,
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  claimStdout: () => (stdoutClaimed = true),
  onSignal(handler) {
    const on = (signal) => {
      // The same signal twice (a second Ctrl-C) means "now": exit without waiting for cleanup.
      if (seen.has(signal)) process.exit(130);
      const first = seen.size === 0;
      seen.add(signal);
      if (first) handler(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    // A closed terminal or a dropped ssh session: stop cleanly and keep what can be resumed.
    if (!ignoredAtStart(1)) process.on('SIGHUP', on);
  },
});
process.exitCode = code;
