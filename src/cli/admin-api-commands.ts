import { type Command, Option } from 'commander';
import { withLocalAdmin } from './context.ts';

/** `admin bootstrap`: the first admin credential of a deployment, printed once. */
export function registerAdminApiCommands(program: Command): void {
  const admin = program.command('admin').description('the admin HTTP API and its credentials');
  admin
    .command('bootstrap')
    .description('create the management environment, the admin API and a first admin client; prints its secret once')
    .option('--force', 'create another admin client even if one exists')
    .addOption(new Option('--json', 'print JSON'))
    .action(
      withLocalAdmin(async ({ admin: service, serviceAccounts, users, apis, config }, options: { force?: boolean; json?: boolean }) => {
        const { bootstrapAdmin } = await import('../admin-api/bootstrap.ts');
        const result = await bootstrapAdmin({ admin: service, serviceAccounts, users, apis }, config.adminEnvironment, { force: options.force === true });
        if (options.json) {
          console.log(JSON.stringify(result));
          return;
        }
        const port = config.adminPort === undefined ? 'GATEHOUSE_ADMIN_PORT' : String(config.adminPort);
        const host = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
        console.log(`Created the admin client ${result.client_id} in ${result.environment} (${result.scopes.join(' ')}).`);
        console.log('Its secret is shown only now; Gatehouse keeps only its hash:');
        console.log(`  client_id      ${result.client_id}`);
        console.log(`  client_secret  ${result.client_secret}`);
        console.log('Get an admin token and call the admin API:');
        console.log(`  curl -s -u '${result.client_id}:${result.client_secret}' -d grant_type=client_credentials ${result.token_endpoint}`);
        console.log(`  curl -s -H "Authorization: Bearer $TOKEN" http://${host}:${port}/admin/v1/environments`);
      }),
    );
}
