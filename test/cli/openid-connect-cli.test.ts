import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/net.ts';
import { type ProductionServer, productionServer } from '../helpers/production-server.ts';

const PASSWORD = 'correct horse battery staple\n';

/** `user`, `client` and `env` commands with OpenID Connect flags, locally and against a running node (`--server`). */
describe('OpenID Connect flags of the CLI', { timeout: 600_000 }, () => {
  let server: ProductionServer;
  let local: NodeJS.ProcessEnv;
  let remote: NodeJS.ProcessEnv;
  let adminUrl: string;

  const cli = (args: string[]) => runCli(args, local);
  const viaServer = (args: string[]) => runCli([...args, '--server', adminUrl], remote);
  const ok = (result: CliResult) => {
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };
  const json = async (run: Promise<CliResult>) => JSON.parse(ok(await run)) as Record<string, unknown>;
  const refused = async (run: Promise<CliResult>, pattern: RegExp) => {
    const result = await run;
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(result.stderr, pattern);
  };

  before(async () => {
    const adminPort = await freePort();
    const keySecret = randomBytes(32).toString('hex');
    server = await productionServer({ GATEHOUSE_ADMIN_PORT: String(adminPort), GATEHOUSE_KEY_SECRET: keySecret, GATEHOUSE_PASSWORD_HASH_COST: '10' });
    adminUrl = `http://127.0.0.1:${adminPort}`;
    local = {
      PATH: process.env.PATH,
      GATEHOUSE_DATA_DIR: server.dataDir,
      GATEHOUSE_PUBLIC_URL: server.baseUrl,
      GATEHOUSE_KEY_SECRET: keySecret,
      GATEHOUSE_PASSWORD_HASH_COST: '10',
      GATEHOUSE_LOG_LEVEL: 'warn',
    };
    const admin = JSON.parse(ok(await cli(['admin', 'bootstrap', '--json'])));
    remote = {
      PATH: process.env.PATH,
      GATEHOUSE_PUBLIC_URL: server.baseUrl,
      GATEHOUSE_ADMIN_CLIENT_ID: admin.client_id,
      GATEHOUSE_ADMIN_CLIENT_SECRET: admin.client_secret,
    };
    ok(await cli(['env', 'create', 'app']));
    await server.start(1);
  });

  after(async () => server?.dispose());

  it('env update sets the subject type and refresh-token policy; env show and env list show them', async () => {
    const shown = await json(cli(['env', 'show', 'app', '--json']));
    assert.deepEqual([shown.subject_type, shown.refresh_token_policy], ['public', 'client']);
    const updated = await json(cli(['env', 'update', 'app', '--refresh-token-policy', 'offline_access', '--json']));
    assert.deepEqual([updated.subject_type, updated.refresh_token_policy], ['public', 'offline_access']);
    const remoteUpdated = await json(viaServer(['env', 'update', 'app', '--subject-type', 'pairwise', '--json']));
    assert.deepEqual([remoteUpdated.subject_type, remoteUpdated.refresh_token_policy], ['pairwise', 'offline_access']);
    assert.deepEqual(await json(viaServer(['env', 'show', 'app', '--json'])), await json(cli(['env', 'show', 'app', '--json'])));
    assert.match(ok(await cli(['env', 'list'])), /SUBJECT_TYPE\s+REFRESH_TOKEN_POLICY[\s\S]*pairwise\s+offline_access/);
    await refused(cli(['env', 'update', 'app']), /give --subject-type and\/or --refresh-token-policy/);
    await refused(cli(['env', 'update', 'app', '--subject-type', 'private']), /Allowed choices are public, pairwise/);
    await refused(cli(['env', 'update', 'nope', '--subject-type', 'public']), /no environment named nope/);
    ok(await cli(['env', 'update', 'app', '--subject-type', 'public', '--refresh-token-policy', 'client']));
  });

  it('user create and update set profile attributes; user show reads them; locally and with --server', async () => {
    const created = JSON.parse(
      await server.cli(
        [
          'user',
          'create',
          '--env',
          'app',
          '--username',
          'ada',
          '--password-stdin',
          '--email',
          'ada@example.test',
          '--email-verified',
          '--given-name',
          'Ada',
          '--locale',
          'en-gb',
          '--address-locality',
          'London',
          '--json',
        ],
        PASSWORD,
      ),
    ) as Record<string, unknown>;
    assert.deepEqual(
      [created.email, created.email_verified, created.given_name, created.locale, created.address],
      ['ada@example.test', true, 'Ada', 'en-GB', { locality: 'London' }],
    );
    // Address flags change their members only; "" clears an attribute.
    const updated = await json(
      cli(['user', 'update', 'ada', '--env', 'app', '--address-country', 'GB', '--given-name', '', '--phone-number', '+442071234567', '--json']),
    );
    assert.deepEqual([updated.address, updated.given_name, updated.phone_number], [{ locality: 'London', country: 'GB' }, null, '+442071234567']);
    const remoteUpdated = await json(viaServer(['user', 'update', 'ada', '--env', 'app', '--email', 'ada@lovelace.test', '--address-locality', '', '--json']));
    assert.deepEqual([remoteUpdated.email, remoteUpdated.email_verified, remoteUpdated.address], ['ada@lovelace.test', false, { country: 'GB' }]);
    const verified = await json(viaServer(['user', 'update', 'ada', '--env', 'app', '--email-verified', '--zoneinfo', 'Europe/London', '--json']));
    assert.deepEqual([verified.email_verified, verified.zoneinfo], [true, 'Europe/London']);
    const cleared = await json(cli(['user', 'update', 'ada', '--env', 'app', '--clear-address', '--no-email-verified', '--json']));
    assert.deepEqual([cleared.address, cleared.email_verified], [null, false]);
    assert.deepEqual(
      await json(cli(['user', 'show', 'ada', '--env', 'app', '--json'])),
      await json(viaServer(['user', 'show', 'ada', '--env', 'app', '--json'])),
    );
    assert.match(ok(await cli(['user', 'show', 'ada', '--env', 'app'])), /^email\s+ada@lovelace\.test$/m);
  });

  it('refuses bad attributes and empty updates with clear messages, locally and with --server', async () => {
    for (const run of [cli, viaServer]) {
      await refused(run(['user', 'update', 'ada', '--env', 'app', '--email', 'not-an-address']), /email is not a valid address/);
      await refused(run(['user', 'update', 'ada', '--env', 'app', '--picture', 'http://img.example.test/a.png']), /picture must be an https URL/);
      await refused(run(['user', 'update', 'ada', '--env', 'app', '--zoneinfo', 'Europe/Atlantis']), /zoneinfo is not an IANA time zone/);
      await refused(run(['user', 'update', 'ada', '--env', 'app', '--phone-number', '555-1234']), /phone_number must be in E\.164 form/);
      await refused(run(['user', 'update', 'ada', '--env', 'app', '--locale', 'en_US']), /locale is a BCP 47 tag with hyphens/);
      await refused(run(['user', 'update', 'ada', '--env', 'app']), /nothing to change/);
      await refused(run(['user', 'update', 'ada', '--env', 'app', '--clear-address', '--address-country', 'GB']), /--clear-address cannot be combined/);
      await refused(run(['user', 'show', 'nobody', '--env', 'app']), /no user nobody in app/);
    }
    await assert.rejects(
      server.cli(['user', 'create', '--env', 'app', '--username', 'bad', '--password-stdin', '--email', 'x'], PASSWORD),
      (error: { stderr?: string }) => /email is not a valid address/.test(error.stderr ?? ''),
    );
    await refused(cli(['user', 'show', 'bad', '--env', 'app']), /no user bad in app/);
  });

  it('apply --server sets environment settings, client metadata and user attributes through the admin API', async () => {
    const file = join(server.dataDir, 'oidc.yaml');
    writeFileSync(
      file,
      `version: 1
environments:
  - name: app
    refresh_token_policy: offline_access
    clients:
      - name: declared-rp
        type: public
        grant_types: [authorization_code]
        redirect_uris: [https://declared.example.test/cb]
        post_logout_redirect_uris: [https://declared.example.test/bye]
        id_token_signed_response_alg: ES256
    users:
      - username: ada
        email: ada@declared.example.test
        email_verified: true
        zoneinfo: Europe/Paris
`,
    );
    const plan = ok(await viaServer(['plan', file]));
    assert.equal(
      plan,
      [
        '~ environment app',
        '    refresh_token_policy: "client" → "offline_access"',
        '+ client app/declared-rp',
        '~ user app/ada',
        '    email: "ada@lovelace.test" → "ada@declared.example.test"',
        '    email_verified: false → true',
        '    locale: "en-GB" → null',
        '    zoneinfo: "Europe/London" → "Europe/Paris"',
        '    phone_number: "+442071234567" → null',
        'Plan: 1 to create, 2 to update, 0 unchanged.',
        '',
      ].join('\n'),
      'undeclared attributes of a declared user are cleared',
    );
    ok(await viaServer(['apply', file]));
    const ada = await json(cli(['user', 'show', 'ada', '--env', 'app', '--json']));
    assert.deepEqual([ada.email, ada.email_verified, ada.zoneinfo, ada.given_name], ['ada@declared.example.test', true, 'Europe/Paris', null]);
    assert.equal((await json(cli(['env', 'show', 'app', '--json']))).refresh_token_policy, 'offline_access');
    assert.equal(ok(await viaServer(['plan', file])), 'Plan: 0 to create, 0 to update, 3 unchanged.\n');
    ok(await cli(['env', 'update', 'app', '--refresh-token-policy', 'client']));
  });

  it('client create and update set OpenID Connect metadata; client show prints it', async () => {
    const created = await json(
      cli([
        'client',
        'create',
        '--env',
        'app',
        '--name',
        'rp',
        '--grant-type',
        'authorization_code',
        '--redirect-uri',
        'https://rp.example.test/cb',
        '--post-logout-redirect-uri',
        'https://rp.example.test/bye',
        '--post-logout-redirect-uri',
        'https://rp.example.test/bye2',
        '--backchannel-logout-uri',
        'https://rp.example.test/bc',
        '--backchannel-logout-session-required',
        '--logout-revokes-tokens',
        '--id-token-signed-response-alg',
        'ES256',
        '--subject-type',
        'pairwise',
        '--json',
      ]),
    );
    const id = String(created.client_id);
    assert.deepEqual(
      [
        created.post_logout_redirect_uris,
        created.backchannel_logout_uri,
        created.backchannel_logout_session_required,
        created.logout_revokes_tokens,
        created.id_token_signed_response_alg,
        created.subject_type,
      ],
      [['https://rp.example.test/bye', 'https://rp.example.test/bye2'], 'https://rp.example.test/bc', true, true, 'ES256', 'pairwise'],
    );
    const updated = await json(
      viaServer([
        'client',
        'update',
        id,
        '--env',
        'app',
        '--id-token-signed-response-alg',
        'default',
        '--no-logout-revokes-tokens',
        '--backchannel-logout-uri',
        '',
        '--json',
      ]),
    );
    assert.deepEqual([updated.id_token_signed_response_alg, updated.logout_revokes_tokens, updated.backchannel_logout_uri], [null, false, null]);
    const local2 = await json(
      cli([
        'client',
        'update',
        id,
        '--env',
        'app',
        '--subject-type',
        'default',
        '--post-logout-redirect-uri',
        '',
        '--sector-identifier-uri',
        'https://rp.example.test/s.json',
        '--json',
      ]),
    );
    assert.deepEqual([local2.subject_type, local2.post_logout_redirect_uris, local2.sector_identifier_uri], [null, [], 'https://rp.example.test/s.json']);
    const shown = ok(await cli(['client', 'show', id, '--env', 'app']));
    assert.match(shown, /^sector_identifier_uri\s+https:\/\/rp\.example\.test\/s\.json$/m);
    assert.match(shown, /^post_logout_redirect_uris\s+-$/m);
    assert.deepEqual(
      (await json(viaServer(['client', 'show', id, '--env', 'app', '--json']))).sector_identifier_uri,
      'https://rp.example.test/s.json',
      'client show --server reads the same',
    );
    await refused(
      cli(['client', 'update', id, '--env', 'app', '--backchannel-logout-uri', 'http://rp.example.test/bc']),
      /backchannel_logout_uri must use https/,
    );
    await refused(
      viaServer(['client', 'update', id, '--env', 'app', '--post-logout-redirect-uri', 'https://rp.example.test/bye#x']),
      /must not have a fragment/,
    );
    await refused(cli(['client', 'update', id, '--env', 'app', '--id-token-signed-response-alg', 'HS256']), /Allowed choices are RS256, ES256, EdDSA, default/);
    await refused(cli(['client', 'create', '--env', 'app', '--name', 'x', '--subject-type', 'default']), /Allowed choices are public, pairwise/);
    await refused(cli(['client', 'update', id, '--env', 'app']), /nothing to change/);
  });
});
