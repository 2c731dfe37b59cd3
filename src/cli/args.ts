import yargs, { type Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { filterRulesFromArgv, type FilterRule } from '../plan/filter.js';
import { formatSize, parseSize } from '../size.js';
import { MAX_PART_SIZE, MIN_PART_SIZE, MiB } from '../plan/part-size.js';

/** Built-in defaults; --help shows them. Chosen from measurements (see README, Performance). */
export const DEFAULTS = {
  bigfileThreshold: 16 * MiB,
  partSize: 8 * MiB,
  parallel: 8,
  jobs: 8,
  retries: 5,
} as const;

export interface ConnectionFlags {
  profile?: string | undefined;
  region?: string | undefined;
  endpointUrl?: string | undefined;
  addressingStyle?: 'path' | 'virtual' | undefined;
}

export interface CpOptions extends ConnectionFlags {
  source: string;
  destination: string;
  recursive: boolean;
  update: boolean;
  filters: FilterRule[];
  bigfileThreshold: number;
  partSize: number | undefined;
  chunkSize: number;
  parallel: number;
  jobs: number;
  retries: number;
  dryRun: boolean;
  checkpointDir: string | undefined;
  json: boolean;
  progress: boolean;
  debug: boolean;
}

export type Command = { name: 'cp'; options: CpOptions } | { name: 'none' };

const EPILOG = [
  'Exit codes: 0 all done, 1 some transfers failed, 2 usage error or bad input, 130 interrupted.',
  'Sizes: bytes, or 5MiB, 5M, 64MB, 1GiB.',
  'Credentials and region: AWS_* variables, ~/.aws/config and ~/.aws/credentials (--profile).',
  'Endpoint: --endpoint-url, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.',
].join('\n\n');

function positiveInt(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`invalid ${flag} '${String(value)}': use a whole number of 1 or more`);
  return n;
}

function positiveSize(text: string, flag: string): number {
  const size = parseSize(text, flag);
  if (size < 1) throw new UsageError(`invalid ${flag} '${text}': must be at least 1 byte`);
  return size;
}

/** yargs-parser reads a lone '-' (standard input) as `true`. */
function positional(value: unknown): string {
  return value === true ? '-' : String(value);
}

function checkPartSize(size: number): number {
  if (size < MIN_PART_SIZE) throw new UsageError(`--part-size ${formatSize(size)} is below S3's minimum of 5 MiB: use 5MiB or more`);
  if (size > MAX_PART_SIZE) throw new UsageError(`--part-size ${formatSize(size)} is above S3's maximum of 5 GiB`);
  return size;
}

function connectionOptions<T>(y: Argv<T>) {
  return y
    .option('profile', { type: 'string', describe: 'AWS profile from ~/.aws/config and credentials', group: 'Connection:' })
    .option('region', { type: 'string', describe: 'region (default: from the profile or environment, else us-east-1)', group: 'Connection:' })
    .option('endpoint-url', { type: 'string', describe: 'S3-compatible endpoint, e.g. http://127.0.0.1:9000', group: 'Connection:' })
    .option('addressing-style', {
      choices: ['path', 'virtual'] as const,
      describe: 'bucket in the path or the host name (default: path with a custom endpoint)',
      group: 'Connection:',
    });
}

/** argv → a typed command. Pure apart from printing --help/--version through yargs. */
export async function parseArgs(argv: string[], out: { stdout: NodeJS.WritableStream; version: string }): Promise<Command> {
  let command: Command = { name: 'none' };
  let helpOutput = '';
  const parser = yargs(argv)
    .scriptName('s3xfer')
    .usage('$0 <command> [options]\n\nCopy files between local disks and S3-compatible object stores; resume after any interruption.')
    .command(
      'cp <source> <destination>',
      'copy a file or a tree (-r) to or from S3',
      (y) =>
        connectionOptions(
          y
            .positional('source', { describe: 'local path, s3://bucket/key, or - for standard input' })
            .positional('destination', { type: 'string', describe: 'local path or s3://bucket/key (a trailing / means a directory or prefix)' })
            .option('recursive', { alias: 'r', type: 'boolean', default: false, describe: 'copy the contents of a directory or prefix' })
            .option('update', { alias: 'u', type: 'boolean', default: false, describe: 'copy only what is missing or newer at the destination' })
            .option('include', { type: 'string', array: true, describe: 'copy paths matching GLOB (repeatable; in order, last match wins)' })
            .option('exclude', { type: 'string', array: true, describe: 'skip paths matching GLOB (a pattern without / matches the base name)' })
            .option('bigfile-threshold', { type: 'string', default: '16MiB', describe: 'multipart upload / parallel ranged download at or above this size' })
            .option('part-size', { type: 'string', describe: 'part size (default: auto, 8 MiB or more so a file needs at most 10,000 parts; minimum 5MiB)' })
            .option('chunk-size', { type: 'string', default: '1MiB', describe: 'a resumed download refetches at most this much per range in flight' })
            .option('parallel', { type: 'number', default: DEFAULTS.parallel, describe: 'parts or ranges in flight per file' })
            .option('jobs', { alias: 'j', type: 'number', default: DEFAULTS.jobs, describe: 'files in flight at once' })
            .option('retries', { type: 'number', default: DEFAULTS.retries, describe: 'attempts per request for network faults, 5xx and throttling' })
            .option('checkpoint-dir', { type: 'string', describe: 'keep resumable checkpoints here (env S3XFER_CHECKPOINT_DIR)' })
            .option('dry-run', { type: 'boolean', default: false, describe: 'print what would be copied or skipped, and why; write nothing' })
            .option('json', { type: 'boolean', default: false, describe: 'one JSON object per line on stdout per event' })
            .option('progress', { type: 'boolean', default: true, describe: 'progress bars on a terminal (--no-progress to hide)' })
            .option('debug', { type: 'boolean', default: false, describe: 'show stack traces on errors' })
            .example('$0 cp big.iso s3://backups/isos/', 'upload a file (key isos/big.iso)')
            .example('$0 cp -r -u ./data s3://backups/data/ --checkpoint-dir .ckpt', 'upload what changed in a tree; resumable')
            .example('$0 cp -r s3://backups/data/ ./restore/', 'download everything under a prefix')
            .example("$0 cp -r ./src s3://b/src/ --exclude '*' --include '*.ts'", 'only TypeScript files')
            .example('tar c dir | $0 cp - s3://backups/dir.tar', 'upload standard input')),
        (a) => {
          command = {
            name: 'cp',
            options: {
              source: positional(a.source),
              destination: positional(a.destination),
              recursive: a.recursive,
              update: a.update,
              filters: filterRulesFromArgv(argv),
              bigfileThreshold: parseSize(a['bigfile-threshold'], '--bigfile-threshold'),
              partSize: a['part-size'] === undefined ? undefined : checkPartSize(parseSize(a['part-size'], '--part-size')),
              chunkSize: positiveSize(a['chunk-size'], '--chunk-size'),
              parallel: positiveInt(a.parallel, '--parallel'),
              jobs: positiveInt(a.jobs, '--jobs'),
              retries: positiveInt(a.retries, '--retries'),
              dryRun: a['dry-run'],
              checkpointDir: a['checkpoint-dir'],
              json: a.json,
              progress: a.progress,
              debug: a.debug,
              profile: a.profile,
              region: a.region,
              endpointUrl: a['endpoint-url'],
              addressingStyle: a['addressing-style'],
            },
          };
        },
    )
    .demandCommand(1, 'name a command: s3xfer cp SOURCE DESTINATION (see s3xfer --help)')
    .strict()
    .recommendCommands()
    .version(out.version)
    .help()
    .alias('h', 'help')
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`${msg ?? err?.message ?? 'invalid arguments'} (see s3xfer --help)`);
    });
  await parser.parseAsync(argv, {}, (_err, _argv, output) => {
    helpOutput = output;
  });
  if (helpOutput) out.stdout.write(`${helpOutput}\n`);
  return command;
}
