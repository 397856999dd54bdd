import { type Command, Option } from 'commander';
import type { CreatedKey } from '../admin/service-accounts.ts';
import { ASSERTION_ALGORITHMS } from '../oauth/assertion-algorithms.ts';
import { withAdmin } from './context.ts';
import { lastUsed, printKeyValues, printTable } from './output.ts';

const json = () => new Option('--json', 'print JSON');
const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();
const scopeList = (value: string) => value.split(/\s+/).filter(Boolean);

/** `service-account create|list|disable|enable` and `service-account key …`. */
export function registerServiceAccountCommands(program: Command): void {
  const sa = program.command('service-account').description('manage service accounts (machine identities that sign JWT assertions)');
  sa.command('create')
    .description('create a service account; add a key with `service-account key create`')
    .addOption(envOption())
    .requiredOption('--name <label>', 'display name')
    .option('--scope <scopes>', 'allowed scopes, space-separated', scopeList)
    .option('--default-scope <scopes>', 'scopes granted when none is requested (default: all allowed)', scopeList)
    .option('--with-secret', 'also issue a client secret, so the account can use client_credentials')
    .addOption(json())
    .action(
      withAdmin(
        async (
          { serviceAccounts },
          options: { env: string; name: string; scope?: string[]; defaultScope?: string[]; withSecret?: boolean; json?: boolean },
        ) => {
          const created = await serviceAccounts.create({
            env: options.env,
            name: options.name,
            scopes: options.scope,
            defaultScopes: options.defaultScope,
            withSecret: options.withSecret === true,
          });
          if (options.json) console.log(JSON.stringify(created));
          else {
            printKeyValues(created);
            console.log(`\nNext: ./bin/gatehouse service-account key create ${created.service_account_id} --env ${options.env}`);
          }
        },
      ),
    );
  sa.command('list')
    .description('list the service accounts of an environment')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ serviceAccounts }, options: { env: string; json?: boolean }) => {
        const list = await serviceAccounts.list(options.env);
        if (options.json) console.log(JSON.stringify(list));
        else printTable(list, ['service_account_id', 'name', 'scopes', 'enabled', 'created_at']);
      }),
    );
  for (const [name, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    sa.command(`${name} <id>`)
      .description(`${name} a service account (its assertions fail at once; a running server may accept its secret for up to GATEHOUSE_CACHE_TTL)`)
      .addOption(envOption())
      .addOption(json())
      .action(
        withAdmin(async ({ serviceAccounts }, id: string, options: { env: string; json?: boolean }) => {
          const updated = await serviceAccounts.setEnabled(options.env, id, enabled);
          if (options.json) console.log(JSON.stringify(updated));
          else console.log(`service account ${id} ${enabled ? 'enabled' : 'disabled'}`);
        }),
      );
  }
  registerKeyCommands(sa, 'service_account');
}

/** `… key create|list|revoke` under `service-account` or `client`. */
export function registerKeyCommands(parent: Command, kind: 'service_account' | 'client'): void {
  const noun = kind === 'service_account' ? 'service account' : 'client';
  const key = parent.command('key').description(`manage the signing keys of a ${noun} (Gatehouse keeps only public keys)`);
  key
    .command('create <id>')
    .description(`generate a key pair for a ${noun}; the private key is printed once and never stored`)
    .addOption(envOption())
    .addOption(new Option('--alg <alg>', 'signature algorithm').choices([...ASSERTION_ALGORITHMS]).default('ES256'))
    .addOption(json())
    .action(
      withAdmin(async ({ serviceAccounts }, id: string, options: { env: string; alg: string; json?: boolean }) => {
        const created = await serviceAccounts.createKey(options.env, id, options.alg, kind);
        if (options.json) console.log(JSON.stringify(created));
        else printCreatedKey(created);
      }),
    );
  key
    .command('list <id>')
    .description(`list the keys of a ${noun}`)
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ serviceAccounts }, id: string, options: { env: string; json?: boolean }) => {
        const keys = await serviceAccounts.listKeys(options.env, id, kind);
        if (options.json) console.log(JSON.stringify(keys));
        else
          printTable(
            keys.map((k) => ({ ...k, last_used: lastUsed(k.last_used_at) })),
            ['kid', 'alg', 'status', 'created_at', 'revoked_at', 'last_used'],
          );
      }),
    );
  key
    .command('revoke <id> <kid>')
    .description('revoke a key: assertions signed with it fail at once')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ serviceAccounts }, id: string, kid: string, options: { env: string; json?: boolean }) => {
        const revoked = await serviceAccounts.revokeKey(options.env, id, kid, kind);
        if (options.json) console.log(JSON.stringify(revoked));
        else console.log(`key ${kid} revoked`);
      }),
    );
}

function printCreatedKey(created: CreatedKey): void {
  console.log(`kid   ${created.kid}\nalg   ${created.alg}\nowner ${created.owner}\n`);
  console.log('Private key (PKCS#8 PEM). Store it now: Gatehouse keeps only the public key and cannot show it again.');
  console.log(created.private_key_pem.trimEnd());
  console.log('\nPrivate key as JWK:');
  console.log(JSON.stringify(created.private_jwk));
  console.log(`\nExample: a signed assertion valid until ${created.example.expires_at}, traded for a token:`);
  console.log(`  ${created.example.curl}`);
}
