#!/usr/bin/env node
// The SDK warns on Node 20 on every run; users must never see SDK noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `--version` answers before anything else loads: scripts call it to probe for the tool.
const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  process.exit(0);
}

const { main } = await import('../dist/main.js');

let signals = 0;
const code = await main({
  argv: args,
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
