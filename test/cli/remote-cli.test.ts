import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/net.ts';
import { type ProductionServer, productionServer, tokenRequest } from '../helpers/production-server.ts';

const FILE = `version: 1
environments:
  - name: CI
    clients:
      - name: billing-worker
        scopes: [invoices:read]
      - name: reporting
        scopes: [reports:read]
        quota: 60
      - name: web
        grant_types: [authorization_code, refresh_token]
        scopes: [invoices:read]
        redirect_uris: [https://app.example.test/callback]
`;

/** Output with what differs between two runs of the same command (ids, secrets, times) masked. */
const masked = (text: string) =>
  text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME')
    .replace(/\bgh_[\w-]+/g, 'ID')
    .replace(/^(client_secret\s+)\S+/m, '$1SECRET');

describe('the CLI against a running node (--server)', { timeout: 600_000 }, () => {
  let server: ProductionServer;
  let local: NodeJS.ProcessEnv;
  let remote: NodeJS.ProcessEnv;
  let adminUrl: string;
  let readOnly: { id: string; secret: string };

  const cli = (args: string[]) => runCli(args, local);
  const viaServer = (args: string[], env: NodeJS.ProcessEnv = remote) => runCli([...args, '--server', adminUrl], env);
  const ok = (result: CliResult) => {
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
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
    // The CLI process of an operator elsewhere: the public URL (for the token endpoint) and the admin credentials, nothing else.
    remote = {
      PATH: process.env.PATH,
      GATEHOUSE_PUBLIC_URL: server.baseUrl,
      GATEHOUSE_ADMIN_CLIENT_ID: admin.client_id,
      GATEHOUSE_ADMIN_CLIENT_SECRET: admin.client_secret,
    };
    ok(await cli(['env', 'create', 'app']));
    ok(await cli(['service-account', 'create', '--env', 'app', '--name', 'batch', '--scope', 'jobs:run']));
    ok(await cli(['api', 'create', '--env', 'app', '--identifier', 'https://api.example.test/', '--name', 'Example', '--scope', 'read:Read things']));
    await server.cli(['user', 'create', '--env', 'app', '--username', 'alice', '--password-stdin'], 'correct horse battery staple\n');
    const ro = JSON.parse(ok(await cli(['client', 'create', '--env', 'gatehouse-admin', '--name', 'auditor', '--scope', 'admin:read', '--json'])));
    ok(await cli(['api', 'allow-client', 'urn:gatehouse:admin-api', ro.client_id, '--env', 'gatehouse-admin']));
    readOnly = { id: ro.client_id, secret: ro.client_secret };
    await server.start(1);
  });

  after(async () => server?.dispose());

  it('prints what the local CLI prints, for reads and writes', async () => {
    for (const args of [
      ['env', 'list'],
      ['api', 'list', '--env', 'app'],
      ['service-account', 'list', '--env', 'app'],
      ['user', 'list', '--env', 'app'],
      ['keys', 'list', '--env', 'app'],
    ]) {
      assert.equal(ok(await viaServer(args)), ok(await cli(args)), args.join(' '));
    }
    const created = ok(await viaServer(['client', 'create', '--env', 'app', '--name', 'web', '--scope', 'read write', '--quota', '50']));
    const twin = ok(await cli(['client', 'create', '--env', 'app', '--name', 'web', '--scope', 'read write', '--quota', '50']));
    assert.equal(masked(created), masked(twin));
    assert.match(created, /Store the client_secret now/);
    const id = /^client_id\s+(\S+)/m.exec(created)?.[1] ?? '';

    for (const args of [
      ['client', 'list', '--env', 'app'],
      ['client', 'show', id, '--env', 'app'],
      ['client', 'list', '--env', 'app', '--json'],
    ]) {
      assert.equal(ok(await viaServer(args)), ok(await cli(args)), args.join(' '));
    }
    assert.match(ok(await viaServer(['client', 'list', '--env', 'app'])), /service_account/, 'service accounts are listed with the clients, as locally');

    assert.equal(ok(await viaServer(['client', 'disable', id, '--env', 'app'])), `client ${id} disabled\n`);
    assert.equal(JSON.parse(ok(await cli(['client', 'show', id, '--env', 'app', '--json']))).enabled, false);
    ok(await viaServer(['client', 'set-quota', id, '--env', 'app', '--unlimited']));
    assert.equal(JSON.parse(ok(await cli(['client', 'show', id, '--env', 'app', '--json']))).quota, null);
    const allowed = JSON.parse(ok(await viaServer(['api', 'allow-client', 'https://api.example.test/', id, '--env', 'app', '--json'])));
    assert.deepEqual(allowed.clients, [id]);

    const rotated = JSON.parse(ok(await viaServer(['client', 'rotate-secret', id, '--env', 'app', '--overlap', '0', '--json'])));
    assert.deepEqual(Object.keys(rotated), ['client_id', 'client_secret', 'previous_secrets_expire_at']);
    const [account] = JSON.parse(ok(await cli(['service-account', 'list', '--env', 'app', '--json'])));
    const key = JSON.parse(ok(await viaServer(['service-account', 'key', 'create', account.service_account_id, '--env', 'app', '--json'])));
    assert.match(key.private_key_pem, /BEGIN PRIVATE KEY/);
    assert.equal(
      ok(await viaServer(['service-account', 'key', 'list', account.service_account_id, '--env', 'app'])),
      ok(await cli(['service-account', 'key', 'list', account.service_account_id, '--env', 'app'])),
    );
    for (const args of [
      ['user', 'disable', 'alice', '--env', 'app'],
      ['env', 'set-quota', 'app', '--quota', '500'],
    ]) {
      const there = ok(await viaServer(args));
      assert.equal(masked(there), masked(ok(await cli(args))), args.join(' '));
    }
    assert.equal(ok(await viaServer(['user', 'list', '--env', 'app'])), ok(await cli(['user', 'list', '--env', 'app'])));

    // The changes above are audit events of the admin client; the audit log reads the same both ways.
    for (const args of [
      ['audit', 'list', '--env', 'app'],
      ['audit', 'list', '--env', 'app', '--type', 'client.updated', '--since', '1h', '--json'],
    ]) {
      assert.equal(ok(await viaServer(args)), ok(await cli(args)), args.join(' '));
    }
    // Through the admin API, disabling is a client update (PATCH enabled), recorded as the same
    // event a local `client disable` records, with the admin client as actor.
    const disabled = JSON.parse(ok(await viaServer(['audit', 'list', '--env', 'app', '--type', 'client.disabled', '--json'])));
    assert.deepEqual(disabled.at(-1)?.details, { changed: ['enabled'] });
    assert.equal(disabled.at(-1)?.actor.kind, 'admin_client');
  });

  it('fails as the local CLI fails: same message, exit code 1', async () => {
    for (const args of [
      ['client', 'show', 'gh_nope', '--env', 'app'],
      ['env', 'create', 'app'],
      ['client', 'list', '--env', 'nowhere'],
      ['client', 'create', '--env', 'app', '--name', 'x', '--grant-type', 'password'],
    ]) {
      const [there, here] = [await viaServer(args), await cli(args)];
      assert.deepEqual([there.code, there.stderr, there.stdout], [here.code, here.stderr, here.stdout], args.join(' '));
      assert.equal(there.code, 1, args.join(' '));
    }
  });

  it('revokes a signing key through the admin API as the local CLI does, refusals included', async () => {
    // `--server` before the command: after `--`, everything is an argument.
    const remotely = (args: string[]) => runCli(['--server', adminUrl, ...args], remote);
    ok(await cli(['env', 'create', 'leak']));
    type Key = { kid: string; alg: string; status: string };
    const active = (JSON.parse(ok(await cli(['keys', 'list', '--env', 'leak', '--json']))) as Key[]).find((k) => k.alg === 'ES256');
    assert.ok(active);
    const revoked = JSON.parse(ok(await remotely(['keys', 'revoke', '--env', 'leak', '--json', '--', active.kid])));
    assert.equal(revoked.kid, active.kid);
    assert.ok(revoked.replaced_by);
    assert.deepEqual(
      (JSON.parse(ok(await cli(['keys', 'list', '--env', 'leak', '--json']))) as Key[]).filter((k) => k.alg === 'ES256').map((k) => [k.kid, k.status]),
      [
        [revoked.replaced_by, 'active'],
        [active.kid, 'revoked'],
      ],
    );
    assert.match(ok(await viaServer(['keys', 'list', '--env', 'leak'])), new RegExp(`${active.kid}\\s+ES256\\s+revoked\\s+false`));
    for (const args of [
      ['keys', 'revoke', '--env', 'leak', '--', active.kid],
      ['keys', 'revoke', '--env', 'leak', 'no-such-kid'],
      ['keys', 'revoke', '--env', 'nowhere', 'no-such-kid'],
    ]) {
      const [there, here] = [await remotely(args), await cli(args)];
      assert.deepEqual([there.code, there.stderr, there.stdout], [here.code, here.stderr, here.stdout], args.join(' '));
      assert.equal(there.code, 1, args.join(' '));
    }
    const events = JSON.parse(ok(await cli(['audit', 'list', '--env', 'leak', '--type', 'signing_key.revoked', '--json'])));
    assert.equal(events.at(-1)?.actor.kind, 'admin_client');
    assert.deepEqual(events.at(-1)?.details, { replaced_by: revoked.replaced_by });
    // The RS256 lineage through the admin API: rotated on its own, refusals as the local CLI words them.
    const rotated = JSON.parse(ok(await remotely(['keys', 'rotate', '--alg', 'RS256', '--env', 'leak', '--json']))) as Key[];
    assert.deepEqual([rotated[0]?.alg, rotated[0]?.status], ['RS256', 'next']);
    const again = ['keys', 'rotate', '--alg', 'RS256', '--env', 'leak'];
    const [there, here] = [await remotely(again), await cli(again)];
    assert.deepEqual([there.code, there.stderr, there.stdout], [here.code, here.stderr, here.stdout]);
    assert.match(there.stderr, /already has a next RS256 key/);
  });

  it('applies a file with three clients twice: changes, then none', async () => {
    const file = join(server.dataDir, 'gatehouse.yaml');
    writeFileSync(file, FILE);
    assert.equal((await viaServer(['plan', file, '--exit-code'])).code, 2);
    const applied = ok(await viaServer(['apply', file]));
    assert.match(applied, /^Applied: 4 to create, 0 to update, 0 unchanged\.$/m);
    assert.equal([...applied.matchAll(/client CI\/\S+: client_id gh_\S+\s+client_secret \S+/g)].length, 3, 'each confidential client gets its secret once');
    const again = await viaServer(['plan', file, '--exit-code']);
    assert.equal(again.code, 0, again.stdout);
    assert.match(ok(await viaServer(['apply', file])), /^Applied: 0 to create, 0 to update, 4 unchanged\.$/m);
    assert.equal((await cli(['plan', file, '--exit-code'])).code, 0, 'the local CLI sees the same state');
  });

  it("sets a service account's quota and disables it through the client commands, as locally", async () => {
    const [account] = JSON.parse(ok(await cli(['service-account', 'list', '--env', 'app', '--json'])));
    const id = String(account.service_account_id);
    for (const args of [
      ['client', 'set-quota', id, '--env', 'app', '--quota', '7'],
      ['client', 'disable', id, '--env', 'app'],
      ['client', 'enable', id, '--env', 'app'],
    ]) {
      const there = ok(await viaServer(args));
      assert.equal(there, ok(await cli(args)), args.join(' '));
    }
    assert.equal(JSON.parse(ok(await cli(['client', 'show', id, '--env', 'app', '--json']))).quota, 7);
    const refused = await viaServer(['client', 'update', id, '--env', 'app', '--name', 'renamed']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is a service account, not a client/);
  });

  it("changes an environment's sign-in policy, metadata-document settings and DPoP nonces, by command and by file, as the local CLI does", async () => {
    const show = (args: string[]) => [...args, '--env', 'app', '--json'];
    ok(await viaServer(['sign-in-policy', 'set', '--env', 'app', '--second-factor', 'required', '--required-scope', 'jobs:run']));
    const policy = JSON.parse(ok(await cli(show(['sign-in-policy', 'show']))));
    assert.equal(policy.second_factor, 'required');
    assert.deepEqual(policy.required_scopes, ['jobs:run']);
    assert.equal(ok(await viaServer(show(['sign-in-policy', 'show']))), ok(await cli(show(['sign-in-policy', 'show']))));

    ok(await viaServer(['metadata-documents', 'set', '--env', 'app', '--enable', '--allow-host', 'mcp.example.test', '--scope', 'jobs:run']));
    const documents = JSON.parse(ok(await cli(show(['metadata-documents', 'show']))));
    assert.equal(documents.enabled, true);
    assert.deepEqual(documents.allowed_hosts, ['mcp.example.test']);
    assert.equal(ok(await viaServer(show(['metadata-documents', 'show']))), ok(await cli(show(['metadata-documents', 'show']))));

    const file = join(server.dataDir, 'settings.yaml');
    writeFileSync(
      file,
      `version: 1
environments:
  - name: SETTINGS
    dpop_nonce_required: true
    sign_in:
      second_factor: optional
    client_metadata_documents:
      enabled: true
      allowed_hosts: [claude.ai]
      scopes: [mcp:tools]
`,
    );
    assert.equal((await viaServer(['plan', file, '--exit-code'])).code, 2);
    ok(await viaServer(['apply', file]));
    const again = await viaServer(['plan', file, '--exit-code']);
    assert.equal(again.code, 0, again.stdout);
    assert.equal((await cli(['plan', file, '--exit-code'])).code, 0, 'the local CLI sees the same state');
    assert.deepEqual(JSON.parse(ok(await cli(['metadata-documents', 'show', '--env', 'SETTINGS', '--json']))).allowed_hosts, ['claude.ai']);
    assert.equal(JSON.parse(ok(await cli(['sign-in-policy', 'show', '--env', 'SETTINGS', '--json']))).second_factor, 'optional');
    assert.equal(JSON.parse(ok(await cli(['env', 'show', 'SETTINGS', '--json']))).dpop_nonce_required, true);
  });

  it('refuses writes to a token without admin:write, naming the scope', async () => {
    const auditor = { ...remote, GATEHOUSE_ADMIN_CLIENT_ID: readOnly.id, GATEHOUSE_ADMIN_CLIENT_SECRET: readOnly.secret };
    assert.equal(ok(await viaServer(['env', 'list'], auditor)), ok(await cli(['env', 'list'])));
    const refused = await viaServer(['env', 'create', 'other'], auditor);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /admin:write/);
    assert.ok(!refused.stderr.includes(readOnly.secret));
  });

  it('names what is missing: credentials, a reachable server; keeps local-only commands local', async () => {
    const bare = await viaServer(['env', 'list'], { PATH: process.env.PATH });
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /GATEHOUSE_ADMIN_CLIENT_ID/);
    const wrong = await viaServer(['env', 'list'], { ...remote, GATEHOUSE_ADMIN_CLIENT_SECRET: 'not-the-secret' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /token endpoint refused/);
    assert.ok(!wrong.stderr.includes('not-the-secret'));
    const closed = await runCli(['env', 'list', '--server', `http://127.0.0.1:${await freePort()}`], { ...remote, GATEHOUSE_ADMIN_TOKEN: 'x' });
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /cannot reach/);
    for (const args of [['migrate'], ['serve'], ['admin', 'bootstrap']]) {
      const refused = await viaServer(args);
      assert.equal(refused.code, 1, args.join(' '));
      assert.match(refused.stderr, /works on this machine only/);
    }
  });

  it('serves the audit log to admin:read and refuses a malformed filter', async () => {
    const issued = await tokenRequest(server.baseUrl, 'gatehouse-admin', readOnly);
    const token = String(JSON.parse(issued.body).access_token);
    const get = (query: string) => fetch(`${adminUrl}/admin/v1/audit-events${query}`, { headers: { authorization: `Bearer ${token}` } });
    const listed = await get('?limit=2&env=app');
    assert.equal(listed.status, 200);
    const events = (await listed.json()) as { environment: { name: string } }[];
    assert.equal(events.length, 2);
    assert.ok(events.every((e) => e.environment.name === 'app'));
    for (const [query, field] of [
      ['?since=yesterday', 'since'],
      ['?limit=0', 'limit'],
      ['?type=nothing.happened', 'type'],
    ] as const) {
      const refused = await get(query);
      assert.equal(refused.status, 400, query);
      assert.equal(((await refused.json()) as { field?: string }).field, field);
    }
  });
});
