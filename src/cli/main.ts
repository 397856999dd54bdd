import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminError, MAX_QUOTA } from '../admin/admin-service.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import type { RefreshTokenPolicy, SubjectType } from '../domain/model.ts';
import { CLIENT_GRANT_TYPES } from '../oauth/grants/index.ts';
import { openStore } from '../store/open.ts';
import { registerAdminApiCommands } from './admin-api-commands.ts';
import { registerApiCommands } from './api-commands.ts';
import { registerApplyCommands } from './apply-commands.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerBrandingCommands } from './branding-commands.ts';
import { addClientDpopOptions, clientDpopChanges } from './client-dpop-options.ts';
import { registerClientMetadataDocumentCommands } from './client-metadata-document-commands.ts';
import { addClientOidcOptions, clientOidcChanges } from './client-oidc-options.ts';
import { useServer, withAdmin } from './context.ts';
import { registerImportCommands } from './import-commands.ts';
import { lastUsed, printClientDetails, printKeyValues, printTable } from './output.ts';
import { addClientParOptions, addEnvironmentParOptions, clientParChanges, environmentParChanges } from './par-options.ts';
import { registerRegistrationCommands } from './registration-commands.ts';
import { serve } from './serve.ts';
import { registerKeyCommands, registerServiceAccountCommands } from './service-account-commands.ts';
import { registerSignInCommands } from './sign-in-commands.ts';
import { registerSigningKeyCommands } from './signing-key-commands.ts';
import { registerUserCommands } from './user-commands.ts';

const program = new Command('gatehouse')
  .description('Gatehouse: an OAuth 2.0 authorization server')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

// --server: data commands go through a running node's admin API (docs/cli.md, "The CLI against a running node").
const serverOption = () => new Option('--server <url>', 'work on a running node through its admin API (its admin listener; credentials from the environment)');
program.addOption(serverOption());
program.hook('preAction', (_program, action) => useServer(serverFor(action)));

program
  .command('serve')
  .description('start the server (production mode unless --dev)')
  .option('--dev', 'development mode: generate a key secret, create DEVELOPMENT and a demo client on an empty database')
  .option('--workers <n>', 'worker processes sharing the port (default: one per core; 1 with --dev)', workerCount)
  .action(async (options: { dev?: boolean; workers?: number }) =>
    serve({ dev: options.dev === true, ...(options.workers ? { workers: options.workers } : {}) }),
  );

program
  .command('migrate')
  .description('apply pending database migrations')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
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

function workerCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 256) throw new InvalidArgumentError('must be a whole number from 1 to 256');
  return Number(value);
}

const json = new Option('--json', 'print JSON');
const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();
const collect = (value: string, previous: string[] = []) => [...previous, value];
const scopeList = (value: string) => value.split(/\s+/).filter(Boolean);
const positiveInt = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(value);
};

const quotaValue = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_QUOTA) {
    throw new InvalidArgumentError(`a quota is a whole number of requests per window, 1..${MAX_QUOTA}`);
  }
  return Number(value);
};
const quotaOption = (description: string) => new Option('--quota <n>', description).argParser(quotaValue).conflicts('unlimited');
const unlimitedOption = (description: string) => new Option('--unlimited', description).conflicts('quota');

/** The quota `set-quota` asks for: a number, or null for `--unlimited`; exactly one of the two. */
function chosenQuota(options: { quota?: number; unlimited?: boolean }, command: Command): number | null {
  if (options.unlimited) return null;
  if (options.quota === undefined) command.error('error: give either --quota <n> or --unlimited');
  return options.quota;
}

const env = program.command('env').description('manage environments');
env
  .command('create <name>')
  .description('create an environment (its own issuer, keys, clients and tokens)')
  .addOption(json)
  .action(
    withAdmin(async ({ admin }, name: string, options: { json?: boolean }) => {
      const created = await admin.createEnvironment(name);
      if (options.json) console.log(JSON.stringify(created));
      else printKeyValues(created);
    }),
  );
env
  .command('list')
  .description('list environments')
  .addOption(json)
  .action(
    withAdmin(async ({ admin }, options: { json?: boolean }) => {
      const envs = await admin.listEnvironments();
      if (options.json) console.log(JSON.stringify(envs));
      else printTable(envs, ['name', 'issuer', 'default_quota', 'subject_type', 'refresh_token_policy', 'created_at']);
    }),
  );
env
  .command('set-quota <name>')
  .description('set the default request quota of the clients of an environment that set none of their own (running servers see it within GATEHOUSE_CACHE_TTL)')
  .addOption(quotaOption('requests per quota window (GATEHOUSE_QUOTA_WINDOW) for each such client'))
  .addOption(unlimitedOption('remove the default quota: clients without a quota of their own are unlimited'))
  .addOption(json)
  .action(async (name: string, options: { quota?: number; unlimited?: boolean; json?: boolean }, command: Command) => {
    const quota = chosenQuota(options, command);
    await withAdmin(async ({ admin, config }) => {
      const updated = await admin.setEnvironmentQuota(name, quota);
      if (options.json) console.log(JSON.stringify(updated));
      else if (quota === null) console.log(`environment ${name}: no default quota (clients without a quota of their own are unlimited)`);
      else console.log(`environment ${name}: default quota ${quota} requests per ${config.quotaWindow} s`);
    })();
  });

env
  .command('show <name>')
  .description('show an environment with its settings')
  .addOption(json)
  .action(
    withAdmin(async ({ admin }, name: string, options: { json?: boolean }) => {
      const shown = await admin.getEnvironment(name);
      if (options.json) console.log(JSON.stringify(shown));
      else printKeyValues(shown);
    }),
  );
addEnvironmentParOptions(
  env
    .command('update <name>')
    .description(
      'change the OpenID Connect, DPoP, pushed-request and security-profile settings of an environment (running servers see them within GATEHOUSE_CACHE_TTL)',
    )
    .addOption(
      new Option('--subject-type <type>', 'the sub of clients that choose none: public (the user id) or pairwise (one per client sector)').choices([
        'public',
        'pairwise',
      ]),
    )
    .addOption(
      new Option(
        '--refresh-token-policy <policy>',
        'client: user flows get a refresh token whenever the client may refresh; offline_access: only when the user granted offline_access',
      ).choices(['client', 'offline_access']),
    )
    .addOption(new Option('--dpop-nonce-required', 'DPoP proofs at the token endpoint must carry a server nonce (RFC 9449 §8)'))
    .addOption(new Option('--no-dpop-nonce-required', 'DPoP proofs need no server nonce'))
    .addOption(json),
).action(async (name: string, options: EnvUpdateOptions, command: Command) => {
  const parChanges = environmentParChanges(options);
  if (
    options.subjectType === undefined &&
    options.refreshTokenPolicy === undefined &&
    options.dpopNonceRequired === undefined &&
    Object.keys(parChanges).length === 0
  ) {
    command.error(
      'error: give --subject-type and/or --refresh-token-policy (or --[no-]dpop-nonce-required, --[no-]require-pushed-authorization-requests, --security-profile)',
    );
  }
  await withAdmin(async ({ admin }) => {
    const changes = {
      ...(options.subjectType ? { subjectType: options.subjectType } : {}),
      ...(options.refreshTokenPolicy ? { refreshTokenPolicy: options.refreshTokenPolicy } : {}),
      ...parChanges,
    };
    const settingsGiven = changes.subjectType !== undefined || changes.refreshTokenPolicy !== undefined || Object.keys(parChanges).length > 0;
    let updated = settingsGiven ? await admin.updateEnvironment(name, changes) : undefined;
    if (options.dpopNonceRequired !== undefined) updated = await admin.setDpopNonceRequired(name, options.dpopNonceRequired);
    if (options.json) console.log(JSON.stringify(updated));
    else printKeyValues(updated as NonNullable<typeof updated>);
  })();
});

type EnvUpdateOptions = {
  subjectType?: SubjectType;
  refreshTokenPolicy?: RefreshTokenPolicy;
  dpopNonceRequired?: boolean;
  json?: boolean;
};

const client = program.command('client').description('manage clients');
addClientParOptions(
  addClientOidcOptions(
    client
      .command('create')
      .description('register a client; a confidential client gets a secret, shown once')
      .addOption(envOption())
      .requiredOption('--name <label>', 'display name')
      .option('--grant-type <grant>', `allowed grant type (repeatable; default client_credentials): ${CLIENT_GRANT_TYPES.join(', ')}`, collect)
      .option('--scope <scopes>', 'allowed scopes, space-separated', scopeList)
      .option('--default-scope <scopes>', 'scopes granted when none is requested (default: all allowed)', scopeList)
      .option('--redirect-uri <uri>', 'registered redirect URI (repeatable)', collect)
      .option('--public', 'a public client (no secret)')
      .addOption(new Option('--token-format <format>', 'access-token format').choices(['jwt', 'opaque']).default('jwt'))
      .option('--access-token-ttl <seconds>', 'access-token lifetime', positiveInt)
      .option('--resource-server', 'may introspect every token of its environment')
      .option('--allow-missing-pkce', 'a confidential code-flow client that may omit PKCE at surfaces allowing it (RightSignature)')
      .option('--quota <n>', "requests per quota window (GATEHOUSE_QUOTA_WINDOW); default: the environment's default quota", quotaValue)
      .addOption(json),
    false,
  ),
).action(
  withAdmin(async ({ admin }, options: Record<string, unknown>) => {
    const created = await admin.createClient({
      env: options.env as string,
      name: options.name as string,
      grantTypes: options.grantType as string[] | undefined,
      scopes: options.scope as string[] | undefined,
      defaultScopes: options.defaultScope as string[] | undefined,
      redirectUris: options.redirectUri as string[] | undefined,
      kind: options.public ? 'public' : 'confidential',
      tokenFormat: options.tokenFormat as 'jwt' | 'opaque',
      accessTokenTtl: (options.accessTokenTtl as number | undefined) ?? null,
      introspectAny: options.resourceServer === true,
      allowMissingPkce: options.allowMissingPkce === true,
      quota: (options.quota as number | undefined) ?? null,
      ...clientOidcChanges(options),
      ...clientDpopChanges(options),
      ...clientParChanges(options),
    });
    if (options.json) console.log(JSON.stringify(created));
    else {
      printKeyValues(created);
      if (created.client_secret) console.log('\nStore the client_secret now: Gatehouse keeps only its hash.');
    }
  }),
);
client
  .command('list')
  .description('list the clients of an environment')
  .addOption(envOption())
  .addOption(json)
  .action(
    withAdmin(async ({ admin }, options: { env: string; json?: boolean }) => {
      const clients = await admin.listClients(options.env);
      if (options.json) console.log(JSON.stringify(clients));
      else
        printTable(
          clients.map((c) => ({ ...c, last_used: lastUsed(c.last_used_at) })),
          ['client_id', 'name', 'type', 'grant_types', 'token_format', 'enabled', 'last_used'],
        );
    }),
  );
client
  .command('show <client-id>')
  .description('show one client')
  .addOption(envOption())
  .addOption(json)
  .action(
    withAdmin(async ({ admin }, clientId: string, options: { env: string; json?: boolean }) => {
      const shown = await admin.showClient(options.env, clientId);
      if (options.json) console.log(JSON.stringify(shown));
      else printClientDetails(shown);
    }),
  );
addClientParOptions(
  addClientOidcOptions(
    client
      .command('update <client-id>')
      .description('change a client: its name, redirect URIs or OpenID Connect metadata (absent flags keep their value)')
      .addOption(envOption())
      .option('--name <label>', 'display name')
      .option('--redirect-uri <uri>', 'registered redirect URI (repeatable; replaces the list)', collect)
      .addOption(json),
    true,
  ),
).action(
  withAdmin(async ({ admin }, clientId: string, options: Record<string, unknown>) => {
    const changes = {
      ...(typeof options.name === 'string' ? { name: options.name } : {}),
      ...(Array.isArray(options.redirectUri) ? { redirectUris: options.redirectUri as string[] } : {}),
      ...clientOidcChanges(options),
      ...clientDpopChanges(options),
      ...clientParChanges(options),
    };
    if (Object.keys(changes).length === 0) throw new Error('nothing to change: give at least one flag (see --help)');
    const updated = await admin.updateClient(options.env as string, clientId, changes);
    if (options.json) console.log(JSON.stringify(updated));
    else printKeyValues(updated);
  }),
);
// RFC 9449 §5.2 flags of client create and update.
for (const name of ['create', 'update']) addClientDpopOptions(client.commands.find((c) => c.name() === name) as Command);
client
  .command('rotate-secret <client-id>')
  .description('issue a new secret; the old one keeps working during the overlap')
  .addOption(envOption())
  .option('--overlap <seconds>', 'how long the previous secret stays valid (default GATEHOUSE_SECRET_ROTATION_OVERLAP)', positiveInt)
  .addOption(json)
  .action(
    withAdmin(async ({ admin }, clientId: string, options: { env: string; overlap?: number; json?: boolean }) => {
      const rotated = await admin.rotateClientSecret(options.env, clientId, options.overlap);
      if (options.json) console.log(JSON.stringify(rotated));
      else printKeyValues(rotated);
    }),
  );
for (const [name, enabled] of [
  ['disable', false],
  ['enable', true],
] as const) {
  client
    .command(`${name} <client-id>`)
    .description(`${name} a client`)
    .addOption(envOption())
    .addOption(json)
    .action(
      withAdmin(async ({ admin }, clientId: string, options: { env: string; json?: boolean }) => {
        const updated = await admin.setClientEnabled(options.env, clientId, enabled);
        if (options.json) console.log(JSON.stringify(updated));
        else console.log(`client ${clientId} ${enabled ? 'enabled' : 'disabled'}`);
      }),
    );
}
client
  .command('set-quota <client-id>')
  .description('set the request quota of a client (token, introspection and revocation requests per quota window)')
  .addOption(envOption())
  .addOption(quotaOption('requests per quota window (GATEHOUSE_QUOTA_WINDOW)'))
  .addOption(unlimitedOption("remove the client's own quota: the environment's default quota applies (unlimited if it has none)"))
  .addOption(json)
  .action(async (clientId: string, options: { env: string; quota?: number; unlimited?: boolean; json?: boolean }, command: Command) => {
    const quota = chosenQuota(options, command);
    await withAdmin(async ({ admin, config }) => {
      const updated = await admin.setClientQuota(options.env, clientId, quota);
      if (options.json) console.log(JSON.stringify(updated));
      else if (quota === null) console.log(`client ${clientId}: no quota of its own (the environment's default applies)`);
      else console.log(`client ${clientId}: quota ${quota} requests per ${config.quotaWindow} s`);
    })();
  });

registerSigningKeyCommands(program, env);
registerServiceAccountCommands(program);
registerUserCommands(program);
registerImportCommands(program);
registerKeyCommands(client, 'client');
registerApiCommands(program);
registerBrandingCommands(program);
registerAuditCommands(program);
registerAdminApiCommands(program);
registerApplyCommands(program);
registerRegistrationCommands(program);
registerClientMetadataDocumentCommands(program);
registerSignInCommands(program);

/** Commands that act on this machine's database or process only (`import` writes the store directly). */
const LOCAL_ONLY = new Set(['serve', 'migrate', 'admin bootstrap', 'import']);

function serverFor(action: Command): string | undefined {
  const server = (action.optsWithGlobals() as { server?: string }).server;
  if (server === undefined) return undefined;
  const path = [action.parent?.parent ? action.parent.name() : '', action.name()].filter(Boolean).join(' ');
  if (LOCAL_ONLY.has(path)) throw new Error(`${path} works on this machine only: run it without --server`);
  return server;
}

/** Every command that runs something: `--server` may follow its other options too. */
function leaves(command: Command): Command[] {
  return command.commands.length === 0 ? [command] : command.commands.flatMap(leaves);
}
for (const command of leaves(program)) command.addOption(serverOption());

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof AdminError || error instanceof ConfigError) {
    process.stderr.write(`gatehouse: ${error.message}\n`);
    process.exit(error instanceof ConfigError ? 78 : 1);
  }
  process.stderr.write(`gatehouse: ${(error as Error).message}\n`);
  process.exit(1);
}
