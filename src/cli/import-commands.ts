import { type Command, InvalidArgumentError, Option } from 'commander';
import { systemClock } from '../domain/clock.ts';
import { checkSourceId } from '../import/source-id.ts';
import { IMPORT_SOURCES } from '../import/sources.ts';
import { withLocalAdmin } from './context.ts';

const batchSize = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000');
  return Number(value);
};

const sourceId = (value: string) => {
  try {
    return checkSourceId(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

interface ImportCommandOptions {
  from: string;
  sourceId?: string;
  env: string;
  dryRun?: boolean;
  json?: boolean;
  usersTable?: string;
  batchSize?: number;
}

/** `import SOURCE`: clients, secrets, users and live tokens from another provider, kept as they are. */
export function registerImportCommands(program: Command): void {
  const names = Object.keys(IMPORT_SOURCES);
  program
    .command('import <source>')
    .description(`import clients, users and live tokens from another provider (${names.join(', ')}); safe to run again`)
    .requiredOption('--from <url>', 'the source database URL (for jsonl: a file, or - for standard input)')
    .addOption(new Option('--env <name>', 'environment to import into').makeOptionMandatory())
    .addOption(
      new Option(
        '--source-id <name>',
        "a stable name for this source: its records are kept apart from every other source's (default: the database URL without credentials, or the file's absolute path)",
      ).argParser(sourceId),
    )
    .option('--dry-run', 'report what would be imported, updated, skipped and refused, writing nothing')
    .option('--users-table <name>', 'doorkeeper: the Devise table holding the users')
    .addOption(new Option('--batch-size <n>', 'records per transaction').argParser(batchSize).default(200))
    .option('--json', 'print JSON')
    .action(
      withLocalAdmin(async ({ store, config }, sourceName: string, options: ImportCommandOptions) => {
        const reader = IMPORT_SOURCES[sourceName];
        if (!reader) throw new Error(`unknown import source ${sourceName} (known: ${names.join(', ')})`);
        const env = await store.environments.findByName(options.env);
        if (!env) throw new Error(`no environment named ${options.env}`);
        const id = options.sourceId ?? reader.defaultSourceId(options.from);
        const { formatReport, reportJson, runImport } = await import('../import/engine.ts');
        const source = await reader.open({ from: options.from, usersTable: options.usersTable });
        try {
          const report = await runImport(source.records, {
            env,
            store,
            clock: systemClock,
            lifetimes: { refreshTokenIdleTtl: config.refreshTokenIdleTtl, refreshTokenAbsoluteTtl: config.refreshTokenAbsoluteTtl },
            sourceId: id,
            dryRun: options.dryRun === true,
            ...(options.batchSize ? { batchSize: options.batchSize } : {}),
          });
          if (options.json) console.log(JSON.stringify(reportJson(report, env.name)));
          else process.stdout.write(formatReport(report, env.name));
        } finally {
          await source.close();
        }
      }),
    );
}
