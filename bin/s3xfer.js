#!/usr/bin/env node
// The SDK warns on Node 20 on every run; users must never see SDK noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('../dist/main.js');

let signals = 0;
const code = await main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  onSignal(handler) {
    const on = (signal) => {
      // A second Ctrl-C means "now": exit without waiting for cleanup.
      if (++signals > 1) process.exit(130);
      handler(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  },
});
process.exitCode = code;
