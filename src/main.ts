import { readFileSync } from 'node:fs';
import { parseArgs } from './cli/parser.js';
import type { Command } from './cli/args.js';
import { ExitCode, UserError, describeError } from './errors.js';
import type { Io } from './cli/io.js';

export type { Io };


function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Commands load lazily: the SDK costs ~0.12 s to import, and --help and --version need none of it. */
async function run(command: Exclude<Command, { name: 'none' }>, io: Io & { signal: AbortSignal }): Promise<number> {
  switch (command.name) {
    case 'cp':
    case 'sync':
      return (await import('./cli/cp.js')).runCp(command.options, io);
    case 'checkpoint ls':
      return (await import('./cli/checkpoint-cmd.js')).checkpointLs(command.options, io);
    case 'checkpoint show':
      return (await import('./cli/checkpoint-cmd.js')).checkpointShow(command.options, command.id, io);
    case 'checkpoint clean':
      return (await import('./cli/checkpoint-cmd.js')).checkpointClean(command.options, command, io);
    case 'resume':
      return (await import('./cli/resume-cmd.js')).resume(command.options, command, io);
    case 'uploads ls':
      return (await import('./cli/uploads-cmd.js')).uploadsLs(command.options, command.url, io);
    case 'uploads abort':
      return (await import('./cli/uploads-cmd.js')).uploadsAbort(command.options, command, io);
  }
}

/** The composition root: argv in, exit code out. Every exit of the program comes through here. */
export async function main(io: Io): Promise<number> {
  let debug = io.argv.includes('--debug');
  const controller = new AbortController();
  try {
    const command = await parseArgs(io.argv, { stdout: io.stdout, version: packageVersion(), env: io.env });
    if (command.name === 'none') return ExitCode.ok;
    debug = command.options.debug;
    // Said once per run, before anything connects: nobody should forget that it is on.
    if (command.options.verifySsl === false) {
      io.stderr.write('s3xfer: warning: TLS certificates are not checked (--no-verify-ssl): anyone on the network path could read or alter the data\n');
    }
    if (command.name === 'cp' && command.options.sourceConnection.sourceVerifySsl === false) {
      io.stderr.write("s3xfer: warning: the source's TLS certificate is not checked (--source-no-verify-ssl): anyone on the network path could read or alter the data\n");
    }
    io.onSignal((signal) => controller.abort(new UserError(`interrupted by ${signal}`, ExitCode.interrupted)));
    return await run(command, { ...io, signal: controller.signal });
  } catch (err) {
    if (controller.signal.aborted) {
      io.stderr.write('s3xfer: interrupted — nothing was left half-written; rerun the same command\n');
      return ExitCode.interrupted;
    }
    io.stderr.write(`s3xfer: ${describeError(err)}\n`);
    if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return err instanceof UserError ? err.exitCode : ExitCode.partial;
  }
}
