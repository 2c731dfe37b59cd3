import { readFileSync } from 'node:fs';
import { parseArgs } from './cli/args.js';
import { ExitCode, UserError, describeError } from './errors.js';

export interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** SIGINT/SIGTERM → abort; the second one forces an exit. */
  onSignal: (handler: (signal: NodeJS.Signals) => void) => void;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The composition root: argv in, exit code out. Every exit of the program comes through here. */
export async function main(io: Io): Promise<number> {
  let debug = io.argv.includes('--debug');
  try {
    const command = await parseArgs(io.argv, { stdout: io.stdout, version: packageVersion() });
    if (command.name === 'none') return ExitCode.ok;
    debug = command.options.debug;
    const controller = new AbortController();
    io.onSignal((signal) => controller.abort(new UserError(`interrupted by ${signal}`, ExitCode.interrupted)));
    // Loaded lazily: the SDK costs ~0.12 s to import, --help and --version need none of it.
    const { runCp } = await import('./cli/cp.js');
    return await runCp(command.options, { ...io, signal: controller.signal });
  } catch (err) {
    io.stderr.write(`s3xfer: ${describeError(err)}\n`);
    if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return err instanceof UserError ? err.exitCode : ExitCode.partial;
  }
}
