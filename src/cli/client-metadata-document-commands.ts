import { isDeepStrictEqual } from 'node:util';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { AdminError } from '../admin/admin-error.ts';
import type { ClientMetadataDocumentsView } from '../admin/client-metadata-documents.ts';
import { openLocalContext } from './context.ts';
import { printKeyValues } from './output.ts';
import type { CliMetadataDocuments } from './remote-metadata-documents.ts';

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

/** The settings locally, or through `--server`'s admin API, and how to let them go. */
async function access(server: string | undefined): Promise<{ settings: CliMetadataDocuments; close(): Promise<void> }> {
  if (server !== undefined) {
    const [{ remoteAdminApi }, { remoteMetadataDocuments }] = await Promise.all([import('./remote-context.ts'), import('./remote-metadata-documents.ts')]);
    return { settings: remoteMetadataDocuments(remoteAdminApi(server)), close: async () => {} };
  }
  const ctx = await openLocalContext();
  return { settings: ctx.metadataDocuments, close: () => ctx.close() };
}

/** Refuses settings other than `read`: a change made between this command's read and its write is never overwritten. */
const unchangedSince = (read: ClientMetadataDocumentsView) => (current: ClientMetadataDocumentsView) => {
  if (!isDeepStrictEqual(current, read)) throw new AdminError('conflict', 'the settings changed while this command ran: run it again');
};

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
      const { settings, close } = await access((command.optsWithGlobals() as { server?: string }).server);
      try {
        print(await settings.get(options.env), options.json);
      } finally {
        await close();
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
      const { settings, close } = await access((command.optsWithGlobals() as { server?: string }).server);
      try {
        const read = await settings.get(options.env);
        print(await settings.set(options.env, applyFlags(read, options), unchangedSince(read)), options.json);
      } finally {
        await close();
      }
    });
}
