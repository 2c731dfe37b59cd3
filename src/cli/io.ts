/** What a command gets from the process: arguments, environment, streams and signals. Passed in, never global. */
export interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * The command writes data, not lines, to stdout (`cp s3://b/key -`): a reader that goes away
   * ends that download quietly, so the "lines are no longer printed" notice would be wrong.
   */
  claimStdout?: (() => void) | undefined;
  /** SIGINT/SIGTERM/SIGHUP → abort; the second one forces an exit. */
  onSignal: (handler: (signal: NodeJS.Signals) => void) => void;
}
