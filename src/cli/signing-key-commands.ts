import { type Command, InvalidArgumentError, Option } from 'commander';
import type { KeyView } from '../admin/admin-service.ts';
import type { IdTokenAlgorithm } from '../domain/model.ts';
import { withAdmin } from './context.ts';
import { printTable } from './output.ts';

const json = () => new Option('--json', 'print JSON');
const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `30d`, `12h`, `90m` or `3600s` (a bare number is seconds) as seconds. */
export function rotationInterval(value: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value);
  if (!match) throw new InvalidArgumentError('give a duration such as 30d, 12h, 90m or 3600s');
  return Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
}

function printKeys(list: KeyView[], asJson: boolean | undefined): void {
  if (asJson) console.log(JSON.stringify(list));
  else printTable(list, ['kid', 'alg', 'status', 'published', 'created_at', 'activate_at', 'retired_at', 'publish_until', 'revoked_at']);
}

/** `keys rotate [--now] [--alg ALG]`: one lineage, the access-token key's unless --alg RS256. */
function registerRotate(keys: Command): void {
  keys
    .command('rotate')
    .description(
      'rotate one lineage (the access-token key unless --alg RS256): publish a new next key that starts signing after GATEHOUSE_CACHE_TTL + GATEHOUSE_JWKS_MAX_AGE + 1 s; ' +
        'with --now it signs after GATEHOUSE_CACHE_TTL + 1 s, once every node publishes it (resource servers holding an older JWKS refetch it on the new kid). ' +
        'The old key stays published until its tokens expire; to withdraw a leaked key, use keys revoke',
    )
    .addOption(envOption())
    .option('--now', 'activate the new key as soon as every node publishes it (GATEHOUSE_CACHE_TTL + 1 s)')
    .addOption(
      new Option(
        '--alg <alg>',
        'the lineage to rotate: RS256 for the key of ID Tokens; ES256 or EdDSA (GATEHOUSE_SIGNING_ALG) for the access-token key, the default',
      ).choices(['RS256', 'ES256', 'EdDSA']),
    )
    .addOption(json())
    .action(
      withAdmin(async ({ admin }, options: { env: string; now?: boolean; alg?: IdTokenAlgorithm; json?: boolean }) =>
        printKeys(await admin.rotateKeys(options.env, { now: options.now === true, ...(options.alg ? { alg: options.alg } : {}) }), options.json),
      ),
    );
}

/** `keys list`, `keys rotate [--now] [--alg ALG]`, `keys revoke` and `env set-rotation`: the lifecycle of signing keys. */
export function registerSigningKeyCommands(program: Command, env: Command): void {
  const keys = program.command('keys').description('manage signing keys');
  keys
    .command('list')
    .description(
      "list an environment's signing keys, both lineages (access-token key, RS256 key of ID Tokens): algorithm, state (next, active, retired, removed, revoked) and dates",
    )
    .addOption(envOption())
    .addOption(json())
    .action(withAdmin(async ({ admin }, options: { env: string; json?: boolean }) => printKeys(await admin.listKeys(options.env), options.json)));
  registerRotate(keys);
  keys
    .command('revoke <kid>')
    .description(
      'revoke a leaked signing key: it leaves the JWKS at once (every node within GATEHOUSE_CACHE_TTL), tokens it signed stop verifying, ' +
        'and if it was signing, a fresh key of the same algorithm lineage signs at once. A kid may start with "-": put it after "--"',
    )
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ admin }, kid: string, options: { env: string; json?: boolean }) => {
        const revoked = await admin.revokeKey(options.env, kid);
        if (options.json) return console.log(JSON.stringify(revoked));
        console.log(`revoked signing key ${revoked.kid} of environment ${revoked.environment} at ${revoked.revoked_at}`);
        if (revoked.replaced_by) console.log(`it was signing: the fresh key ${revoked.replaced_by} signs now`);
        printKeys(revoked.keys, false);
      }),
    );
  env
    .command('set-rotation <name>')
    .description('rotate the signing keys of an environment (every lineage) on a schedule (carried out by a running server, once across nodes)')
    .addOption(new Option('--every <duration>', 'interval between rotations, e.g. 30d, 12h (at least 1h)').argParser(rotationInterval).conflicts('off'))
    .addOption(new Option('--off', 'no scheduled rotations').conflicts('every'))
    .addOption(json())
    .action(async (name: string, options: { every?: number; off?: boolean; json?: boolean }, command: Command) => {
      if (options.every === undefined && !options.off) command.error('error: give either --every <duration> or --off');
      await withAdmin(async ({ admin }) => {
        const updated = await admin.setKeyRotation(name, options.off ? null : (options.every ?? null));
        if (options.json) console.log(JSON.stringify(updated));
        else if (updated.key_rotation_interval === null) console.log(`environment ${name}: no scheduled key rotation`);
        else {
          console.log(
            `environment ${name}: a new signing key every ${updated.key_rotation_interval} s, signing ${updated.activation_lead} s after it is published`,
          );
        }
      })();
    });
}
