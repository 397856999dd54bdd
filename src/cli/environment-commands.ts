import { type Command, Option } from 'commander';
import type { RefreshTokenPolicy, SubjectType } from '../domain/model.ts';
import { chosenQuota, json, quotaOption, unlimitedOption } from './command-options.ts';
import { withAdmin } from './context.ts';
import { printKeyValues, printTable } from './output.ts';
import { addEnvironmentParOptions, environmentParChanges } from './par-options.ts';

type EnvUpdateOptions = {
  subjectType?: SubjectType;
  refreshTokenPolicy?: RefreshTokenPolicy;
  dpopNonceRequired?: boolean;
  json?: boolean;
};

/** `env create|list|set-quota|show|update`; returns the `env` command for the commands added under it elsewhere. */
export function registerEnvironmentCommands(program: Command): Command {
  const env = program.command('env').description('manage environments');
  addCreateAndList(env);
  addSetQuota(env);
  addShow(env);
  addUpdate(env);
  return env;
}

function addCreateAndList(env: Command): void {
  env
    .command('create <name>')
    .description('create an environment (its own issuer, keys, clients and tokens)')
    .addOption(json)
    .action(
      withAdmin(async ({ admin }, name: string, options: { json?: boolean }) => {
        const created = await admin.createEnvironment(name);
        if (options.json) console.log(JSON.stringify(created));
        else printKeyValues(created);
      }),
    );
  env
    .command('list')
    .description('list environments')
    .addOption(json)
    .action(
      withAdmin(async ({ admin }, options: { json?: boolean }) => {
        const envs = await admin.listEnvironments();
        if (options.json) console.log(JSON.stringify(envs));
        else printTable(envs, ['name', 'issuer', 'default_quota', 'subject_type', 'refresh_token_policy', 'created_at']);
      }),
    );
}

function addSetQuota(env: Command): void {
  env
    .command('set-quota <name>')
    .description(
      'set the default request quota of the clients of an environment that set none of their own (running servers see it within GATEHOUSE_CACHE_TTL)',
    )
    .addOption(quotaOption('requests per quota window (GATEHOUSE_QUOTA_WINDOW) for each such client'))
    .addOption(unlimitedOption('remove the default quota: clients without a quota of their own are unlimited'))
    .addOption(json)
    .action(async (name: string, options: { quota?: number; unlimited?: boolean; json?: boolean }, command: Command) => {
      const quota = chosenQuota(options, command);
      await withAdmin(async ({ admin, config }) => {
        const updated = await admin.setEnvironmentQuota(name, quota);
        if (options.json) console.log(JSON.stringify(updated));
        else if (quota === null) console.log(`environment ${name}: no default quota (clients without a quota of their own are unlimited)`);
        else console.log(`environment ${name}: default quota ${quota} requests per ${config.quotaWindow} s`);
      })();
    });
}

function addShow(env: Command): void {
  env
    .command('show <name>')
    .description('show an environment with its settings')
    .addOption(json)
    .action(
      withAdmin(async ({ admin }, name: string, options: { json?: boolean }) => {
        const shown = await admin.getEnvironment(name);
        if (options.json) console.log(JSON.stringify(shown));
        else printKeyValues(shown);
      }),
    );
}

function addUpdate(env: Command): void {
  addEnvironmentParOptions(
    env
      .command('update <name>')
      .description(
        'change the OpenID Connect, DPoP, pushed-request and security-profile settings of an environment (running servers see them within GATEHOUSE_CACHE_TTL)',
      )
      .addOption(
        new Option('--subject-type <type>', 'the sub of clients that choose none: public (the user id) or pairwise (one per client sector)').choices([
          'public',
          'pairwise',
        ]),
      )
      .addOption(
        new Option(
          '--refresh-token-policy <policy>',
          'client: user flows get a refresh token whenever the client may refresh; offline_access: only when the user granted offline_access',
        ).choices(['client', 'offline_access']),
      )
      .addOption(new Option('--dpop-nonce-required', 'DPoP proofs at the token endpoint must carry a server nonce (RFC 9449 §8)'))
      .addOption(new Option('--no-dpop-nonce-required', 'DPoP proofs need no server nonce'))
      .addOption(json),
  ).action(async (name: string, options: EnvUpdateOptions, command: Command) => {
    const parChanges = environmentParChanges(options);
    if (
      options.subjectType === undefined &&
      options.refreshTokenPolicy === undefined &&
      options.dpopNonceRequired === undefined &&
      Object.keys(parChanges).length === 0
    ) {
      command.error(
        'error: give --subject-type and/or --refresh-token-policy (or --[no-]dpop-nonce-required, --[no-]require-pushed-authorization-requests, --security-profile)',
      );
    }
    await withAdmin(async ({ admin }) => {
      const changes = {
        ...(options.subjectType ? { subjectType: options.subjectType } : {}),
        ...(options.refreshTokenPolicy ? { refreshTokenPolicy: options.refreshTokenPolicy } : {}),
        ...parChanges,
      };
      const settingsGiven = changes.subjectType !== undefined || changes.refreshTokenPolicy !== undefined || Object.keys(parChanges).length > 0;
      let updated = settingsGiven ? await admin.updateEnvironment(name, changes) : undefined;
      if (options.dpopNonceRequired !== undefined) updated = await admin.setDpopNonceRequired(name, options.dpopNonceRequired);
      if (options.json) console.log(JSON.stringify(updated));
      else printKeyValues(updated as NonNullable<typeof updated>);
    })();
  });
}
