import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { AdminService } from '../../src/admin/admin-service.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { Api, Environment, User } from '../../src/domain/model.ts';
import type { Store } from '../../src/domain/storage.ts';
import { GatehouseMetrics } from '../../src/observability/metrics.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer } from '../../src/server/server.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore, type TestApp, testConfig } from '../helpers/fixtures.ts';
import { createOidcClient, createOidcEnv, createProfileUser, insertCode, OIDC_REDIRECT_URI, type OidcClient, signInOidc } from '../helpers/openid.ts';

const ENV = 'USERINFO';
const ISSUER = `${PUBLIC_URL}/envs/${ENV}`;
const API = 'https://api.example.test/invoices';

interface TokenBody {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

/** Checks an RFC 6750 §3 refusal: status, challenge with its error code, JSON body, never cached. */
function assertRefused(res: LightMyRequestResponse, status: number, code: string | undefined): void {
  assert.equal(res.statusCode, status, res.body);
  const challenge = String(res.headers['www-authenticate']);
  assert.match(challenge, /^Bearer realm="gatehouse"/);
  if (code === undefined) assert.equal(challenge, 'Bearer realm="gatehouse"');
  else assert.match(challenge, new RegExp(`error="${code}"`));
  assert.equal(res.headers['cache-control'], 'no-store');
  if (code !== undefined) assert.equal(res.json().error, code);
}

for (const database of await testDatabases()) {
  describe(`UserInfo (OpenID Connect Core §5.3) on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let env: Environment;
    let rp: OidcClient;
    let ada: User;
    let bare: User;

    const issue = async (user: User, scope: string[], options: { client?: OidcClient; resource?: string; oidc?: boolean } = {}): Promise<TokenBody> => {
      const client = options.client ?? rp;
      const code = await insertCode(t, {
        envId: env.id,
        clientId: client.clientId,
        userId: user.userId,
        scope,
        ...(options.oidc === false ? {} : { oidc: signInOidc(t) }),
        ...(options.resource ? { resources: [options.resource] } : {}),
      });
      const res = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.secret) },
        payload: form({ grant_type: 'authorization_code', code: code.code, code_verifier: code.verifier, redirect_uri: OIDC_REDIRECT_URI }),
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as TokenBody;
    };
    const get = (accessToken?: string, url = `/envs/${ENV}/userinfo`) =>
      t.app.server.inject({ method: 'GET', url, headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {} });
    const postHeader = (accessToken: string) =>
      t.app.server.inject({ method: 'POST', url: `/envs/${ENV}/userinfo`, headers: { authorization: `Bearer ${accessToken}` } });
    const postBody = (accessToken: string, headers: Record<string, string> = {}) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/userinfo`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: form({ access_token: accessToken }),
      });

    before(async () => {
      t = await suite.build();
      env = await createOidcEnv(t, ENV);
      rp = await createOidcClient(t, ENV);
      ada = await createProfileUser(t, env.id, {
        email: 'ada@example.test',
        emailVerified: true,
        name: 'Ada Lovelace',
        givenName: 'Ada',
        familyName: 'Lovelace',
        picture: 'https://example.test/ada.png',
        locale: 'en-GB',
        zoneinfo: 'Europe/London',
        phoneNumber: '+441234567890',
        phoneNumberVerified: false,
        address: { street_address: '12 St James Square', locality: 'London', country: 'GB', region: '' },
      });
      bare = await createProfileUser(t, env.id);
    });

    it('answers GET, POST with the header and POST with a form body, with the same sub as the ID Token (oidcc-userinfo-get/post-header/post-body)', async () => {
      const tokens = await issue(ada, ['openid']);
      const idSub = JSON.parse(Buffer.from(String(tokens.id_token).split('.')[1] as string, 'base64url').toString()).sub;
      for (const res of [await get(tokens.access_token), await postHeader(tokens.access_token), await postBody(tokens.access_token)]) {
        assert.equal(res.statusCode, 200, res.body);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.deepEqual(res.json(), { sub: ada.userId });
        assert.equal(res.json().sub, idSub);
      }
    });

    it('gives the claims of each granted scope, and only those (oidcc-scope-profile/email/address/phone/all)', async () => {
      const claimsFor = async (scope: string[]) => (await get((await issue(ada, scope)).access_token)).json() as Record<string, unknown>;
      const updatedAt = Math.floor(ada.updatedAt / 1000);
      assert.deepEqual(await claimsFor(['openid', 'profile']), {
        sub: ada.userId,
        name: 'Ada Lovelace',
        given_name: 'Ada',
        family_name: 'Lovelace',
        preferred_username: ada.username,
        picture: 'https://example.test/ada.png',
        locale: 'en-GB',
        zoneinfo: 'Europe/London',
        updated_at: updatedAt,
      });
      assert.deepEqual(await claimsFor(['openid', 'email']), { sub: ada.userId, email: 'ada@example.test', email_verified: true });
      assert.deepEqual(await claimsFor(['openid', 'phone']), { sub: ada.userId, phone_number: '+441234567890', phone_number_verified: false });
      // Empty members are left out of the address.
      assert.deepEqual(await claimsFor(['openid', 'address']), {
        sub: ada.userId,
        address: { street_address: '12 St James Square', locality: 'London', country: 'GB' },
      });
      const all = await claimsFor(['openid', 'profile', 'email', 'phone', 'address']);
      for (const claim of ['name', 'email', 'phone_number', 'address', 'preferred_username']) assert.ok(claim in all, claim);
    });

    it('leaves out the claims a user has no value for', async () => {
      const claims = (await get((await issue(bare, ['openid', 'profile', 'email', 'phone', 'address'])).access_token)).json();
      assert.deepEqual(claims, { sub: bare.userId, preferred_username: bare.username, updated_at: Math.floor(bare.updatedAt / 1000) });
    });

    it('gives the pairwise subject of the client the token was issued to', async () => {
      const e = await createOidcEnv(t, 'USERINFO_PAIRWISE', { subjectType: 'pairwise' });
      const client = await createOidcClient(t, 'USERINFO_PAIRWISE');
      const u = await createProfileUser(t, e.id);
      const code = await insertCode(t, { envId: e.id, clientId: client.clientId, userId: u.userId, scope: ['openid'], oidc: signInOidc(t) });
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/envs/USERINFO_PAIRWISE/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.secret) },
        payload: form({ grant_type: 'authorization_code', code: code.code, code_verifier: code.verifier, redirect_uri: OIDC_REDIRECT_URI }),
      });
      const tokens = res.json() as TokenBody;
      const idSub = JSON.parse(Buffer.from(String(tokens.id_token).split('.')[1] as string, 'base64url').toString()).sub;
      const info = await t.app.server.inject({
        method: 'GET',
        url: '/envs/USERINFO_PAIRWISE/userinfo',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(info.statusCode, 200, info.body);
      assert.equal(info.json().sub, idSub);
      assert.notEqual(idSub, u.userId);
    });

    it('refuses a missing, malformed, unknown, expired or revoked token with the RFC 6750 challenge', async () => {
      assertRefused(await get(), 401, undefined);
      assertRefused(await t.app.server.inject({ method: 'GET', url: `/envs/${ENV}/userinfo`, headers: { authorization: 'Bearer' } }), 400, 'invalid_request');
      assertRefused(await get('gat_unknown'), 401, 'invalid_token');
      assertRefused(await get('eyJhbGciOiJFUzI1NiJ9.e30.c2ln'), 401, 'invalid_token');
      const expiring = await issue(ada, ['openid']);
      t.clock.advance(3601_000);
      assertRefused(await get(expiring.access_token), 401, 'invalid_token');
      const revoked = await issue(ada, ['openid']);
      const revocation = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/revoke`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(rp.clientId, rp.secret) },
        payload: form({ token: revoked.refresh_token as string }),
      });
      assert.equal(revocation.statusCode, 200);
      assertRefused(await get(revoked.access_token), 401, 'invalid_token');
    });

    it('refuses a token in the query string, and one sent twice', async () => {
      const tokens = await issue(ada, ['openid']);
      assertRefused(await get(undefined, `/envs/${ENV}/userinfo?access_token=${tokens.access_token}`), 400, 'invalid_request');
      assertRefused(await postBody(tokens.access_token, { authorization: `Bearer ${tokens.access_token}` }), 400, 'invalid_request');
    });

    it('refuses an ID Token presented as a bearer token, whichever key signed it', async () => {
      const tokens = await issue(ada, ['openid']);
      assertRefused(await get(tokens.id_token), 401, 'invalid_token');
      // Signed with the access-token key itself (ES256): refused for its typ, JWT and not at+jwt.
      const es256 = await createOidcClient(t, ENV, { oidc: { idTokenSignedResponseAlg: 'ES256' } });
      const sameKey = await issue(ada, ['openid'], { client: es256 });
      const header = JSON.parse(Buffer.from(String(sameKey.id_token).split('.')[0] as string, 'base64url').toString());
      const accessHeader = JSON.parse(Buffer.from(sameKey.access_token.split('.')[0] as string, 'base64url').toString());
      assert.equal(header.kid, accessHeader.kid);
      assertRefused(await get(sameKey.id_token), 401, 'invalid_token');
      assert.equal((await get(sameKey.access_token)).statusCode, 200);
    });

    it('refuses a token without openid with insufficient_scope (403)', async () => {
      const tokens = await issue(ada, ['profile', 'email'], { oidc: false });
      assertRefused(await get(tokens.access_token), 403, 'insufficient_scope');
    });

    it('accepts a token for an API that carries openid, and refuses one for an API without it', async () => {
      const now = t.clock.now();
      const api: Api = {
        envId: env.id,
        identifier: API,
        name: 'Invoices',
        scopes: [{ name: 'invoices:read', description: 'Read invoices' }],
        tokenFormat: 'jwt',
        accessTokenTtl: null,
        clientIds: [rp.clientId],
        isDefault: false,
        createdAt: now,
        updatedAt: now,
      };
      await t.store.apis.create(api);
      t.app.core.apis.invalidate(env.id);
      const withOpenid = await issue(ada, ['openid', 'email', 'invoices:read'], { resource: API });
      const claims = JSON.parse(Buffer.from(withOpenid.access_token.split('.')[1] as string, 'base64url').toString());
      assert.deepEqual(claims.aud, [API, `${ISSUER}/userinfo`]);
      const ok = await get(withOpenid.access_token);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().email, 'ada@example.test');
      // Introspection knows the UserInfo audience.
      const introspected = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/introspect`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(rp.clientId, rp.secret) },
        payload: form({ token: withOpenid.access_token }),
      });
      assert.equal(introspected.json().active, true);
      const apiOnly = await issue(ada, ['invoices:read'], { resource: API, oidc: false });
      const refused = await get(apiOnly.access_token);
      assertRefused(refused, 401, 'invalid_token');
      assert.match(refused.json().error_description, /not for this endpoint/);
    });

    it('refuses the token of a disabled user, and of a client-credentials client', async () => {
      const u = await createProfileUser(t, env.id, { email: 'gone@example.test' });
      const tokens = await issue(u, ['openid', 'email']);
      assert.equal((await get(tokens.access_token)).statusCode, 200);
      await t.store.users.setEnabled(env.id, u.username, false, t.clock.now());
      assertRefused(await get(tokens.access_token), 401, 'invalid_token');
      const machine = await t.admin.createClient({ env: ENV, name: 'Machine', grantTypes: ['client_credentials'], scopes: ['openid'] });
      const res = await t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(machine.client_id, machine.client_secret as string) },
        payload: form({ grant_type: 'client_credentials', scope: 'openid' }),
      });
      assert.equal(res.statusCode, 200, res.body);
      assertRefused(await get(res.json().access_token), 401, 'invalid_token');
    });

    it('answers 404 for an unknown environment', async () => {
      const res = await t.app.server.inject({ method: 'GET', url: '/envs/NOPE/userinfo', headers: { authorization: 'Bearer gat_x' } });
      assert.equal(res.statusCode, 404, res.body);
    });
  });
}

describe('UserInfo requests are counted like the other API requests', () => {
  it('reports each request to the metrics with its outcome', async () => {
    const database = (await testDatabases())[0];
    assert.ok(database);
    const { store, cleanup } = await database.open();
    const observed: unknown[][] = [];
    const metrics = new GatehouseMetrics({ maxClients: 100, processMetrics: false });
    const observe = metrics.observeRequest.bind(metrics);
    metrics.observeRequest = (...args) => {
      observed.push(args.slice(0, 5));
      observe(...args);
    };
    const t = await buildTestAppWithMetrics(store, metrics);
    try {
      const env = await createOidcEnv(t, ENV);
      const client = await createOidcClient(t, ENV);
      const user = await createProfileUser(t, env.id);
      const code = await insertCode(t, { envId: env.id, clientId: client.clientId, userId: user.userId, scope: ['openid'], oidc: signInOidc(t) });
      const tokens = (
        await t.app.server.inject({
          method: 'POST',
          url: `/envs/${ENV}/token`,
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.secret) },
          payload: form({ grant_type: 'authorization_code', code: code.code, code_verifier: code.verifier, redirect_uri: OIDC_REDIRECT_URI }),
        })
      ).json() as TokenBody;
      observed.length = 0;
      await t.app.server.inject({ method: 'GET', url: `/envs/${ENV}/userinfo`, headers: { authorization: `Bearer ${tokens.access_token}` } });
      await t.app.server.inject({ method: 'GET', url: `/envs/${ENV}/userinfo`, headers: { authorization: 'Bearer gat_unknown' } });
      await t.app.server.inject({ method: 'GET', url: '/envs/NOPE/userinfo' });
      assert.deepEqual(observed, [
        ['userinfo', 'standard', ENV, undefined, '2xx'],
        ['userinfo', 'standard', ENV, undefined, 'invalid_token'],
        ['userinfo', 'standard', 'unknown', undefined, 'not_found'],
      ]);
    } finally {
      await t.app.stop();
      await cleanup();
    }
  });
});

async function buildTestAppWithMetrics(store: Store, metrics: GatehouseMetrics): Promise<TestApp> {
  const config = testConfig();
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
  const app = await createServer(config, { store, clock, logger: createLogger('silent'), metrics });
  return { app, admin: new AdminService(config, config.keySecret, store, app.core, clock), clock, config, store };
}
