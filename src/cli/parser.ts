import yargs, { type Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { loadConfig } from '../config.js';
import { DEFAULTS, bwlimitFrom, commonFrom, cpFrom, durationOf, syncFrom, type Command, type Raw } from './args.js';

const EPILOG = [
  'Exit codes: 0 all done, 1 some transfers failed, 2 usage error, bad input, or an error that stopped the run (missing bucket, rejected credentials, endpoint unreachable or not trusted), 130 interrupted.',
  'Sizes: bytes, or 5MiB, 5M, 64MB, 1GiB. Durations: 90s, 30m, 12h, 7d, 2w. Times: 2026-01-01 (UTC), 2026-01-01T10:00:00Z. Rates: 50MiB/s, 8M.',
  'Credentials and region: AWS_* variables, ~/.aws/config and ~/.aws/credentials (--profile).',
  'Endpoint: --endpoint-url, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL. TLS: --ca-bundle FILE, AWS_CA_BUNDLE or the profile\'s ca_bundle; --no-verify-ssl.',
  'Content-Type is guessed from the extension (mime-db); none for an unknown one. SSE-C: --sse-c-key fileb://FILE (32 bytes) or S3XFER_SSE_C_KEY (base64), https:// only; never stored.',
  'Defaults for most flags: S3XFER_<FLAG> variables (S3XFER_CHECKPOINT_DIR, S3XFER_PART_SIZE, …) or ~/.config/s3xfer/config.yaml; a flag wins over the environment, which wins over the file.',
].join('\n\n');

const OBJECT = 'Object (uploads):';
const ENCRYPTION = 'Encryption:';

/** Flags every command takes. No yargs defaults: "not given" must stay visible for flag > env > config. */
function globalOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'config file (default: ~/.config/s3xfer/config.yaml)', global: true })
    .option('profile', { type: 'string', describe: 'AWS profile from ~/.aws/config and credentials', group: 'Connection:', global: true })
    .option('region', { type: 'string', describe: 'region (default: the profile\'s or the environment\'s, else us-east-1)', group: 'Connection:', global: true })
    .option('endpoint-url', { type: 'string', describe: 'S3-compatible endpoint, e.g. http://127.0.0.1:9000', group: 'Connection:', global: true })
    .option('addressing-style', {
      choices: ['path', 'virtual'] as const,
      describe: 'bucket in the path or in the host name (default: path with a custom endpoint)',
      group: 'Connection:',
      global: true,
    })
    .option('ca-bundle', {
      type: 'string',
      describe: "PEM file of the CAs to trust for https:// endpoints, instead of the system's (env AWS_CA_BUNDLE, profile ca_bundle)",
      group: 'Connection:',
      global: true,
    })
    .option('verify-ssl', {
      type: 'boolean',
      describe: "check the server's TLS certificate (--no-verify-ssl skips it: insecure, prints a warning)",
      group: 'Connection:',
      global: true,
    })
    .option('request-payer', {
      type: 'string',
      describe: 'requester: say on every request that you pay for it (buckets with Requester Pays)',
      group: 'Connection:',
      global: true,
    })
    .option('sse-c', { type: 'string', describe: 'AES256: objects are encrypted with your own key (SSE-C; needs --sse-c-key and https://)', group: ENCRYPTION, global: true })
    .option('sse-c-key', {
      type: 'string',
      describe: 'fileb://FILE holding the 32-byte SSE-C key (or S3XFER_SSE_C_KEY, base64); sent with every read and write, never stored',
      group: ENCRYPTION,
      global: true,
    })
    .option('retries', { type: 'string', describe: `attempts per request for network faults, 5xx and throttling (default: ${DEFAULTS.retries})`, global: true })
    .option('stall-timeout', { type: 'string', describe: 'a connection that sends nothing for this long (1s or more) is cut and retried (default: 30s)', global: true })
    .option('checkpoint-dir', { type: 'string', describe: 'where resumable checkpoints live (env S3XFER_CHECKPOINT_DIR); created 0700, refused if others could write it', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per line on stdout (on stderr when stdout holds the data: cp s3://b/key -)', global: true })
    .option('progress', { type: 'boolean', default: true, describe: 'progress bars on a terminal (--no-progress to hide)', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'show stack traces on errors', global: true });
}

/** What uploads set on objects: text flags, checked in object-args.ts. */
const OBJECT_FLAGS: Record<string, [group: string, describe: string]> = {
  'content-type': [OBJECT, 'Content-Type of every object uploaded (default: guessed from the extension)'],
  'cache-control': [OBJECT, "Cache-Control, e.g. 'max-age=3600'"],
  'content-disposition': [OBJECT, "Content-Disposition, e.g. 'attachment'"],
  'content-encoding': [OBJECT, 'Content-Encoding, e.g. gzip (never guessed)'],
  'content-language': [OBJECT, 'Content-Language, e.g. en'],
  expires: [OBJECT, 'Expires, an ISO 8601 time'],
  metadata: [OBJECT, 'user metadata: k=v,k2=v2 or JSON {"k":"v"}'],
  'storage-class': [OBJECT, 'STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, GLACIER, … (uploads and copies)'],
  acl: [OBJECT, 'canned ACL: private, public-read, bucket-owner-full-control, … (uploads and copies)'],
  tagging: [OBJECT, 'object tags, URL-encoded: k=v&k2=v2'],
  sse: [ENCRYPTION, 'AES256 (SSE-S3) or aws:kms (SSE-KMS): server-side encryption (uploads and copies)'],
  'sse-kms-key-id': [ENCRYPTION, "the KMS key for --sse aws:kms (default: the server's)"],
};

const textOptions = (flags: Record<string, [string, string]>) =>
  Object.fromEntries(Object.entries(flags).map(([name, [group, describe]]) => [name, { type: 'string' as const, group, describe }]));

/** `cp`'s own flags and examples (the shared ones come from globalOptions). */
function cpFlags<T>(y: Argv<T>) {
  return y
    .positional('source', { describe: 'local path, s3://bucket/key, or - for standard input' })
    .positional('destination', { type: 'string', describe: 'local path, s3://bucket/key (a trailing / means a directory or prefix), or - for standard output' })
    .option('recursive', { alias: 'r', type: 'boolean', default: false, describe: 'copy the contents of a directory or prefix' })
    .option('update', { alias: 'u', type: 'boolean', default: false, describe: 'copy only what is missing or newer at the destination (an unchanged tree costs only its LIST pages)' })
    .option('include', { type: 'string', array: true, describe: 'copy paths matching GLOB (repeatable; in order, last match wins)', group: 'Filters:' })
    .option('exclude', { type: 'string', array: true, describe: 'skip paths matching GLOB (a pattern without / matches the base name)', group: 'Filters:' })
    .option('min-size', { type: 'string', describe: 'copy only files (objects) of at least SIZE (trees)', group: 'Filters:' })
    .option('max-size', { type: 'string', describe: 'copy only files (objects) of at most SIZE (trees)', group: 'Filters:' })
    .option('min-age', { type: 'string', describe: 'copy only what was modified at least DURATION ago (mtime; LastModified for objects)', group: 'Filters:' })
    .option('max-age', { type: 'string', describe: 'copy only what was modified at most DURATION ago', group: 'Filters:' })
    .option('newer-than', { type: 'string', describe: 'copy only what was modified after TIME (2026-01-01, 2026-01-01T10:00:00Z) or within DURATION', group: 'Filters:' })
    .option('older-than', { type: 'string', describe: 'copy only what was modified before TIME, or at least DURATION ago', group: 'Filters:' })
    .option('bwlimit', { type: 'string', describe: 'cap the run at RATE, uploads and downloads together (e.g. 50MiB/s; 0 = no limit)' })
    .option('version-id', { type: 'string', describe: 'download or copy this version of a single object (versioned buckets)' })
    .option('bigfile-threshold', { type: 'string', describe: 'multipart upload / parallel ranged download at or above this size (default: 16MiB)' })
    .option('part-size', { type: 'string', describe: 'part size (default: auto, 8MiB or more so a file needs at most 10,000 parts, 64MiB for server-side copies; minimum 5MiB)' })
    .option('chunk-size', { type: 'string', describe: 'a resumed download refetches at most this much per range in flight (default: 1MiB)' })
    .option('parallel', { type: 'string', describe: `parts or ranges in flight per file (default: ${DEFAULTS.parallel})` })
    .option('jobs', { alias: 'j', type: 'string', describe: `files in flight at once (default: ${DEFAULTS.jobs})` })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print what would be copied or skipped, and why; write nothing' })
    .option('shard', {
      type: 'string',
      describe: "copy only share INDEX of COUNT (0-based, e.g. 0/4 … 3/4), chosen by a hash of each file's relative path; needs -r",
      group: 'Splitting a tree between workers:',
    })
    .option('shards', {
      type: 'string',
      describe: 'like --shard JOB_COMPLETION_INDEX/COUNT: the index from the variable a Kubernetes Indexed Job sets',
      group: 'Splitting a tree between workers:',
    })
    .option('fsync', { type: 'boolean', default: false, describe: 'flush each downloaded file to disk before renaming it into place (survives power loss; slower)' })
    .option('metadata-directive', {
      type: 'string',
      describe: "S3 → S3: COPY the source's metadata and headers (default) or REPLACE them with --metadata and the header flags",
      group: 'S3 → S3 copies:',
    })
    .option('source-endpoint-url', { type: 'string', describe: "the source's endpoint, when it is another server (bytes stream through s3xfer)", group: 'S3 → S3 copies:' })
    .option('source-profile', { type: 'string', describe: "AWS profile for the source (another account); its endpoint_url too", group: 'S3 → S3 copies:' })
    .option('source-region', { type: 'string', describe: "the source bucket's region (default: the source profile's, else the destination's)", group: 'S3 → S3 copies:' })
    .option('source-ca-bundle', { type: 'string', describe: "PEM file of the CAs to trust for an https:// source (default: --ca-bundle's)", group: 'S3 → S3 copies:' })
    .option('source-no-verify-ssl', { type: 'boolean', describe: "do not check the source's TLS certificate (insecure)", group: 'S3 → S3 copies:' })
    .option('guess-mime-type', { type: 'boolean', describe: 'guess Content-Type from the extension (--no-guess-mime-type: leave it to the server)', group: OBJECT })
    .options(textOptions(OBJECT_FLAGS))
    .example('$0 cp big.iso s3://backups/isos/', 'upload a file (key isos/big.iso)')
    .example('$0 cp -r -u ./data s3://backups/data/ --checkpoint-dir .ckpt', 'upload what changed in a tree; resumable')
    .example('$0 cp -r s3://backups/data/ ./restore/', 'download everything under a prefix')
    .example("$0 cp -r ./src s3://b/src/ --exclude '*' --include '*.ts'", 'only TypeScript files')
    .example('tar c dir | $0 cp - s3://backups/dir.tar', 'upload standard input')
    .example('$0 cp s3://backups/dir.tar - | tar x', 'download to standard output')
    .example('$0 cp -r ./logs s3://b/logs/ --min-age 1d --max-size 1GiB --bwlimit 20MiB/s', 'day-old logs up to 1 GiB, at most 20 MiB/s')
    .example('$0 cp s3://b/report.pdf . --version-id 3HL4kqtJlcpXroDTDmJ', 'an earlier version of an object')
    .example('$0 cp -r s3://old/data/ s3://new/data/ --checkpoint-dir .ckpt', 'server-side copy of a prefix; resumable')
    .example('$0 cp -r s3://a/p/ s3://b/p/ --source-endpoint-url https://old:9000', 'from another server (streamed; --source-profile for another account)')
    .example('$0 cp s3://b/x s3://b/y --metadata-directive REPLACE --metadata k=v', 'copy with new metadata (and --content-type)')
    .example("$0 cp -r ./site s3://www/ --cache-control 'max-age=300' --acl public-read", 'a static site: Content-Type guessed per file')
    .example('$0 cp db.dump s3://vault/ --sse-c AES256 --sse-c-key fileb://db.key', 'encrypted with your own key (download with the same flags)')
    .example('$0 cp -r ./data s3://b/data/ --shard 2/4', 'the third of four disjoint shares of a tree (run 0/4 … 3/4 at once)');
}

/** What a subcommand's handler needs: where to put the command it parsed, and how to read the config. */
interface Found {
  env: NodeJS.ProcessEnv;
  configFor: (a: Raw) => ReturnType<typeof loadConfig>;
  set: (command: Command) => void;
}

function checkpointCommands<T>(y: Argv<T>, found: Found) {
  return y
    .command('ls', 'one row per checkpoint: transfer, progress, state', {}, async (a) => {
      found.set({ name: 'checkpoint ls', options: commonFrom(a, found.env, await found.configFor(a)) });
    })
    .command(
      'show <id>',
      'everything a checkpoint knows, with a map of the parts done',
      (c) => c.positional('id', { type: 'string', describe: 'checkpoint id, or a unique prefix of it' }),
      async (a) => {
        found.set({ name: 'checkpoint show', id: String(a.id), options: commonFrom(a, found.env, await found.configFor(a)) });
      },
    )
    .command(
      'clean [ids..]',
      'remove checkpoints; abort their uploads on the server, delete their temp files',
      (c) =>
        c
          .positional('ids', { type: 'string', array: true, describe: 'checkpoint ids or unique prefixes' })
          .option('all', { type: 'boolean', default: false, describe: 'every checkpoint in the directory' })
          .option('older-than', { type: 'string', describe: 'only those last updated longer ago than DURATION (e.g. 7d)' }),
      async (a) => {
        const ids = (a.ids ?? []).map(String);
        if (!a.all && ids.length === 0) throw new UsageError('name the checkpoints to clean (ids from `s3xfer checkpoint ls`) or use --all');
        found.set({ name: 'checkpoint clean', ids, all: a.all, olderThanMs: durationOf(a['older-than']), options: commonFrom(a, found.env, await found.configFor(a)) });
      },
    )
    .demandCommand(1, 'name a subcommand: ls, show or clean');
}

function uploadsCommands<T>(y: Argv<T>, found: Found) {
  return y
    .command(
      'ls <url>',
      'list incomplete uploads under s3://bucket[/prefix], with size and age',
      (c) => c.positional('url', { type: 'string', describe: 's3://bucket[/prefix]' }),
      async (a) => {
        found.set({ name: 'uploads ls', url: String(a.url), options: commonFrom(a, found.env, await found.configFor(a)) });
      },
    )
    .command(
      'abort <url>',
      'abort incomplete uploads under s3://bucket[/prefix] (those a checkpoint still needs only with --force)',
      (c) =>
        c
          .positional('url', { type: 'string', describe: 's3://bucket[/prefix]' })
          .option('older-than', { type: 'string', describe: 'only uploads started longer ago than DURATION (e.g. 1d)' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'say what would be aborted; abort nothing' })
          .option('force', { type: 'boolean', default: false, describe: 'abort uploads that a checkpoint still needs too' }),
      async (a) => {
        found.set({
          name: 'uploads abort',
          url: String(a.url),
          olderThanMs: durationOf(a['older-than']),
          dryRun: a['dry-run'],
          force: a.force,
          options: commonFrom(a, found.env, await found.configFor(a)),
        });
      },
    )
    .demandCommand(1, 'name a subcommand: ls or abort');
}

/**
 * yargs renders the whole help text after every command it runs, to have it
 * ready should the command's promise reject (26 ms of a 240 ms start-up,
 * measured by profile). Our fail() handler never prints help, so that text is
 * never used: skip it. Guarded: a yargs without this internal hook just renders it.
 */
function skipHelpCache(parser: unknown): void {
  type Internals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = (parser as Internals).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** argv → a typed command. Pure apart from printing --help/--version/completion through yargs. */
export async function parseArgs(
  argv: string[],
  io: { stdout: NodeJS.WritableStream; version: string; env: NodeJS.ProcessEnv },
): Promise<Command> {
  let command: Command = { name: 'none' };
  let output = '';
  // The config file is read only when a command runs: --help and --version never fail on it.
  const configFor = (a: Raw) => loadConfig(a.config as string | undefined, io.env);
  const found: Found = { env: io.env, configFor, set: (c) => (command = c) };
  const parser = globalOptions(yargs(argv))
    .scriptName('s3xfer')
    .usage('$0 <command> [options]\n\nCopy files between local disks and S3-compatible object stores; resume after any interruption.')
    .command(
      'cp <source> <destination>',
      'copy a file or a tree (-r) to or from S3, or between S3 keys (copied by the server)',
      cpFlags,
      async (a) => {
        command = { name: 'cp', options: cpFrom(a, argv, io.env, await configFor(a)) };
      },
    )
    .command(
      'sync <source> <destination>',
      'make a destination tree like the source: cp -r -u, and with --delete remove what the source no longer has',
      (y) =>
        cpFlags(y)
          .option('delete', { type: 'boolean', describe: 'remove destination files/objects the source does not have, only after every copy succeeded (env S3XFER_DELETE)' })
          .example('$0 sync ./data s3://backups/data/ --delete', 'mirror a directory; remove objects whose files are gone')
          .example('$0 sync s3://backups/data/ ./restore/ --delete --dry-run', 'show what a restore would copy and delete'),
      async (a) => {
        command = { name: 'sync', options: syncFrom(a, argv, io.env, await configFor(a)) };
      },
    )
    .command('checkpoint', 'list, show and clean resumable checkpoints', (y) => checkpointCommands(y, found))
    .command(
      'resume [ids..]',
      'finish interrupted transfers from their checkpoints, with the options they recorded; one recorded for another endpoint or profile needs --endpoint-url / --profile equal to it',
      (y) =>
        y
          .positional('ids', { type: 'string', array: true, describe: 'checkpoint ids or unique prefixes' })
          .option('all', { type: 'boolean', default: false, describe: 'every resumable checkpoint in the directory (those needing confirmation are skipped: exit 2)' })
          .option('bwlimit', { type: 'string', describe: 'cap the transfers at RATE (e.g. 50MiB/s; 0 = no limit)' }),
      async (a) => {
        const ids = (a.ids ?? []).map(String);
        if (!a.all && ids.length === 0) throw new UsageError('name the checkpoints to resume (ids from `s3xfer checkpoint ls`) or use --all');
        const config = await configFor(a);
        command = { name: 'resume', ids, all: a.all, bwlimit: bwlimitFrom(a, io.env, config), options: commonFrom(a, io.env, config) };
      },
    )
    .command('uploads', 'incomplete multipart uploads on the server', (y) => uploadsCommands(y, found))
    .completion('completion', 'print a bash/zsh completion script (s3xfer completion >> ~/.bashrc)')
    .demandCommand(1, 'name a command: s3xfer cp SOURCE DESTINATION (see s3xfer --help)')
    .strict()
    .recommendCommands()
    .version(io.version)
    .help()
    .alias('h', 'help')
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`${msg ?? err?.message ?? 'invalid arguments'} (see s3xfer --help)`);
    });
  skipHelpCache(parser);
  await parser.parseAsync(argv, {}, (_err, _argv, out) => {
    output = out;
  });
  if (output) io.stdout.write(`${output}\n`);
  return command;
}
