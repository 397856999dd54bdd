import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { signCompactJwt } from '../../src/crypto/jwt.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { deleteUnusedRegisteredClients } from '../../src/oauth/registration/unused-clients.ts';
import { type CodeFlowFixture, obtainCode, REDIRECT_URI, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { manage, register, registrationAdmin, setRegistrationPolicy } from '../helpers/registration.ts';

const ENV = 'DEVELOPMENT';
const OTHER = 'STAGING';
const NATIVE = 'http://127.0.0.1/native-callback';

function assertError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  const body = res.json() as { error: string; error_description?: string };
  assert.equal(body.error, code, res.body);
  assert.ok(body.error_description, 'every error has a description (RFC 7591 §3.2.2)');
}

type Registered = Record<string, unknown> & { client_id: string; registration_access_token: string; registration_client_uri: string; client_secret?: string };

for (const database of await testDatabases()) {
  describe(`dynamic client registration (RFC 7591, RFC 7592) on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let fixture: CodeFlowFixture;

    const metadataDoc = async (path: string) => (await t.app.server.inject({ method: 'GET', url: path })).json() as Record<string, unknown>;
    const registered = async (body: unknown, options: { bearer?: string; from?: string } = {}): Promise<Registered> => {
      const res = await register(t, ENV, body, options);
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as Registered;
    };

    before(async () => {
      t = await suite.build();
      fixture = await setUpCodeFlow(t);
      await t.admin.createEnvironment(OTHER);
    });

    it('is off by default: 404 at /register and no registration_endpoint in either metadata document', async () => {
      assertError(await register(t, ENV, { redirect_uris: [REDIRECT_URI] }), 404, 'not_found');
      assert.equal((await metadataDoc(`/.well-known/oauth-authorization-server/envs/${ENV}`)).registration_endpoint, undefined);
      assert.equal((await metadataDoc(`/envs/${ENV}/.well-known/openid-configuration`)).registration_endpoint, undefined);
    });

    it('open registration: announced in both documents, a public client registers, reads, replaces, runs the code flow with PKCE and deletes itself', async () => {
      await setRegistrationPolicy(t, ENV, { mode: 'open', allowedScopes: ['invoices:read', 'invoices:write'], sourceLimitPerHour: 10_000 });
      const endpoint = `https://auth.example.test/envs/${ENV}/register`;
      assert.equal((await metadataDoc(`/.well-known/oauth-authorization-server/envs/${ENV}`)).registration_endpoint, endpoint);
      assert.equal((await metadataDoc(`/envs/${ENV}/.well-known/openid-configuration`)).registration_endpoint, endpoint);
      assert.equal((await metadataDoc(`/envs/${OTHER}/.well-known/openid-configuration`)).registration_endpoint, undefined);

      const res = await register(t, ENV, {
        redirect_uris: [REDIRECT_URI, NATIVE],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_name: 'Agent',
        scope: 'invoices:read',
        software_id: 'agent-1',
        unknown_field: 'ignored',
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const client = res.json() as Registered;
      assert.match(client.client_id, /^gh_/);
      assert.equal(client.client_secret, undefined, 'a public client gets no secret');
      assert.equal(client.client_id_issued_at, Math.floor(t.clock.now() / 1000));
      assert.equal(client.token_endpoint_auth_method, 'none');
      assert.deepEqual(client.redirect_uris, [REDIRECT_URI, NATIVE]);
      assert.equal(client.scope, 'invoices:read');
      assert.equal(client.software_id, 'agent-1');
      assert.equal(client.unknown_field, undefined, 'unknown metadata is ignored (RFC 7591 §2)');
      assert.equal(client.registration_client_uri, `${endpoint}/${client.client_id}`);

      // The admin view marks it, and the audit event's actor is the registration.
      assert.equal((await t.admin.getClient(ENV, client.client_id)).registration, 'dynamic');
      assert.equal((await t.admin.getClient(ENV, fixture.clientId)).registration, 'admin');
      await t.app.audit.stop();
      const [event] = await t.store.audit.list({ envName: ENV, type: 'client.registered', limit: 1 });
      assert.deepEqual(event?.actor, { kind: 'registration', id: client.client_id });
      assert.equal(event?.details.registration, 'dynamic');

      // RFC 7592 §2.1: read with the registration access token.
      const read = await manage(t, 'GET', client.registration_client_uri, client.registration_access_token);
      assert.equal(read.statusCode, 200, read.body);
      assert.equal((read.json() as Registered).client_name, 'Agent');
      assertError(await manage(t, 'GET', client.registration_client_uri, undefined), 401, 'invalid_token');
      const wrong = await manage(t, 'GET', client.registration_client_uri, 'not-the-token');
      assertError(wrong, 401, 'invalid_token');
      assert.match(String(wrong.headers['www-authenticate']), /^Bearer /);

      // The code flow with PKCE, as any public client.
      const { code, verifier } = await obtainCode(t, fixture, { clientId: client.client_id, scope: 'invoices:read' });
      const token = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: client.client_id, code_verifier: verifier }),
      });
      assert.equal(token.statusCode, 200, token.body);
      assert.equal((token.json() as { scope: string }).scope, 'invoices:read');

      // RFC 7592 §2.2: PUT replaces; omitted fields are deleted; the token rotates.
      const put = await manage(t, 'PUT', client.registration_client_uri, client.registration_access_token, {
        client_id: client.client_id,
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
      });
      assert.equal(put.statusCode, 200, put.body);
      const replaced = put.json() as Registered;
      assert.equal(replaced.client_name, undefined);
      assert.equal(replaced.software_id, undefined);
      assert.deepEqual(replaced.redirect_uris, [REDIRECT_URI]);
      assert.notEqual(replaced.registration_access_token, client.registration_access_token);
      assertError(await manage(t, 'GET', client.registration_client_uri, client.registration_access_token), 401, 'invalid_token');
      assert.deepEqual((await t.admin.getClient(ENV, client.client_id)).grant_types, ['authorization_code']);

      // RFC 7592 §2.3: DELETE answers 204; the client and its token are gone.
      const del = await manage(t, 'DELETE', client.registration_client_uri, replaced.registration_access_token);
      assert.equal(del.statusCode, 204, del.body);
      assertError(await manage(t, 'GET', client.registration_client_uri, replaced.registration_access_token), 401, 'invalid_token');
      await assert.rejects(t.admin.getClient(ENV, client.client_id), /no client/);
    });

    it('a confidential client gets a secret that never expires; an update must match client_id and the current secret', async () => {
      await setRegistrationPolicy(t, ENV, { mode: 'open', allowedAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'] });
      const client = await registered({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic', client_name: 'Server app' });
      assert.ok(client.client_secret && client.client_secret.length >= 43);
      assert.equal(client.client_secret_expires_at, 0);
      const read = (await manage(t, 'GET', client.registration_client_uri, client.registration_access_token)).json() as Registered;
      assert.equal(read.client_secret, undefined, 'the secret is stored hashed: never shown again');
      const body = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' };
      const token = client.registration_access_token;
      assertError(await manage(t, 'PUT', client.registration_client_uri, token, { ...body, client_id: 'gh_other' }), 400, 'invalid_client_metadata');
      assertError(
        await manage(t, 'PUT', client.registration_client_uri, token, { ...body, client_id: client.client_id, client_secret: 'guess' }),
        400,
        'invalid_client_metadata',
      );
      const kindChange = await manage(t, 'PUT', client.registration_client_uri, token, {
        ...body,
        client_id: client.client_id,
        token_endpoint_auth_method: 'none',
      });
      assertError(kindChange, 400, 'invalid_client_metadata');
      const ok = await manage(t, 'PUT', client.registration_client_uri, token, { ...body, client_id: client.client_id, client_secret: client.client_secret });
      assert.equal(ok.statusCode, 200, ok.body);
      // The secret authenticates at the token endpoint (client_credentials is not allowed: unauthorized for this grant).
      const tokenRes = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.client_id, client.client_secret ?? '') },
        payload: form({ grant_type: 'client_credentials' }),
      });
      assert.equal(tokenRes.statusCode, 400, tokenRes.body);
      assert.equal((tokenRes.json() as { error: string }).error, 'unauthorized_client');
    });

    it('a client registered in one environment is unknown in another', async () => {
      await setRegistrationPolicy(t, ENV, { mode: 'open' });
      await setRegistrationPolicy(t, OTHER, { mode: 'open' });
      const client = await registered({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
      const elsewhere = `https://auth.example.test/envs/${OTHER}/register/${client.client_id}`;
      assertError(await manage(t, 'GET', elsewhere, client.registration_access_token), 401, 'invalid_token');
      const browser = new TestBrowser(t);
      const res = await browser.authorize(
        { response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT_URI, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' },
        `/envs/${OTHER}/authorize`,
      );
      assert.equal(res.statusCode, 400, 'an unknown client gets an error page, never a redirect');
      assert.equal(res.headers.location, undefined);
    });

    it('initial access tokens: required, hashed, spent one use at a time, exactly k of N concurrent registrations with k uses', async () => {
      await setRegistrationPolicy(t, ENV, { mode: 'initial_access_token' });
      const admin = registrationAdmin(t);
      const body = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' };
      assertError(await register(t, ENV, body), 401, 'invalid_token');
      assertError(await register(t, ENV, body, { bearer: 'unknown' }), 401, 'invalid_token');
      const single = await admin.tokens.create({ env: ENV, description: 'one developer' });
      await registered(body, { bearer: single.token });
      assertError(await register(t, ENV, body, { bearer: single.token }), 401, 'invalid_token');
      const three = await admin.tokens.create({ env: ENV, uses: 3 });
      const results = await Promise.all(Array.from({ length: 8 }, () => register(t, ENV, body, { bearer: three.token })));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 201, 201, 401, 401, 401, 401, 401]);
      const listed = await admin.tokens.list(ENV);
      assert.equal(listed.find((x) => x.id === three.id)?.uses_left, 0);
      assert.ok(!JSON.stringify(listed).includes(three.token), 'the token is never shown again');
      // Expired: refused.
      const short = await admin.tokens.create({ env: ENV, expiresIn: 60 });
      t.clock.advance(61_000);
      assertError(await register(t, ENV, body, { bearer: short.token }), 401, 'invalid_token');
    });

    it('limits registrations per source address: 429 with Retry-After', async () => {
      await setRegistrationPolicy(t, ENV, { mode: 'open', sourceLimitPerHour: 2 });
      const body = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' };
      await registered(body, { from: '203.0.113.7' });
      await registered(body, { from: '203.0.113.7' });
      const third = await register(t, ENV, body, { from: '203.0.113.7' });
      assertError(third, 429, 'too_many_requests');
      assert.ok(Number(third.headers['retry-after']) > 0);
      await registered(body, { from: '203.0.113.8' });
      await setRegistrationPolicy(t, ENV, { sourceLimitPerHour: 10_000 });
    });

    it('answers each RFC 7591 §3.2.2 error as 400 JSON with a description; a trusted software statement takes precedence', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'vendor-1' } as Record<string, unknown>;
      await setRegistrationPolicy(t, ENV, { mode: 'open', softwareStatementIssuers: [{ issuer: 'https://vendor.example', jwks: { keys: [jwk] } }] });
      const statement = (iss: string) =>
        signCompactJwt({ alg: 'ES256', kid: 'vendor-1' }, { iss, client_name: 'Vendor App', software_id: 'vendor-app' }, privateKey, 'ES256');
      const base = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' };
      assertError(await register(t, ENV, { ...base, redirect_uris: ['https://app.example.test/cb#x'] }), 400, 'invalid_redirect_uri');
      assertError(await register(t, ENV, { ...base, token_endpoint_auth_method: 'client_secret_jwt' }), 400, 'invalid_client_metadata');
      assertError(await register(t, ENV, '{not json'), 400, 'invalid_client_metadata');
      assertError(await register(t, ENV, '[]'), 400, 'invalid_client_metadata');
      assertError(await register(t, ENV, { ...base, software_statement: 'garbage' }), 400, 'invalid_software_statement');
      assertError(await register(t, ENV, { ...base, software_statement: statement('https://stranger.example') }), 400, 'unapproved_software_statement');
      const client = await registered({ ...base, client_name: 'Claimed name', software_statement: statement('https://vendor.example') });
      assert.equal(client.client_name, 'Vendor App', 'the statement wins over the same field sent in the clear');
      assert.equal(client.software_id, 'vendor-app');
      await setRegistrationPolicy(t, ENV, { requireSoftwareStatement: true });
      assertError(await register(t, ENV, base), 400, 'unapproved_software_statement');
      await setRegistrationPolicy(t, ENV, { requireSoftwareStatement: false, softwareStatementIssuers: [] });
    });

    it('deletes dynamic clients unused for the policy days, keeps one used since, never admin clients', async () => {
      await setRegistrationPolicy(t, ENV, {
        mode: 'open',
        unusedClientDays: 1,
        allowedAuthMethods: ['none', 'client_secret_basic'],
        allowedGrantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        allowedScopes: ['invoices:read'],
      });
      const registeredAt = t.clock.now();
      const unused = await registered({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
      const used = await registered({
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        scope: 'invoices:read',
      });
      // A day and a half later, the second client gets a token and the node writes its usage records.
      t.clock.advance(36 * 3_600_000);
      const use = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(used.client_id, used.client_secret ?? '') },
        payload: form({ grant_type: 'client_credentials' }),
      });
      assert.equal(use.statusCode, 200, use.body);
      await t.app.usage.flush();
      const clock = new ManualClock(registeredAt + 2 * 86_400_000);
      const deleted = await deleteUnusedRegisteredClients(t.store, clock, t.app.audit.recorder);
      assert.ok(deleted >= 1);
      await assert.rejects(t.admin.getClient(ENV, unused.client_id), /no client/);
      assert.equal((await t.admin.getClient(ENV, used.client_id)).registration, 'dynamic', 'used within the policy days: kept');
      assert.equal((await t.admin.getClient(ENV, fixture.clientId)).registration, 'admin');
      await setRegistrationPolicy(t, ENV, { unusedClientDays: null });
    });
  });
}
