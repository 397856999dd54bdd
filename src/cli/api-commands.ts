import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ApiView, parseApiScope } from '../admin/apis.ts';
import type { ApiScope, TokenFormat } from '../domain/model.ts';
import { withAdmin } from './context.ts';
import { printKeyValues, printTable } from './output.ts';

const json = () => new Option('--json', 'print JSON');
const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();
const collect = (value: string, previous: string[] = []) => [...previous, value];
const collectScope = (value: string, previous: ApiScope[] = []) => [...previous, parseApiScope(value)];
const seconds = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(value);
};
const tokenFormat = () => new Option('--token-format <format>', 'access-token format for this API').choices(['jwt', 'opaque']);
const ttl = () =>
  new Option('--access-token-ttl <seconds>', 'access-token lifetime for this API (capped by GATEHOUSE_MAX_ACCESS_TOKEN_TTL)').argParser(seconds);
const scopeOption = (what: string) =>
  new Option('--scope <name:description>', `${what} (repeatable), e.g. "invoices:read:Read your invoices"`).argParser(collectScope);

interface ApiOptions {
  env: string;
  name?: string;
  scope?: ApiScope[];
  tokenFormat?: TokenFormat;
  accessTokenTtl?: number;
  client?: string[];
  default?: boolean;
  json?: boolean;
}

/** One API as `show` prints it: each scope on its own line with its description. */
function printApi(api: ApiView, asJson: boolean | undefined): void {
  if (asJson) {
    console.log(JSON.stringify(api));
    return;
  }
  const { scopes, ...rest } = api;
  printKeyValues(rest);
  console.log('scopes');
  if (scopes.length === 0) console.log('  (none)');
  for (const scope of scopes) console.log(`  ${scope.name}${scope.description ? `  ${scope.description}` : ''}`);
}

/** `api create|list|show|update|allow-client|deny-client|delete`. */
export function registerApiCommands(program: Command): void {
  const api = program.command('api').description('manage the APIs (RFC 8707 resources) tokens are issued for');
  registerApiCreate(api);
  api
    .command('list')
    .description('list the APIs of an environment')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ apis }, options: { env: string; json?: boolean }) => {
        const list = await apis.list(options.env);
        if (options.json) console.log(JSON.stringify(list));
        else
          printTable(
            list.map((a) => ({ ...a, scopes: a.scopes.map((s) => s.name) })),
            ['identifier', 'name', 'default', 'token_format', 'scopes', 'clients'],
          );
      }),
    );
  api
    .command('show <identifier>')
    .description('show an API with its scopes and clients')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ apis }, identifier: string, options: { env: string; json?: boolean }) =>
        printApi(await apis.show(options.env, identifier), options.json),
      ),
    );
  registerApiUpdate(api);
  registerApiClientCommands(api);
  api
    .command('delete <identifier>')
    .description('delete an API; tokens already issued for it stay valid until they expire')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ apis }, identifier: string, options: { env: string; json?: boolean }) => {
        const deleted = await apis.delete(options.env, identifier);
        if (options.json) console.log(JSON.stringify(deleted));
        else printKeyValues(deleted);
      }),
    );
}

function registerApiCreate(api: Command): void {
  api
    .command('create')
    .description('register an API: tokens requested with resource=IDENTIFIER carry it as aud')
    .addOption(envOption())
    .requiredOption('--identifier <uri>', 'absolute URI without a fragment, e.g. https://api.example.com/billing')
    .requiredOption('--name <name>', 'display name')
    .addOption(scopeOption('a scope the API defines'))
    .addOption(tokenFormat())
    .addOption(ttl())
    .option('--client <client_id>', 'a client that may obtain tokens for the API (repeatable)', collect)
    .option('--default', "the environment's default API: a request naming no resource gets a token for it")
    .addOption(json())
    .action(
      withAdmin(async ({ apis }, options: ApiOptions & { identifier: string; name: string }) => {
        const created = await apis.create({
          env: options.env,
          identifier: options.identifier,
          name: options.name,
          scopes: options.scope ?? [],
          ...(options.tokenFormat ? { tokenFormat: options.tokenFormat } : {}),
          accessTokenTtl: options.accessTokenTtl ?? null,
          clientIds: options.client ?? [],
          isDefault: options.default === true,
        });
        printApi(created, options.json);
      }),
    );
}

function registerApiUpdate(api: Command): void {
  api
    .command('update <identifier>')
    .description('change an API; options not given keep their value')
    .addOption(envOption())
    .option('--name <name>', 'display name')
    .addOption(scopeOption('replaces the scopes with these'))
    .addOption(tokenFormat())
    .addOption(ttl().conflicts('clearAccessTokenTtl'))
    .option('--clear-access-token-ttl', "use the client's or the server's lifetime again")
    .option('--default', "make it the environment's default API")
    .option('--no-default', 'stop it being the default API')
    .addOption(json())
    .action(
      withAdmin(async ({ apis }, identifier: string, options: ApiOptions & { clearAccessTokenTtl?: boolean }) => {
        const updated = await apis.update(options.env, identifier, {
          name: options.name,
          scopes: options.scope,
          tokenFormat: options.tokenFormat,
          accessTokenTtl: options.clearAccessTokenTtl ? null : options.accessTokenTtl,
          isDefault: options.default,
        });
        printApi(updated, options.json);
      }),
    );
}

function registerApiClientCommands(api: Command): void {
  for (const [name, allow] of [
    ['allow-client', true],
    ['deny-client', false],
  ] as const) {
    api
      .command(`${name} <identifier> <client_id...>`)
      .description(allow ? 'let clients obtain tokens for the API' : 'stop clients from obtaining new tokens for the API')
      .addOption(envOption())
      .addOption(json())
      .action(
        withAdmin(async ({ apis }, identifier: string, clientIds: string[], options: { env: string; json?: boolean }) => {
          const updated = allow ? await apis.allowClients(options.env, identifier, clientIds) : await apis.denyClients(options.env, identifier, clientIds);
          printApi(updated, options.json);
        }),
      );
  }
}
