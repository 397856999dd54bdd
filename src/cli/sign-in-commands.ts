import { type Command, Option } from 'commander';
import type { SignInPolicyChanges } from '../admin/sign-in-policy.ts';
import { withAdmin } from './context.ts';
import { printKeyValues, printTable } from './output.ts';

const json = () => new Option('--json', 'print JSON');
const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface PolicyOptions {
  env: string;
  secondFactor?: string;
  requiredClient?: string[];
  requiredScope?: string[];
  noRequiredClients?: boolean;
  webauthnRpId?: string;
  webauthnOrigin?: string[];
  json?: boolean;
}

function policyChanges(o: PolicyOptions): SignInPolicyChanges {
  return {
    ...(o.secondFactor === undefined ? {} : { secondFactor: o.secondFactor as SignInPolicyChanges['secondFactor'] & string }),
    ...(o.requiredClient === undefined ? {} : { requiredClients: o.requiredClient.filter((c) => c !== '') }),
    ...(o.requiredScope === undefined ? {} : { requiredScopes: o.requiredScope.filter((s) => s !== '') }),
    ...(o.webauthnRpId === undefined ? {} : { webauthnRpId: o.webauthnRpId === '' ? null : o.webauthnRpId }),
    ...(o.webauthnOrigin === undefined ? {} : { webauthnOrigins: o.webauthnOrigin.filter((s) => s !== '') }),
  };
}

/** `sign-in-policy show|set` and `factors show|reset|revoke-passkey`. */
export function registerSignInCommands(program: Command): void {
  const policy = program.command('sign-in-policy').description("an environment's second-factor policy and WebAuthn relying party");
  policy
    .command('show')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ signIn }, o: { env: string; json?: boolean }) => {
        const view = await signIn.get(o.env);
        if (o.json) console.log(JSON.stringify(view));
        else printKeyValues(view);
      }),
    );
  policy
    .command('set')
    .description('change the policy; options left out are kept (an empty value clears a list)')
    .addOption(envOption())
    .addOption(new Option('--second-factor <mode>', 'when a second factor is asked').choices(['password_only', 'optional', 'required']))
    .option('--required-client <client_id>', 'with `required`: only for this client (repeatable; "" clears)', collect)
    .option('--required-scope <scope>', 'with `required`: only for requests of this scope (repeatable; "" clears)', collect)
    .option('--webauthn-rp-id <host>', 'WebAuthn relying-party id ("" : the public URL host)')
    .option('--webauthn-origin <origin>', 'an origin allowed for passkeys (repeatable; "" clears)', collect)
    .addOption(json())
    .action(
      withAdmin(async ({ signIn }, o: PolicyOptions) => {
        const view = await signIn.update(o.env, policyChanges(o));
        if (o.json) console.log(JSON.stringify(view));
        else printKeyValues(view);
      }),
    );
  registerFactorCommands(program);
}

function registerFactorCommands(program: Command): void {
  const factors = program.command('factors').description("users' second factors and passkeys: see, revoke, reset (recovery from a lost factor)");
  factors
    .command('show <username>')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ signIn }, username: string, o: { env: string; json?: boolean }) => {
        const view = await signIn.factors(o.env, username);
        if (o.json) return console.log(JSON.stringify(view));
        printKeyValues({ username: view.username, totp: view.totp, unused_recovery_codes: view.unused_recovery_codes });
        printTable(view.passkeys, ['credential_id', 'name', 'backed_up', 'created_at', 'last_used_at']);
      }),
    );
  factors
    .command('revoke-passkey <username> <credential_id>')
    .addOption(envOption())
    .action(
      withAdmin(async ({ signIn }, username: string, credentialId: string, o: { env: string }) => {
        await signIn.revokePasskey(o.env, username, credentialId);
        console.log(`revoked passkey ${credentialId} of ${username}`);
      }),
    );
  factors
    .command('reset <username>')
    .description("remove the user's TOTP, recovery codes and passkeys (audited); they enrol again at their next sign-in")
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ signIn }, username: string, o: { env: string; json?: boolean }) => {
        const reset = await signIn.resetFactors(o.env, username);
        if (o.json) console.log(JSON.stringify(reset));
        else printKeyValues(reset);
      }),
    );
}
