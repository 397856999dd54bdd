import { Command, Option } from 'commander';
import { AdminError } from '../admin/admin-error.ts';
import { ConfigError } from '../domain/config-error.ts';
import { registerAdminApiCommands } from './admin-api-commands.ts';
import { registerApiCommands } from './api-commands.ts';
import { registerApplyCommands } from './apply-commands.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerBrandingCommands } from './branding-commands.ts';
import { registerClientCommands } from './client-commands.ts';
import { registerClientMetadataDocumentCommands } from './client-metadata-document-commands.ts';
import { useServer } from './context.ts';
import { registerEnvironmentCommands } from './environment-commands.ts';
import { registerImportCommands } from './import-commands.ts';
import { registerRegistrationCommands } from './registration-commands.ts';
import { registerServeCommands } from './serve-commands.ts';
import { registerKeyCommands, registerServiceAccountCommands } from './service-account-commands.ts';
import { registerSignInCommands } from './sign-in-commands.ts';
import { registerSigningKeyCommands } from './signing-key-commands.ts';
import { registerUserCommands } from './user-commands.ts';

// The program is built from light modules only: each command loads what it works with (the store
// and services, the admin API client, the server) when it runs, so `--help` or a `--server`
// command does not pay for the rest.
const program = new Command('gatehouse')
  .description('Gatehouse: an OAuth 2.0 authorization server')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

// --server: data commands go through a running node's admin API (docs/cli.md, "The CLI against a running node").
const serverOption = () => new Option('--server <url>', 'work on a running node through its admin API (its admin listener; credentials from the environment)');
program.addOption(serverOption());
program.hook('preAction', (_program, action) => useServer(serverFor(action)));

registerServeCommands(program);
const env = registerEnvironmentCommands(program);
const client = registerClientCommands(program);

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
