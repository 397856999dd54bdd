import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import type { Config } from '../../src/config/config.ts';
import { hashSecret } from '../../src/crypto/secrets.ts';
import type { Client } from '../../src/domain/model.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form, PUBLIC_URL, suiteStore } from '../helpers/fixtures.ts';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const CC = { grant_type: 'client_credentials' };

type Headers = Record<string, string>;

/** Every response of the token endpoint, success or error, must forbid caching (RFC 6749 §5.1). */
function assertNoStore(res: LightMyRequestResponse): void {
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers.pragma, 'no-cache');
}

function assertError(res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.error, code);
  assert.equal(typeof body.error_description, 'string');
  return body;
}

function assertToken(res: LightMyRequestResponse, scope: string, expiresIn = 3600): string {
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  assert.equal(res.headers['www-authenticate'], undefined);
  const body = res.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, expiresIn);
  assert.deepEqual(String(body.scope).split(' ').sort(), scope.split(' ').sort());
  assert.equal(typeof body.access_token, 'string');
  return body.access_token as string;
}

const assertBasicChallenge = (res: LightMyRequestResponse) => assert.match(String(res.headers['www-authenticate']), /^Basic/);

for (const database of await testDatabases()) {
  describe(`POST /envs/:env/token on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /** A fresh app (fresh throttle) with a new environment and a confidential client allowed read, write and admin. */
    async function setup(overrides: Partial<Config> = {}, clientInput: { tokenFormat?: 'jwt' | 'opaque'; accessTokenTtl?: number } = {}) {
      const t = await suite.build(overrides);
      const env = `env-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const created = await t.admin.createClient({ env, name: 'svc', scopes: ['read', 'write', 'admin'], defaultScopes: ['read'], ...clientInput });
      assert.ok(created.client_secret);
      const post = (opts: { env?: string; headers?: Headers; payload?: string }) =>
        t.app.server.inject({ method: 'POST', url: `/envs/${opts.env ?? env}/token`, headers: opts.headers ?? {}, payload: opts.payload ?? '' });
      const withBasic = (id: string, secret: string, params: Headers = CC) =>
        post({ headers: { authorization: basic(id, secret), 'content-type': FORM }, payload: form(params) });
      const withBody = (id: string, secret: string, params: Headers = CC) =>
        post({ headers: { 'content-type': FORM }, payload: form({ ...params, client_id: id, client_secret: secret }) });
      /** A client written straight to storage, for ids, secrets and grants the admin service would not create. */
      const rawClient = async (clientId: string, secret: string, overrides: Partial<Client> = {}) => {
        const envRecord = await suite.store.environments.findByName(env);
        assert.ok(envRecord);
        const now = t.clock.now();
        const client: Client = {
          envId: envRecord.id,
          clientId,
          name: 'raw',
          kind: 'confidential',
          grantTypes: ['client_credentials'],
          scopes: ['read'],
          defaultScopes: ['read'],
          redirectUris: [],
          tokenFormat: 'jwt',
          accessTokenTtl: null,
          introspectAny: false,
          allowMissingPkce: false,
          quota: null,
          enabled: true,
          createdAt: now,
          updatedAt: now,
          ...overrides,
        };
        await suite.store.clients.create(client, { id: randomUUID(), secretHash: hashSecret(secret), createdAt: now, expiresAt: null });
      };
      return { ...t, env, id: created.client_id, secret: created.client_secret, post, withBasic, withBody, rawClient };
    }

    describe('successful client_credentials', () => {
      it('authenticates with HTTP Basic', async () => {
        const { id, secret, withBasic } = await setup();
        assertToken(await withBasic(id, secret), 'read');
      });

      it('authenticates with client_id and client_secret in a form body', async () => {
        const { id, secret, withBody } = await setup();
        assertToken(await withBody(id, secret), 'read');
      });

      it('authenticates with a JSON body', async () => {
        const { id, secret, post } = await setup();
        const payload = JSON.stringify({ grant_type: 'client_credentials', client_id: id, client_secret: secret });
        assertToken(await post({ headers: { 'content-type': `${JSON_TYPE}; charset=utf-8` }, payload }), 'read');
      });

      it('accepts a body client_id equal to the Basic id', async () => {
        const { id, secret, withBasic } = await setup();
        assertToken(await withBasic(id, secret, { ...CC, client_id: id }), 'read');
      });
    });

    describe('Basic credentials are form-url-decoded (RFC 6749 §2.3.1)', () => {
      it('decodes encodeURIComponent-encoded ids and secrets with reserved characters', async () => {
        const { post, rawClient } = await setup();
        const id = 'svc:one+two/ü';
        const secret = 'p@ss:w+rd/%20 é';
        await rawClient(id, secret);
        const send = (raw: string) =>
          post({ headers: { authorization: `Basic ${Buffer.from(raw).toString('base64')}`, 'content-type': FORM }, payload: form(CC) });
        assertToken(await send(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`), 'read');
        // Sent without the required encoding, "+" means a space and "%20" a space: the secret no longer matches.
        const res = await send(`${encodeURIComponent(id)}:${secret}`);
        assertError(res, 401, 'invalid_client');
        assertBasicChallenge(res);
      });

      it('decodes a percent-encoded character that needed no encoding', async () => {
        const { id, secret, post } = await setup();
        assert.ok(id.includes('_'));
        const encodedId = id.replace('_', '%5F');
        const authorization = `Basic ${Buffer.from(`${encodedId}:${secret}`).toString('base64')}`;
        assertToken(await post({ headers: { authorization, 'content-type': FORM }, payload: form(CC) }), 'read');
      });

      it('refuses malformed Basic credentials with 401 invalid_client and a Basic challenge', async () => {
        const { post } = await setup();
        for (const authorization of [
          'Basic',
          'Basic @@@@',
          `Basic ${Buffer.from('no-colon').toString('base64')}`,
          `Basic ${Buffer.from('a%ZZ:b').toString('base64')}`,
        ]) {
          const res = await post({ headers: { authorization, 'content-type': FORM }, payload: form(CC) });
          assertError(res, 401, 'invalid_client');
          assertBasicChallenge(res);
        }
      });
    });

    describe('client authentication', () => {
      it('refuses Basic together with a body client_secret', async () => {
        const { id, secret, withBasic } = await setup();
        assertError(await withBasic(id, secret, { ...CC, client_secret: secret }), 400, 'invalid_request');
      });

      it('refuses a body client_id that differs from the Basic id', async () => {
        const { id, secret, withBasic } = await setup();
        assertError(await withBasic(id, secret, { ...CC, client_id: `${id}x` }), 400, 'invalid_request');
      });

      it('answers unknown client, wrong secret and disabled client with identical 401 invalid_client', async () => {
        const t = await setup();
        const other = await t.admin.createClient({ env: t.env, name: 'disabled', scopes: ['read'] });
        assert.ok(other.client_secret);
        await t.admin.setClientEnabled(t.env, other.client_id, false);
        const attempts: [string, string][] = [
          ['gh_doesnotexist', t.secret],
          [t.id, `${t.secret}x`],
          [other.client_id, other.client_secret],
        ];
        const bodies: unknown[] = [];
        for (const [id, secret] of attempts) {
          const viaBasic = await t.withBasic(id, secret);
          bodies.push(assertError(viaBasic, 401, 'invalid_client'));
          assertBasicChallenge(viaBasic);
          const viaBody = await t.withBody(id, secret);
          bodies.push(assertError(viaBody, 401, 'invalid_client'));
          assert.equal(viaBody.headers['www-authenticate'], undefined);
        }
        for (const body of bodies) assert.deepEqual(body, bodies[0]);
      });

      it('refuses a client of environment A at environment B', async () => {
        const t = await setup();
        const envB = `${t.env}-b`;
        await t.admin.createEnvironment(envB);
        const res = await t.post({ env: envB, headers: { authorization: basic(t.id, t.secret), 'content-type': FORM }, payload: form(CC) });
        assertError(res, 401, 'invalid_client');
        assertBasicChallenge(res);
        assertToken(await t.withBasic(t.id, t.secret), 'read');
      });

      it('accepts both secrets during a rotation overlap and only the new one afterwards', async () => {
        const t = await setup();
        const rotated = await t.admin.rotateClientSecret(t.env, t.id, 60);
        assert.notEqual(rotated.client_secret, t.secret);
        assertToken(await t.withBasic(t.id, t.secret), 'read');
        assertToken(await t.withBasic(t.id, rotated.client_secret), 'read');
        t.clock.advance(61_000);
        const old = await t.withBasic(t.id, t.secret);
        assertError(old, 401, 'invalid_client');
        assertBasicChallenge(old);
        assertToken(await t.withBasic(t.id, rotated.client_secret), 'read');
      });
    });

    describe('request parsing', () => {
      const cases: [string, string, string][] = [
        ['grant_type twice in a form body', FORM, 'grant_type=client_credentials&grant_type=client_credentials'],
        ['a duplicate key in a JSON body', JSON_TYPE, '{"grant_type":"client_credentials","grant_type":"client_credentials"}'],
        ['a missing grant_type', FORM, 'scope=read'],
        ['a missing grant_type in an empty body', FORM, ''],
        ['a text/plain body', 'text/plain', 'grant_type=client_credentials'],
        ['a JSON array body', JSON_TYPE, '[{"grant_type":"client_credentials"}]'],
        ['a JSON number value', JSON_TYPE, '{"grant_type":"client_credentials","scope":42}'],
        ['a JSON object value', JSON_TYPE, '{"grant_type":{"a":"b"}}'],
      ];
      for (const [label, contentType, payload] of cases) {
        it(`answers ${label} with 400 invalid_request`, async () => {
          const { id, secret, post } = await setup();
          assertError(await post({ headers: { authorization: basic(id, secret), 'content-type': contentType }, payload }), 400, 'invalid_request');
        });
      }

      it('answers malformed JSON with 400 invalid_request and no stack trace', async () => {
        const { id, secret, post } = await setup();
        const res = await post({ headers: { authorization: basic(id, secret), 'content-type': JSON_TYPE }, payload: '{"grant_type": "client_credentials",' });
        const body = assertError(res, 400, 'invalid_request');
        assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
        assert.doesNotMatch(res.body, /\bat \S/);
        assert.doesNotMatch(res.body, /\.(ts|js)\b|\/src\/|node_modules|SyntaxError/);
      });

      it('answers an oversized body with 413 and a JSON error', async () => {
        const { id, secret, post, config } = await setup();
        const payload = form({ ...CC, padding: 'x'.repeat(20 * 1024) });
        assert.ok(payload.length > config.bodyLimit);
        assertError(await post({ headers: { authorization: basic(id, secret), 'content-type': FORM }, payload }), 413, 'invalid_request');
      });

      it('answers an unknown environment with 404', async () => {
        const { id, secret, post } = await setup();
        assertError(
          await post({ env: 'no-such-env', headers: { authorization: basic(id, secret), 'content-type': FORM }, payload: form(CC) }),
          404,
          'not_found',
        );
      });
    });

    describe('grant types', () => {
      it('answers an unknown grant type with 400 unsupported_grant_type', async () => {
        const { id, secret, withBasic } = await setup();
        assertError(await withBasic(id, secret, { grant_type: 'password' }), 400, 'unsupported_grant_type');
      });

      it('answers a grant the client is not registered for with 400 unauthorized_client', async () => {
        const { withBasic, rawClient } = await setup();
        await rawClient('code-only', 'code-only-secret', { grantTypes: ['authorization_code'] });
        assertError(await withBasic('code-only', 'code-only-secret'), 400, 'unauthorized_client');
      });
    });

    describe('scope', () => {
      it('grants exactly a requested subset', async () => {
        const { id, secret, withBasic } = await setup();
        assertToken(await withBasic(id, secret, { ...CC, scope: 'write admin' }), 'write admin');
      });

      it('grants the default scopes when none is requested', async () => {
        const { id, secret, withBasic } = await setup();
        assertToken(await withBasic(id, secret), 'read');
      });

      it('refuses a scope outside the allowed ones', async () => {
        const { id, secret, withBasic } = await setup();
        assertError(await withBasic(id, secret, { ...CC, scope: 'read delete' }), 400, 'invalid_scope');
      });

      for (const scope of ['read"', 'read wr\\ite', 'read\twrite']) {
        it(`refuses the malformed scope ${JSON.stringify(scope)}`, async () => {
          const { id, secret, withBasic } = await setup();
          assertError(await withBasic(id, secret, { ...CC, scope }), 400, 'invalid_scope');
        });
      }
    });

    describe('issued tokens', () => {
      it('issues an RFC 9068 JWT verifiable with the published JWKS', async () => {
        const t = await setup();
        const token = assertToken(await t.withBasic(t.id, t.secret, { ...CC, scope: 'read write' }), 'read write');
        const jwksRes = await t.app.server.inject({ method: 'GET', url: `/envs/${t.env}/jwks.json` });
        assert.equal(jwksRes.statusCode, 200);
        const jwks = jwksRes.json() as JSONWebKeySet;
        const header = decodeProtectedHeader(token);
        assert.equal(header.typ, 'at+jwt');
        assert.equal(header.alg, 'ES256');
        assert.ok(header.kid && jwks.keys.some((k) => k.kid === header.kid));
        const issuer = `${PUBLIC_URL}/envs/${t.env}`;
        const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
          issuer,
          audience: issuer,
          typ: 'at+jwt',
          algorithms: ['ES256'],
          currentDate: new Date(t.clock.now()),
        });
        assert.equal(payload.iss, issuer);
        assert.equal(payload.sub, t.id);
        assert.equal(payload.client_id, t.id);
        assert.equal(payload.iat, Math.floor(t.clock.now() / 1000));
        assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 3600);
        assert.match(String(payload.jti), /^\S{8,}$/);
        assert.deepEqual(String(payload.scope).split(' ').sort(), ['read', 'write']);
        // The token is no longer valid once expired.
        t.clock.advance(3601_000);
        await assert.rejects(jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience: issuer, currentDate: new Date(t.clock.now()) }));
      });

      it('issues opaque tokens that are stored only as a hash', async () => {
        const t = await setup({}, { tokenFormat: 'opaque' });
        const token = assertToken(await t.withBasic(t.id, t.secret), 'read');
        assert.ok(token.startsWith('gat_'));
        assert.notEqual(token.split('.').length, 3);
        assert.throws(() => decodeJwt(token));
        const envRecord = await suite.store.environments.findByName(t.env);
        assert.ok(envRecord);
        const record = await suite.store.accessTokens.findByHash(envRecord.id, hashSecret(token));
        assert.ok(record);
        assert.equal(record.clientId, t.id);
        assert.equal(record.scope, 'read');
        assert.equal(record.expiresAt - record.issuedAt, 3600_000);
        assert.ok(!Object.values(record).includes(token));
        assert.equal(await suite.store.accessTokens.findByHash(envRecord.id, token), undefined);
      });

      it('uses the client access-token lifetime', async () => {
        const t = await setup({}, { accessTokenTtl: 120 });
        const token = assertToken(await t.withBasic(t.id, t.secret), 'read', 120);
        const claims = decodeJwt(token);
        assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 120);
      });
    });

    describe('throttling failed authentications', () => {
      const limited = { authFailureLimit: 3, authFailureWindow: 60 };

      function assertThrottled(res: LightMyRequestResponse): void {
        assertError(res, 429, 'too_many_requests');
        const retryAfter = String(res.headers['retry-after']);
        assert.match(retryAfter, /^[1-9][0-9]*$/);
        assert.ok(Number(retryAfter) <= 60);
      }

      it('answers wrong secrets 429 after the limit until the window ends, and never refuses the right secret', async () => {
        const t = await setup(limited);
        for (let i = 0; i < 3; i++) assertError(await t.withBasic(t.id, 'wrong'), 401, 'invalid_client');
        assertThrottled(await t.withBasic(t.id, 'wrong'));
        assertToken(await t.withBasic(t.id, t.secret), 'read');
        assertThrottled(await t.withBasic(t.id, 'wrong'));
        t.clock.advance(61_000);
        assertError(await t.withBasic(t.id, 'wrong'), 401, 'invalid_client');
      });

      it('counts parallel failed attempts', async () => {
        const t = await setup(limited);
        const results = await Promise.all([1, 2, 3].map(() => t.withBody(t.id, 'wrong')));
        for (const res of results) assertError(res, 401, 'invalid_client');
        assertThrottled(await t.withBody(t.id, 'wrong'));
        assertToken(await t.withBody(t.id, t.secret), 'read');
      });

      it('shares its counts with every other node on the same database', async () => {
        const t = await setup(limited);
        const other = await buildTestApp(t.store, { ...t.config, ...limited });
        try {
          other.clock.set(t.clock.now());
          const viaOther = () =>
            other.app.server.inject({
              method: 'POST',
              url: `/envs/${t.env}/token`,
              headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(t.id, 'wrong') },
              payload: 'grant_type=client_credentials',
            });
          assertError(await t.withBasic(t.id, 'wrong'), 401, 'invalid_client');
          assertError(await viaOther(), 401, 'invalid_client');
          assertError(await t.withBasic(t.id, 'wrong'), 401, 'invalid_client');
          assertThrottled(await viaOther());
          assertThrottled(await t.withBasic(t.id, 'wrong'));
        } finally {
          await other.app.stop();
        }
      });

      it('lets no more than the limit of parallel attempts be checked', async () => {
        const t = await setup(limited);
        const results = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(() => t.withBody(t.id, 'wrong')));
        const statuses = results.map((r) => r.statusCode);
        assert.equal(statuses.filter((s) => s === 401).length, 3, `statuses: ${statuses.join(',')}`);
        for (const res of results.filter((r) => r.statusCode !== 401)) assertThrottled(res);
      });
    });
  });
}
