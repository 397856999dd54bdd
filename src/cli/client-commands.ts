import { type Command, Option } from 'commander';
import { ASSIGNABLE_CLIENT_GRANT_TYPES } from '../oauth/grants/grant-types.ts';
import { addClientDpopOptions, clientDpopChanges } from './client-dpop-options.ts';
import { addClientOidcOptions, clientOidcChanges } from './client-oidc-options.ts';
import { chosenQuota, collect, envOption, json, positiveInt, quotaOption, quotaValue, scopeList, unlimitedOption } from './command-options.ts';
import { withAdmin } from './context.ts';
import { lastUsed, printClientDetails, printKeyValues, printTable } from './output.ts';
import { addClientParOptions, clientParChanges } from './par-options.ts';

/** `client create|list|show|update|rotate-secret|disable|enable|set-quota`; returns the `client` command for the commands added under it elsewhere. */
export function registerClientCommands(program: Command): Command {
  const client = program.command('client').description('manage clients');
  addCreate(client);
  addListAndShow(client);
  addUpdate(client);
  // RFC 9449 §5.2 flags of client create and update.
  for (const name of ['create', 'update']) addClientDpopOptions(client.commands.find((c) => c.name() === name) as Command);
  addRotateAndEnable(client);
  addSetQuota(client);
  return client;
}

function addCreate(client: Command): void {
  addClientParOptions(
    addClientOidcOptions(
      client
        .command('create')
        .description('register a client; a confidential client gets a secret, shown once')
        .addOption(envOption())
        .requiredOption('--name <label>', 'display name')
        .option('--grant-type <grant>', `allowed grant type (repeatable; default client_credentials): ${ASSIGNABLE_CLIENT_GRANT_TYPES.join(', ')}`, collect)
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
}

function addListAndShow(client: Command): void {
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
}

function addUpdate(client: Command): void {
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
}

function addRotateAndEnable(client: Command): void {
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
}

function addSetQuota(client: Command): void {
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
}
