import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { importJWK, SignJWT } from 'jose';
import { type CreatedKey, ServiceAccountService } from '../../src/admin/service-accounts.ts';
import type { Config } from '../../src/config/config.ts';
import { obtainCode, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form, PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { createEnvironments, jsonAnswer, postJson, surfacesConfig } from '../helpers/surfaces.ts';

const FORM = 'application/x-www-form-urlencoded';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const RATE_LIMIT_HEADERS = ['ratelimit', 'ratelimit-policy'];

type Response = LightMyRequestResponse;
interface Credentials {
  id: string;
  secret: string;
}

/** Asserts the RateLimit-* headers of a client with a quota; `reset` is checked exactly when given. */
function assertRateLimit(res: Response, limit: number, remaining: number, reset?: number, window = 60): void {
  assert.equal(res.headers['ratelimit-policy'], `"quota";q=${limit};w=${window}`, 'RateLimit-Policy');
  const fields = /^"quota";r=(\d+);t=(\d+)$/.exec(String(res.headers.ratelimit));
  assert.ok(fields, `RateLimit ${res.headers.ratelimit}`);
  assert.equal(fields[1], String(remaining), 'RateLimit remaining (r)');
  const seconds = Number(fields[2]);
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= window, `RateLimit reset (t) ${fields[2]}`);
  if (reset !== undefined) assert.equal(seconds, reset, 'RateLimit reset (t)');
}

function assertNoRateLimit(res: Response): void {
  for (const header of RATE_LIMIT_HEADERS) assert.equal(res.headers[header], undefined, header);
}

/** A 200 token response of the standard surface carrying the client's quota state. */
function assertIssued(res: Response, limit: number, remaining: number, reset?: number, window = 60): void {
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(typeof (res.json() as { access_token?: unknown }).access_token, 'string');
  assertRateLimit(res, limit, remaining, reset, window);
}

/** The headers of a quota refusal: Retry-After (the seconds left in the window) equal to RateLimit's t, nothing remaining. */
function assertRefusalHeaders(res: Response, limit: number, retryAfter?: number, window = 60): void {
  const retry = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= window, `Retry-After ${res.headers['retry-after']}`);
  if (retryAfter !== undefined) assert.equal(retry, retryAfter, 'Retry-After');
  assertRateLimit(res, limit, 0, retry, window);
}

/** RFC 6749's answer to a client over its quota: 429 too_many_requests. */
function assertOverQuota(res: Response, limit: number, retryAfter?: number, window = 60): void {
  const body = jsonAnswer(res, 429);
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
  assert.equal(body.error, 'too_many_requests');
  assert.match(String(body.error_description), /quota/);
  assertRefusalHeaders(res, limit, retryAfter, window);
}

/** Moves `t`'s clock to `offsetMs` into the next quota window. */
function toNextWindow(t: TestApp, offsetMs = 0, windowMs = 60_000): void {
  t.clock.advance(windowMs - (t.clock.now() % windowMs) + offsetMs);
}

for (const database of await testDatabases()) {
  describe(`per-client request quotas on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /** A fresh app and environment; `client(quota)` registers a confidential client_credentials client. */
    async function setup(overrides: Partial<Config> = {}) {
      const t = await suite.build(overrides);
      const env = `quota-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const client = async (quota: number | null = null): Promise<Credentials> => {
        const created = await t.admin.createClient({ env, name: 'svc', scopes: ['read'], quota });
        assert.equal(created.quota, quota);
        return { id: created.client_id, secret: String(created.client_secret) };
      };
      const post = (path: string, c: Credentials, params: Record<string, string>, app: TestApp = t) =>
        app.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/${path}`,
          headers: { authorization: basic(c.id, c.secret), 'content-type': FORM },
          payload: form(params),
        });
      const token = (c: Credentials, app: TestApp = t) => post('token', c, { grant_type: 'client_credentials' }, app);
      return { t, env, client, post, token };
    }

    it('a client with quota 3 gets 3 tokens per window with RateLimit-* headers, then 429 until the window ends', async () => {
      const { t, client, token } = await setup();
      const c = await client(3);
      // The app's clock starts on a window boundary; 15 s in, 45 s are left.
      t.clock.advance(15_000);
      for (const remaining of [2, 1, 0]) assertIssued(await token(c), 3, remaining, 45);
      assertOverQuota(await token(c), 3, 45);
      // Refusals do not count: the last millisecond of the window still refuses, with Retry-After 1.
      t.clock.advance(44_999);
      assertOverQuota(await token(c), 3, 1);
      t.clock.advance(1);
      assertIssued(await token(c), 3, 2, 60);
      assertIssued(await token(c), 3, 1, 60);
    });

    it('the window length comes from quotaWindow', async () => {
      const { t, client, token } = await setup({ quotaWindow: 10 });
      const c = await client(2);
      t.clock.advance(3_000);
      assertIssued(await token(c), 2, 1, 7, 10);
      assertIssued(await token(c), 2, 0, 7, 10);
      assertOverQuota(await token(c), 2, 7, 10);
      t.clock.advance(7_000);
      assertIssued(await token(c), 2, 1, 10, 10);
    });

    it('a client without a quota (and no environment default) gets no RateLimit-* headers and is never refused', async () => {
      const { client, token, post } = await setup();
      const c = await client();
      for (let i = 0; i < 20; i++) {
        const res = await token(c);
        assert.equal(res.statusCode, 200, res.body);
        assertNoRateLimit(res);
      }
      const introspected = await post('introspect', c, { token: 'unknown' });
      assert.deepEqual(jsonAnswer(introspected, 200), { active: false });
      assertNoRateLimit(introspected);
    });

    it('introspection and revocation requests count against the quota and are refused past it', async () => {
      const { client, token, post } = await setup();
      const c = await client(3);
      const issued = await token(c);
      assertIssued(issued, 3, 2);
      const accessToken = String((issued.json() as { access_token: string }).access_token);
      assert.equal(jsonAnswer(await post('introspect', c, { token: accessToken }), 200).active, true);
      assert.deepEqual(jsonAnswer(await post('revoke', c, { token: 'not-a-token' }), 200), {});
      assertOverQuota(await post('introspect', c, { token: accessToken }), 3);
      assertOverQuota(await post('revoke', c, { token: accessToken }), 3);
      assertOverQuota(await token(c), 3);
    });

    it("the environment's default applies to a client without a quota of its own; a client's own quota overrides it", async () => {
      const { t, env, client, token } = await setup();
      assert.deepEqual(await t.admin.setEnvironmentQuota(env, 2), {
        name: env,
        issuer: `${PUBLIC_URL}/envs/${env}`,
        default_quota: 2,
        subject_type: 'public',
        refresh_token_policy: 'client',
        dpop_nonce_required: false,
        require_pushed_authorization_requests: false,
        security_profile: null,
        created_at: new Date(t.clock.now()).toISOString(),
      });
      const byDefault = await client();
      const higher = await client(5);
      const lower = await client(1);
      assertIssued(await token(byDefault), 2, 1);
      assertIssued(await token(byDefault), 2, 0);
      assertOverQuota(await token(byDefault), 2);
      for (const remaining of [4, 3, 2]) assertIssued(await token(higher), 5, remaining);
      assertIssued(await token(lower), 1, 0);
      assertOverQuota(await token(lower), 1);

      // Removing the client's own quota puts it under the default at once on this node.
      assert.equal((await t.admin.setClientQuota(env, higher.id, null)).quota, null);
      assertOverQuota(await token(higher), 2);
      // Giving one to a client under the default takes effect at once too: 2 used of 4.
      assert.equal((await t.admin.setClientQuota(env, byDefault.id, 4)).quota, 4);
      assertIssued(await token(byDefault), 4, 1);

      // Removing the default: the environment is read again within cacheTtl, then no limit applies.
      assert.equal((await t.admin.setEnvironmentQuota(env, null)).default_quota, null);
      assert.deepEqual(
        (await t.admin.listEnvironments()).filter((e) => e.name === env).map((e) => e.default_quota),
        [null],
      );
      t.clock.advance(t.config.cacheTtl * 1000);
      toNextWindow(t);
      const unlimited = await token(higher);
      assert.equal(unlimited.statusCode, 200, unlimited.body);
      assertNoRateLimit(unlimited);
      assertIssued(await token(lower), 1, 0);
    });

    it('a public client (its id is all it proves) is never refused by a quota, so no one can use it up', async () => {
      const { t, env } = await setup();
      await t.admin.setEnvironmentQuota(env, 1);
      const spa = await t.admin.createClient({
        env,
        name: 'spa',
        kind: 'public',
        scopes: ['read'],
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: ['http://127.0.0.1/cb'],
      });
      for (let i = 0; i < 3; i++) {
        const res = await t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/token`,
          headers: { 'content-type': FORM },
          payload: form({ grant_type: 'refresh_token', refresh_token: 'grt_unknown', client_id: spa.client_id }),
        });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().error, 'invalid_grant');
        assertNoRateLimit(res);
      }
    });

    it('refuses a quota outside 1..MAX_QUOTA, and unknown environments and clients', async () => {
      const { t, env, client } = await setup();
      const c = await client();
      for (const bad of [0, -1, 1.5, 100_000_001, Number.NaN]) {
        await assert.rejects(t.admin.setClientQuota(env, c.id, bad), { name: 'AdminError', kind: 'invalid_argument', message: /1\.\.100000000/ });
        await assert.rejects(t.admin.setEnvironmentQuota(env, bad), { name: 'AdminError', kind: 'invalid_argument', message: /1\.\.100000000/ });
        await assert.rejects(t.admin.createClient({ env, name: 'x', quota: bad }), { name: 'AdminError', kind: 'invalid_argument' });
      }
      await assert.rejects(t.admin.setClientQuota(env, 'gh_nope', 5), {
        name: 'AdminError',
        kind: 'not_found',
        message: `no client gh_nope in environment ${env}`,
      });
      await assert.rejects(t.admin.setClientQuota('NOPE', c.id, 5), { name: 'AdminError', kind: 'not_found', message: 'no environment named NOPE' });
      await assert.rejects(t.admin.setEnvironmentQuota('NOPE', 5), { name: 'AdminError', kind: 'not_found', message: 'no environment named NOPE' });
      assert.equal((await t.admin.setClientQuota(env, c.id, 100_000_000)).quota, 100_000_000);
      assert.equal((await t.admin.showClient(env, c.id)).quota, 100_000_000);
    });

    it('failed authentications use no quota, and quota refusals are not counted as failed authentications', async () => {
      const { client, token } = await setup({ authFailureLimit: 10 });
      const c = await client(2);
      const wrong = { id: c.id, secret: 'not-the-secret' };
      for (let i = 0; i < 3; i++) {
        const res = await token(wrong);
        assert.equal(jsonAnswer(res, 401).error, 'invalid_client');
        assertNoRateLimit(res);
      }
      assertIssued(await token(c), 2, 1);
      assertIssued(await token(c), 2, 0);
      for (let i = 0; i < 10; i++) assertOverQuota(await token(c), 2);
      // 4 failures so far, under the limit of 10: still 401, not the failure throttle's 429.
      assert.equal(jsonAnswer(await token(wrong), 401).error, 'invalid_client');
    });

    it('two nodes over one database share the quota: their counts add up after each syncs', async () => {
      const { t, client, token } = await setup();
      const c = await client(4);
      const other = await buildTestApp(suite.store);
      try {
        other.clock.set(t.clock.now());
        assertIssued(await token(c), 4, 3);
        assertIssued(await token(c), 4, 2);
        await t.app.core.quotas.sync();
        // Node B's first request of the window is admitted on what B knows (nothing yet) and
        // makes B sync at once, without waiting for its interval.
        assertIssued(await token(c, other), 4, 3);
        await other.app.core.quotas.sync();
        // B admitted 1 itself; it now knows of A's 2, so the next is the deployment's last.
        assertIssued(await token(c, other), 4, 0);
        assertOverQuota(await token(c, other), 4);
        // B's last request started a sync of its own in the background; A syncs once it is done.
        await other.app.core.quotas.sync();
        await t.app.core.quotas.sync();
        // Likewise A, which admitted only 2 itself, now knows of B's.
        assertOverQuota(await token(c), 4);

        // A new window starts afresh on both; syncing at the same moment loses nothing.
        toNextWindow(t);
        other.clock.set(t.clock.now());
        assertIssued(await token(c), 4, 3);
        assertIssued(await token(c, other), 4, 3);
        await Promise.all([t.app.core.quotas.sync(), other.app.core.quotas.sync()]);
        await t.app.core.quotas.sync();
        await other.app.core.quotas.sync();
        assertIssued(await token(c), 4, 1);
        assertIssued(await token(c, other), 4, 1);
      } finally {
        await other.app.stop();
      }
    });

    it('jwt-bearer without client authentication counts against the service account’s quota before the assertion is spent', async () => {
      const { t, env, token } = await setup();
      const accounts = new ServiceAccountService(t.config, t.store, t.clock, t.app.core.clients);
      const account = await accounts.create({ env, name: 'robot', scopes: ['read'], withSecret: true });
      const id = account.service_account_id;
      const key = await accounts.createKey(env, id, 'ES256');
      assert.equal((await t.admin.setClientQuota(env, id, 2)).quota, 2);
      const sign = async (k: CreatedKey, claims: Record<string, unknown> = {}) => {
        const now = Math.floor(t.clock.now() / 1000);
        return new SignJWT({ iss: id, sub: id, aud: `${PUBLIC_URL}/envs/${env}/token`, iat: now, exp: now + 300, jti: randomUUID(), ...claims })
          .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'JWT' })
          .sign(await importJWK(k.private_jwk, k.alg));
      };
      const exchange = (assertion: string, headers: Record<string, string> = {}) =>
        t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/token`,
          headers: { 'content-type': FORM, ...headers },
          payload: form({ grant_type: JWT_BEARER, assertion }),
        });

      // A refused assertion is refused before the quota is consulted.
      assert.equal(jsonAnswer(await exchange(await sign(key, { aud: 'https://elsewhere.test' })), 400).error, 'invalid_grant');
      const used = await sign(key);
      assertIssued(await exchange(used), 2, 1);
      // Replaying a used assertion (anyone may hold an old one) gives its count back.
      for (let i = 0; i < 3; i++) assert.match(String(jsonAnswer(await exchange(used), 400).error_description), /replayed/);
      assertIssued(await exchange(await sign(key)), 2, 0);
      const refused = await sign(key);
      assertOverQuota(await exchange(refused), 2);
      // The same account through client_credentials shares the count.
      assertOverQuota(await token({ id, secret: String(account.client_secret) }), 2);
      toNextWindow(t);
      // The refused assertion's jti was not spent.
      assertIssued(await exchange(refused), 2, 1);
      // Authenticating as the account as well counts the request once.
      assertIssued(await exchange(await sign(key), { authorization: basic(id, String(account.client_secret)) }), 2, 0);
      assertOverQuota(await exchange(await sign(key)), 2);
    });
  });

  describe(`quota refusals in each surface's dialect on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;

    const quotaClient = async (quota: number, input: { env?: string; grantTypes?: string[]; redirectUris?: string[] } = {}) => {
      const created = await t.admin.createClient({ env: 'PRODUCTION', name: 'metered', scopes: ['read'], quota, ...input });
      return { id: created.client_id, secret: String(created.client_secret) };
    };

    before(async () => {
      t = await suite.build(surfacesConfig());
      await createEnvironments(t);
    });

    it('AbbeyCross: 429 QUOTA_EXCEEDED with Retry-After and RateLimit-*', async () => {
      const c = await quotaClient(1);
      const ok = await postJson(t, '/v1/oauth/token', { clientId: c.id, clientSecret: c.secret });
      assert.equal(typeof jsonAnswer(ok, 200).access_token, 'string');
      assertRateLimit(ok, 1, 0);
      const res = await postJson(t, '/v1/oauth/token', { clientId: c.id, clientSecret: c.secret });
      const body = jsonAnswer(res, 429);
      assert.deepEqual(Object.keys(body).sort(), ['code', 'errorId', 'text']);
      assert.equal(body.code, 'QUOTA_EXCEEDED');
      assert.match(String(body.errorId), /^[0-9a-f-]{36}$/);
      assertRefusalHeaders(res, 1);
    });

    it('Frontier: gRPC code 8 RESOURCE_EXHAUSTED (429) with ErrorInfo QUOTA_EXCEEDED and RetryInfo', async () => {
      const c = await quotaClient(1);
      const request = { grant_type: 'client_credentials', client_id: c.id, client_secret: c.secret };
      const ok = await postJson(t, '/v1beta1/auth/token', request);
      assert.deepEqual(Object.keys(jsonAnswer(ok, 200)).sort(), ['access_token', 'token_type']);
      assertRateLimit(ok, 1, 0);
      const res = await postJson(t, '/v1beta1/auth/token', request);
      const body = jsonAnswer(res, 429);
      assert.equal(body.code, 8);
      assertRefusalHeaders(res, 1);
      const [info, retry] = body.details as Record<string, unknown>[];
      assert.ok(info);
      assert.equal(info['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
      assert.equal(info.reason, 'QUOTA_EXCEEDED');
      assert.equal((info.metadata as Record<string, unknown>).error, 'too_many_requests');
      assert.deepEqual(retry, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${res.headers['retry-after']}s` });
    });

    it('RightSignature: 429 too_many_requests at /oauth/token and /oauth/revoke, both counting', async () => {
      const c = await quotaClient(2, { grantTypes: ['authorization_code'], redirectUris: [REDIRECT_URI] });
      const post = (url: string, params: Record<string, string>, authorization?: string) =>
        t.app.server.inject({ method: 'POST', url, headers: { 'content-type': FORM, ...(authorization ? { authorization } : {}) }, payload: form(params) });
      const exchange = { grant_type: 'authorization_code', client_id: c.id, client_secret: c.secret, code: 'gac_unknown', redirect_uri: REDIRECT_URI };
      // The client authenticates, so the request counts even though the code is unknown.
      assert.equal(jsonAnswer(await post('/oauth/token', exchange), 400).error, 'invalid_grant');
      assert.deepEqual(jsonAnswer(await post('/oauth/revoke', { token: 'x' }, basic(c.id, c.secret)), 200), {});
      assertOverQuota(await post('/oauth/revoke', { token: 'x' }, basic(c.id, c.secret)), 2);
      assertOverQuota(await post('/oauth/token', exchange), 2);
    });

    it('standard surface: 429 too_many_requests', async () => {
      const c = await quotaClient(1);
      const request = () =>
        t.app.server.inject({
          method: 'POST',
          url: '/envs/PRODUCTION/token',
          headers: { authorization: basic(c.id, c.secret), 'content-type': FORM },
          payload: form({ grant_type: 'client_credentials' }),
        });
      assertIssued(await request(), 1, 0);
      assertOverQuota(await request(), 1);
    });

    it('Ignisign: 429 QUOTA_EXCEEDED before the code is consumed; the code works in the next window', async () => {
      const fixture = await setUpCodeFlow(t, { env: 'DEVELOPMENT', grantTypes: ['authorization_code'] });
      assert.equal((await t.admin.setClientQuota('DEVELOPMENT', fixture.clientId, 1)).quota, 1);
      const exchange = (code: string, verifier: string) =>
        postJson(t, '/v4/envs/DEVELOPMENT/oauth2/proofs-token', {
          grant_type: 'authorization_code',
          client_id: fixture.clientId,
          client_secret: fixture.clientSecret,
          code,
          code_verifier: verifier,
          redirect_uri: REDIRECT_URI,
        });
      // 5 s before a window ends, well within the codes' 60 s lifetime.
      toNextWindow(t, 55_000);
      const first = await obtainCode(t, fixture, { authorizePath: '/v4/envs/DEVELOPMENT/oauth2/authorize' });
      const second = await obtainCode(t, fixture, { authorizePath: '/v4/envs/DEVELOPMENT/oauth2/authorize' });
      const ok = await exchange(first.code, first.verifier);
      assert.equal(typeof jsonAnswer(ok, 200).access_token, 'string');
      assertRateLimit(ok, 1, 0, 5);

      const res = await exchange(second.code, second.verifier);
      const body = jsonAnswer(res, 429);
      assert.deepEqual(Object.keys(body).sort(), ['code', 'context', 'message', 'status', 'timestamp']);
      assert.equal(body.code, 'QUOTA_EXCEEDED');
      assert.equal(body.status, 429);
      assert.equal(body.timestamp, new Date(t.clock.now()).toISOString());
      assert.equal((body.context as Record<string, unknown>).retryAfter, 5);
      assertRefusalHeaders(res, 1, 5);

      t.clock.advance(5_000);
      const later = await exchange(second.code, second.verifier);
      assert.equal(typeof jsonAnswer(later, 200).access_token, 'string');
      assertRateLimit(later, 1, 0, 60);
    });
  });
}
