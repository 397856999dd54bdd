import { type Command, InvalidArgumentError } from 'commander';

function workerCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 256) throw new InvalidArgumentError('must be a whole number from 1 to 256');
  return Number(value);
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

/** `serve` and `migrate`: this machine's server and database. The server's code loads only when `serve` runs. */
export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('start the server (production mode unless --dev)')
    .option('--dev', 'development mode: generate a key secret, create DEVELOPMENT and a demo client on an empty database')
    .option('--workers <n>', 'worker processes sharing the port (default: one per core; 1 with --dev)', workerCount)
    .action(async (options: { dev?: boolean; workers?: number }) => {
      const { serve } = await import('./serve.ts');
      await serve({ dev: options.dev === true, ...(options.workers ? { workers: options.workers } : {}) });
    });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const [{ loadConfig }, { openStore }] = await Promise.all([import('../config/config.ts'), import('../store/open.ts')]);
      const config = loadConfig();
      const store = openStore(config.databaseUrl);
      try {
        await store.migrate();
        const result = { database: redactUrl(config.databaseUrl), status: 'up to date' };
        if (options.json) console.log(JSON.stringify(result));
        else console.log(`${result.database}: ${result.status}`);
      } finally {
        await store.close();
      }
    });
}
