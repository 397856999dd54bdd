import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ClientMetadataDocumentsView } from '../admin/client-metadata-documents.ts';
import { openLocalContext } from './context.ts';
import { printKeyValues } from './output.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const seconds = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(value);
};

interface SetOptions {
  env: string;
  enable?: boolean;
  allowHost?: string[];
  blockHost?: string[];
  scope?: string[];
  api?: string[];
  accessTokenTtl?: number;
  refreshTokens?: boolean;
  clearHosts?: boolean;
  json?: boolean;
  server?: string;
}

/** Reads or replaces the settings, locally or through `--server`'s admin API. */
interface SettingsAccess {
  get(env: string): Promise<ClientMetadataDocumentsView>;
  set(env: string, view: ClientMetadataDocumentsView): Promise<ClientMetadataDocumentsView>;
  close(): Promise<void>;
}

async function access(server: string | undefined): Promise<SettingsAccess> {
  if (server !== undefined) {
    const { remoteAdminApi } = await import('./remote-context.ts');
    const api = remoteAdminApi(server);
    const path = (env: string) => `/environments/${encodeURIComponent(env)}/client-metadata-documents`;
    return {
      get: (env) => api.get<ClientMetadataDocumentsView>(path(env)),
      set: async (env, view) => {
        const { etag } = await api.call('GET', path(env));
        return (await api.call<ClientMetadataDocumentsView>('PUT', path(env), { body: view, ifMatch: etag })).body;
      },
      close: async () => {},
    };
  }
  const ctx = await openLocalContext();
  return { get: (env) => ctx.metadataDocuments.get(env), set: (env, view) => ctx.metadataDocuments.set(env, view), close: () => ctx.close() };
}

/** The settings after the flags: lists given replace the stored ones (hosts are added to unless --clear-hosts). */
function applyFlags(current: ClientMetadataDocumentsView, o: SetOptions): ClientMetadataDocumentsView {
  const next = { ...current };
  if (o.enable !== undefined) next.enabled = o.enable;
  if (o.clearHosts) Object.assign(next, { allowed_hosts: [], blocked_hosts: [] });
  if (o.allowHost) next.allowed_hosts = [...(next.allowed_hosts as string[]), ...o.allowHost];
  if (o.blockHost) next.blocked_hosts = [...(next.blocked_hosts as string[]), ...o.blockHost];
  if (o.scope) next.scopes = o.scope;
  if (o.api) next.apis = o.api;
  if (o.accessTokenTtl !== undefined) next.access_token_ttl = o.accessTokenTtl === 0 ? null : o.accessTokenTtl;
  if (o.refreshTokens !== undefined) next.refresh_tokens = o.refreshTokens;
  return next;
}

function print(view: ClientMetadataDocumentsView, json: boolean | undefined): void {
  if (json) console.log(JSON.stringify(view));
  else printKeyValues(Object.fromEntries(Object.entries(view).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') || '(none)' : v])));
}

/** `metadata-documents show|set`: Client ID Metadata Document clients of an environment. */
export function registerClientMetadataDocumentCommands(program: Command): void {
  const group = program.command('metadata-documents').description('clients named by a Client ID Metadata Document URL (off by default)');
  const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();
  group
    .command('show')
    .description("show an environment's settings")
    .addOption(envOption())
    .option('--json', 'print JSON')
    .action(async (options: { env: string; json?: boolean }, command: Command) => {
      const settings = await access((command.optsWithGlobals() as { server?: string }).server);
      try {
        print(await settings.get(options.env), options.json);
      } finally {
        await settings.close();
      }
    });
  group
    .command('set')
    .description("change an environment's settings; flags not given keep their values")
    .addOption(envOption())
    .option('--enable', 'accept https client_ids naming a metadata document')
    .option('--no-enable', 'refuse them (the default)')
    .option('--allow-host <host>', 'a host (or *.example.com) whose documents may be used; repeatable; none: any public host', collect)
    .option('--block-host <host>', 'a host whose documents are never used; repeatable', collect)
    .option('--clear-hosts', 'forget the allowed and blocked hosts before adding those given')
    .option('--scope <scope>', 'a scope such clients may get; repeatable (replaces the list)', collect)
    .option('--api <identifier>', 'an API such clients may get tokens for; repeatable (replaces the list)', collect)
    .option('--access-token-ttl <seconds>', 'access-token lifetime; 0: the server default', seconds)
    .option('--refresh-tokens', 'such clients may use refresh tokens (the default)')
    .option('--no-refresh-tokens', 'such clients get no refresh tokens')
    .option('--json', 'print JSON')
    .action(async (options: SetOptions, command: Command) => {
      const settings = await access((command.optsWithGlobals() as { server?: string }).server);
      try {
        print(await settings.set(options.env, applyFlags(await settings.get(options.env), options)), options.json);
      } finally {
        await settings.close();
      }
    });
}
