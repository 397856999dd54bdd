import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { InitialAccessTokenView, RegistrationServices } from '../admin/initial-access-tokens.ts';
import type { RegistrationPolicyChanges, RegistrationPolicyView } from '../admin/registration-policy.ts';
import { REGISTRATION_MODES, type RegistrationMode, type TrustedStatementIssuer } from '../domain/registration.ts';
import { type AdminContext, currentServer, withAdmin } from './context.ts';
import { printKeyValues, printTable } from './output.ts';
import { AdminApiClient, adminApiBase, remoteCredentials } from './remote-admin.ts';

type Registration = Pick<RegistrationServices['policies'], 'get' | 'set'> & {
  tokens: Pick<RegistrationServices['initialAccessTokens'], 'create' | 'list' | 'delete'>;
};

const json = () => new Option('--json', 'print JSON');
const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();
const collect = (value: string, previous: string[] = []) => [...previous, value];
const whole = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
};
// `none` stays a word here: commander stores an option parser's null as ''.
const wholeOrNone = (value: string): number | 'none' => (value === 'none' ? 'none' : whole(value));
const noneAsNull = (value: number | 'none' | undefined) => (value === 'none' ? null : value);
const yesNo = (value: string) => {
  if (value !== 'true' && value !== 'false') throw new InvalidArgumentError('must be true or false');
  return value === 'true';
};

/** The registration services: local ones, or the admin API's with `--server`. */
function registrationOf(ctx: AdminContext): Registration {
  const server = currentServer();
  if (server === undefined) {
    const local = (ctx as AdminContext & { registration: RegistrationServices }).registration;
    return { get: (e) => local.policies.get(e), set: (e, c) => local.policies.set(e, c), tokens: local.initialAccessTokens };
  }
  const api = new AdminApiClient(
    adminApiBase(server),
    remoteCredentials(process.env, { publicUrl: ctx.config.publicUrl, adminEnvironment: ctx.config.adminEnvironment }),
  );
  const base = (env: string) => `/environments/${encodeURIComponent(env)}`;
  return {
    get: (env) => api.get<RegistrationPolicyView>(`${base(env)}/registration`),
    set: (env, changes) => api.update<RegistrationPolicyView>('PATCH', `${base(env)}/registration`, () => policyBody(changes)),
    tokens: {
      create: async ({ env, description, expiresIn, uses }) =>
        (
          await api.call<InitialAccessTokenView & { token: string }>('POST', `${base(env)}/initial-access-tokens`, {
            body: { description, expires_in: expiresIn, uses },
          })
        ).body,
      list: (env) => api.get<InitialAccessTokenView[]>(`${base(env)}/initial-access-tokens`),
      delete: async (env, id) =>
        (await api.call<{ id: string; environment: string; deleted: true }>('DELETE', `${base(env)}/initial-access-tokens/${encodeURIComponent(id)}`)).body,
    },
  };
}

/** The registration policies for `plan` and `apply`, locally or over the admin API. */
export function registrationTarget(ctx: AdminContext): { get: Registration['get']; set: Registration['set'] } {
  const registration = registrationOf(ctx);
  return { get: (env) => registration.get(env), set: (env, changes) => registration.set(env, changes) };
}

/** The admin API body of a policy change. */
function policyBody(c: RegistrationPolicyChanges): Record<string, unknown> {
  const body: Record<string, unknown> = {
    mode: c.mode,
    allowed_scopes: c.allowedScopes,
    allowed_apis: c.allowedApis,
    allowed_grant_types: c.allowedGrantTypes,
    allowed_auth_methods: c.allowedAuthMethods,
    max_access_token_ttl: c.maxAccessTokenTtl,
    unused_client_days: c.unusedClientDays,
    software_statement_issuers: c.softwareStatementIssuers,
    require_software_statement: c.requireSoftwareStatement,
    source_limit_per_hour: c.sourceLimitPerHour,
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

interface SetOptions {
  env: string;
  mode?: RegistrationMode;
  allowScope?: string[];
  allowApi?: string[];
  allowGrantType?: string[];
  allowAuthMethod?: string[];
  maxAccessTokenTtl?: number | 'none';
  unusedClientDays?: number | 'none';
  softwareStatementIssuers?: string;
  requireSoftwareStatement?: boolean;
  sourceLimit?: number;
  json?: boolean;
}

function changesOf(o: SetOptions): RegistrationPolicyChanges {
  const issuers =
    o.softwareStatementIssuers === undefined ? undefined : (JSON.parse(readFileSync(o.softwareStatementIssuers, 'utf8')) as TrustedStatementIssuer[]);
  return {
    mode: o.mode,
    allowedScopes: o.allowScope,
    allowedApis: o.allowApi,
    allowedGrantTypes: o.allowGrantType,
    allowedAuthMethods: o.allowAuthMethod,
    maxAccessTokenTtl: noneAsNull(o.maxAccessTokenTtl),
    unusedClientDays: noneAsNull(o.unusedClientDays),
    softwareStatementIssuers: issuers,
    requireSoftwareStatement: o.requireSoftwareStatement,
    sourceLimitPerHour: o.sourceLimit,
  };
}

const printPolicy = (view: RegistrationPolicyView, asJson?: boolean) => {
  if (asJson) console.log(JSON.stringify(view));
  else printKeyValues({ ...view, software_statement_issuers: view.software_statement_issuers.map((i) => i.issuer) });
};

/** `registration show|set` and `registration token create|list|delete` (RFC 7591). */
export function registerRegistrationCommands(program: Command): void {
  const registration = program.command('registration').description('dynamic client registration (RFC 7591): policy and initial access tokens');
  registration
    .command('show')
    .description("show an environment's registration policy")
    .addOption(envOption())
    .addOption(json())
    .action(withAdmin(async (ctx, o: { env: string; json?: boolean }) => printPolicy(await registrationOf(ctx).get(o.env), o.json)));
  registration
    .command('set')
    .description("change an environment's registration policy; list options replace the whole list")
    .addOption(envOption())
    .addOption(new Option('--mode <mode>', 'off, open or initial_access_token').choices(REGISTRATION_MODES))
    .addOption(new Option('--allow-scope <scope>', 'a scope registered clients may get (repeatable)').argParser(collect))
    .addOption(new Option('--allow-api <identifier>', 'an API registered clients may get tokens for (repeatable)').argParser(collect))
    .addOption(new Option('--allow-grant-type <type>', 'a grant type registered clients may use (repeatable)').argParser(collect))
    .addOption(new Option('--allow-auth-method <method>', 'a token_endpoint_auth_method allowed (repeatable)').argParser(collect))
    .addOption(new Option('--max-access-token-ttl <seconds|none>', 'cap on access-token lifetimes').argParser(wholeOrNone))
    .addOption(new Option('--unused-client-days <days|none>', 'delete registered clients unused this long').argParser(wholeOrNone))
    .addOption(new Option('--software-statement-issuers <file>', 'JSON file: [{"issuer": ..., "jwks": {"keys": [...]}}]'))
    .addOption(new Option('--require-software-statement <true|false>', 'every registration needs a trusted software statement').argParser(yesNo))
    .addOption(new Option('--source-limit <n>', 'registrations per source address per hour').argParser(whole))
    .addOption(json())
    .action(withAdmin(async (ctx, o: SetOptions) => printPolicy(await registrationOf(ctx).set(o.env, changesOf(o)), o.json)));
  registerTokenCommands(registration);
}

function registerTokenCommands(registration: Command): void {
  const token = registration.command('token').description('initial access tokens (RFC 7591 §3)');
  token
    .command('create')
    .description('create an initial access token; its value is printed once')
    .addOption(envOption())
    .option('--description <text>', 'who it is for')
    .addOption(new Option('--expires-in <seconds>', 'lifetime (default a week)').argParser(whole))
    .addOption(new Option('--uses <n>', 'registrations it allows (default 1)').argParser(whole))
    .addOption(json())
    .action(
      withAdmin(async (ctx, o: { env: string; description?: string; expiresIn?: number; uses?: number; json?: boolean }) => {
        const created = await registrationOf(ctx).tokens.create({ env: o.env, description: o.description, expiresIn: o.expiresIn, uses: o.uses });
        if (o.json) console.log(JSON.stringify(created));
        else printKeyValues(created);
      }),
    );
  token
    .command('list')
    .description('list initial access tokens (without their values)')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async (ctx, o: { env: string; json?: boolean }) => {
        const list = await registrationOf(ctx).tokens.list(o.env);
        if (o.json) console.log(JSON.stringify(list));
        else printTable(list, ['id', 'description', 'uses_left', 'expires_at']);
      }),
    );
  token
    .command('delete <id>')
    .description('delete an initial access token')
    .addOption(envOption())
    .action(withAdmin(async (ctx, id: string, o: { env: string }) => printKeyValues(await registrationOf(ctx).tokens.delete(o.env, id))));
}
