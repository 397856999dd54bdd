import { type Command, Option } from 'commander';
import { withAdmin } from './context.ts';
import { lastUsed, printKeyValues, printTable } from './output.ts';
import { addProfileOptions, givesAddressParts, profileChanges } from './profile-options.ts';

const json = () => new Option('--json', 'print JSON');
const envOption = () => new Option('--env <name>', 'environment name').makeOptionMandatory();
const passwordStdin = () => new Option('--password-stdin', 'read the password from standard input (required: passwords never go on the command line)');

/** The password piped to this process, without the one line break `echo` or a file adds. */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new Error('--password-stdin expects the password piped in, e.g. `printf %s "$PASSWORD" | gatehouse user create …`');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function requirePasswordStdin(options: { passwordStdin?: boolean }): void {
  if (!options.passwordStdin) throw new Error('pass the password on standard input with --password-stdin');
}

/** `user create|list|show|update|disable|enable|set-password`. */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('manage the end users who sign in on the login page');
  addProfileOptions(
    user
      .command('create')
      .description('create a user, optionally with OpenID Connect profile attributes; the password is read from stdin')
      .addOption(envOption())
      .requiredOption('--username <name>', 'the name the user signs in with (case-sensitive)')
      .addOption(passwordStdin())
      .addOption(json()),
  ).action(
    withAdmin(async ({ users }, options: { env: string; username: string; passwordStdin?: boolean; json?: boolean } & Record<string, unknown>) => {
      requirePasswordStdin(options);
      const profile = profileChanges(options);
      const created = await users.create({ env: options.env, username: options.username, password: await readPasswordFromStdin(), profile });
      if (options.json) console.log(JSON.stringify(created));
      else printKeyValues(created);
    }),
  );
  registerProfileCommands(user);
  for (const [name, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    user
      .command(`${name} <username>`)
      .description(enabled ? 'let a disabled user sign in again' : 'stop a user from signing in and from refreshing tokens')
      .addOption(envOption())
      .addOption(json())
      .action(
        withAdmin(async ({ users }, username: string, options: { env: string; json?: boolean }) => {
          const updated = await users.setEnabled(options.env, username, enabled);
          if (options.json) console.log(JSON.stringify(updated));
          else printKeyValues(updated);
        }),
      );
  }
  user
    .command('set-password <username>')
    .description("replace a user's password; the new one is read from stdin")
    .addOption(envOption())
    .addOption(passwordStdin())
    .addOption(json())
    .action(
      withAdmin(async ({ users }, username: string, options: { env: string; passwordStdin?: boolean; json?: boolean }) => {
        requirePasswordStdin(options);
        const updated = await users.setPassword(options.env, username, await readPasswordFromStdin());
        if (options.json) console.log(JSON.stringify(updated));
        else printKeyValues(updated);
      }),
    );
}

/** `user show` and `user update`: a user's profile attributes. */
function registerProfileCommands(user: Command): void {
  user
    .command('show <username>')
    .description('show one user with their profile attributes')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ users }, username: string, options: { env: string; json?: boolean }) => {
        const shown = await users.get(options.env, username);
        if (options.json) console.log(JSON.stringify(shown));
        else printKeyValues(shown);
      }),
    );
  addProfileOptions(
    user
      .command('update <username>')
      .description('change profile attributes ("" clears one; a new email or phone number is unverified unless --email-verified / --phone-number-verified)')
      .addOption(envOption())
      .addOption(json()),
  ).action(
    withAdmin(async ({ users }, username: string, options: { env: string; json?: boolean } & Record<string, unknown>) => {
      // The address flags given change those members only: the others are read and kept.
      const currentAddress = givesAddressParts(options) ? (await users.get(options.env, username)).address : null;
      const changes = profileChanges(options, currentAddress);
      if (Object.keys(changes).length === 0) throw new Error('nothing to change: give at least one attribute flag (see --help)');
      const updated = await users.update(options.env, username, changes);
      if (options.json) console.log(JSON.stringify(updated));
      else printKeyValues(updated);
    }),
  );
  user
    .command('list')
    .description('list the users of an environment')
    .addOption(envOption())
    .addOption(json())
    .action(
      withAdmin(async ({ users }, options: { env: string; json?: boolean }) => {
        const list = await users.list(options.env);
        if (options.json) console.log(JSON.stringify(list));
        else
          printTable(
            list.map((u) => ({ ...u, last_login: lastUsed(u.last_login_at) })),
            ['username', 'user_id', 'enabled', 'created_at', 'last_login'],
          );
      }),
    );
}
